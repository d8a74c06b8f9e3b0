from odoo.tests import tagged

from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestComposerOptOut(SmsProviderCase):
    def test_mass_composer_skips_opted_out_contacts(self):
        self._create_provider(name="P")
        keen = self._create_partner("Keen", "+33612345621")
        shy = self._create_partner("Shy", "+33612345622", sms_opt_out=True)
        composer = (
            self.env["sms.composer"]
            .with_context(active_model="res.partner", active_ids=(keen | shy).ids)
            .create(
                {"composition_mode": "mass", "body": "News", "mass_keep_log": False}
            )
        )
        composer.action_send_sms()
        sms = self.env["sms.sms"].search([("partner_id", "in", (keen | shy).ids)])
        by_partner = {s.partner_id: s for s in sms}
        self.assertEqual(by_partner[keen].state, "outgoing")
        self.assertEqual(
            (by_partner[shy].state, by_partner[shy].failure_type),
            ("canceled", "sms_optout"),
        )
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(self.sent_numbers, ["+33612345621"])
