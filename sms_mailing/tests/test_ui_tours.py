"""Browser tests: Odoo tours in a real headless Chromium (setup/test.py fails
when they cannot run). Each tour asserts the texts and numbers a user sees;
each test then checks what the tour's clicks produced in the database."""

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestUiTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only the tour's provider takes part.
        cls.env["sms.provider"].search([]).write({"active": False})
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.provider = cls.env["sms.provider"].create(
            {
                "name": "Tour provider",
                "provider_type": "demo",
                "price_per_part": 0.05,
                "currency_id": cls.eur.id,
                "max_parts": 8,
                "company_id": False,
            }
        )
        cls.country_fr = cls.env.ref("base.fr")
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Lucía Tour",
                "mobile": "+33612345678",
                "country_id": cls.country_fr.id,
            }
        )

    def test_contact_card(self):
        """A CRM user sends an SMS from the contact card."""
        user = new_test_user(
            self.env,
            login="tour_crm",
            groups="base.group_user,base.group_partner_manager",
            name="Carla CRM",
            lang="en_US",
        )
        self.start_tour(
            f"/odoo/contacts/{self.partner.id}",
            "sms_mailing_contact_card",
            login=user.login,
        )
        sms = self.env["sms.sms"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(sms.mapped("body"), ["Hello Lucía, your order is ready."])
        self.assertEqual(sms.number, "+33612345678")
        self.assertEqual(sms.provider_id, self.provider)
        self.assertEqual(sms.create_uid, user)
        self.assertTrue(self.partner.sms_opt_out, "the tour ticked Do not use SMS")
