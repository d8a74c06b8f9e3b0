from odoo.tests import HttpCase, tagged

from .local_smsc import LocalSmsc


@tagged("post_install", "-at_install")
class TestSmppTour(HttpCase):
    def test_administrator_creates_an_smpp_provider(self):
        """An administrator creates an SMPP provider and checks availability
        against the local SMSC."""
        self.env["sms.provider"].search([]).write({"active": False})
        smsc = self.enterContext(LocalSmsc(system_id="tour", password="tourpw"))
        self.env["ir.config_parameter"].set_param(
            "sms_provider_smpp.tour_smsc_port", str(smsc.port)
        )
        self.start_tour(
            "/odoo/action-sms_mailing.sms_provider_action",
            "sms_provider_smpp_tour",
            login="admin",
        )
        provider = self.env["sms.provider"].search([("name", "=", "Tour SMPP")])
        self.assertEqual(provider.provider_type, "smpp")
        self.assertEqual(
            (provider.smpp_host, provider.smpp_port, provider.smpp_system_id),
            ("127.0.0.1", smsc.port, "tour"),
        )
        self.assertEqual(provider.sudo().smpp_password, "tourpw")
        self.assertEqual(provider.state, "available")
        self.assertEqual(
            [(b.command, b.system_id, b.status) for b in smsc.binds],
            [("bind_transmitter", "tour", 0)],
        )
        self.assertEqual(smsc.enquire_links, 1)
