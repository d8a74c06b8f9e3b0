"""Smart encoding (issue 23): the card dialog and the mailing send GSM-7
look-alikes where they save, and say what it saves before sending."""

from odoo.tests import Form, new_test_user, tagged

from .common import SmsProviderCase

FR = "+33612345679"
NBSP = "\N{NO-BREAK SPACE}"
# A French text as people type it: typographic apostrophes, « », a dash, an
# ellipsis. UCS-2 as written (3 parts); GSM-7 once smart-encoded (2 parts).
FRENCH = (
    "Bonjour, les soldes d’été commencent : –50 % sur une sélection "
    "« Plage » jusqu’à dimanche… Réservez votre créneau en boutique "
    "ou sur notre site, l’équipe vous attend !"
)
FRENCH_SENT = (
    "Bonjour, les soldes d'été commencent : -50 % sur une sélection "
    '"Plage" jusqu\'à dimanche... Réservez votre créneau en boutique '
    "ou sur notre site, l'équipe vous attend !"
)
RUSSIAN = "Здравствуйте! Скидка «20 %» – только сегодня…"


@tagged("post_install", "-at_install")
class TestSmartEncodingCard(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.provider = cls._create_provider(
            cls, name="Priced", price_per_part=0.05, currency_id=cls.eur.id
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Lucie Moreau", "mobile": FR, "country_id": cls.country_fr.id}
        )
        # A CRM user: SMS from the card is what every internal user may do.
        cls.crm_user = new_test_user(
            cls.env,
            "smart_crm_user",
            groups="base.group_user,base.group_partner_manager",
        )

    def _form(self):
        action = self.partner.with_user(self.crm_user).action_open_sms_send()
        return Form(
            self.env["sms.partner.send"]
            .with_user(self.crm_user)
            .with_context(**action["context"])
        )

    def test_card_dialog_sends_the_smart_text(self):
        form = self._form()
        form.body = FRENCH
        self.assertFalse(form.smart_saving)
        self.assertEqual(form.body_sent, FRENCH)
        form.smart_encoding = True
        self.assertEqual(form.body_sent, FRENCH_SENT)
        self.assertEqual(
            form.smart_saving,
            f"Smart encoding: 3 parts → 2 parts per message; cost 0.15{NBSP}€ → "
            f"0.10{NBSP}€.",
        )
        wizard = form.save()
        with self.mock_gateway():
            action = wizard.action_send()
        self.assertEqual(self.gateway_calls, [("Priced", [(FR, FRENCH_SENT)])])
        self.assertEqual(
            action["params"]["message"], f"Sent to {FR} through Priced. Parts: 2."
        )
        sms = self.partner.sms_ids
        self.assertEqual((sms.body, sms.parts, sms.encoding), (FRENCH_SENT, 2, "gsm7"))

    def test_card_dialog_leaves_a_russian_text_alone(self):
        form = self._form()
        form.body = RUSSIAN
        form.smart_encoding = True
        self.assertEqual(form.body_sent, RUSSIAN)
        self.assertEqual(
            form.smart_saving,
            "Nothing to replace: this text is already as cheap as it gets.",
        )
        wizard = form.save()
        with self.mock_gateway():
            wizard.action_send()
        self.assertEqual(self.gateway_calls, [("Priced", [(FR, RUSSIAN)])])

    def test_card_dialog_without_the_option_sends_as_typed(self):
        form = self._form()
        form.body = FRENCH
        wizard = form.save()
        with self.mock_gateway():
            wizard.action_send()
        self.assertEqual(self.gateway_calls, [("Priced", [(FR, FRENCH)])])
        self.assertEqual(self.partner.sms_ids.parts, 3)
