from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    """Smallest real check that the addon installs; replace with real tests."""

    def test_addon_installed_on_top_of_sms_mailing(self):
        modules = self.env["ir.module.module"].search(
            [("name", "in", ["sms_provider_modem", "sms_mailing"])]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})
        self.assertIn("sms.provider", self.env)
        self.assertIn("provider_type", self.env["sms.provider"]._fields)
