"""The contact card: "Do not use SMS", the SMS wizard and the "Sent SMS" tab."""

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from ..tools import provider as api
from .common import SmsProviderCase

FR = "+33612345678"
LONG_GSM = "x" * 161  # two GSM-7 parts


@tagged("post_install", "-at_install")
class TestCorePartner(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Jeanne Martin",
                "mobile": "06 12 34 56 78",
                "phone": "01 23 45 67 89",
                "country_id": cls.country_fr.id,
            }
        )

    def _wizard_form(self, partner=None):
        action = (partner or self.partner).action_open_sms_send()
        self.assertEqual(action["res_model"], "sms.partner.send")
        return Form(self.env["sms.partner.send"].with_context(**action["context"]))

    def _wizard(self, partner=None, **vals):
        partner = partner or self.partner
        return (
            self.env["sms.partner.send"]
            .with_context(default_partner_id=partner.id)
            .create(vals)
        )

    def _sms_count(self):
        return self.env["sms.sms"].search_count([])

    # ------------------------------------------------------------------
    # Do not use SMS
    # ------------------------------------------------------------------
    def test_opt_out_is_tracked_in_chatter(self):
        # A contact created in this transaction is not tracked until its creation
        # is committed: end that "transaction" first (what a later request sees).
        self.env.flush_all()
        self.env.cr.flush()
        partner = self.partner.with_context(tracking_disable=False)
        partner.write({"sms_opt_out": True})
        self.env.flush_all()
        self.env.cr.flush()  # runs the tracking of the write
        trackings = self.env["mail.tracking.value"].search(
            [
                ("field_id.name", "=", "sms_opt_out"),
                ("mail_message_id.model", "=", "res.partner"),
                ("mail_message_id.res_id", "=", partner.id),
            ]
        )
        self.assertEqual(len(trackings), 1)
        self.assertEqual(trackings.field_id.field_description, "Do not use SMS")
        self.assertEqual(
            (trackings.old_value_integer, trackings.new_value_integer), (0, 1)
        )

    # ------------------------------------------------------------------
    # Wizard: number, counters, cost
    # ------------------------------------------------------------------
    def test_wizard_number_mobile_else_phone_in_e164(self):
        self._create_provider(name="P")
        form = self._wizard_form()
        self.assertEqual(form.partner_id, self.partner)
        self.assertEqual(form.number, "06 12 34 56 78")
        self.assertEqual(form.number_e164, FR)
        self.assertFalse(form.number_error)

        landline = self.partner.copy({"mobile": False})
        form = self._wizard_form(landline)
        self.assertEqual(form.number, "01 23 45 67 89")
        self.assertEqual(form.number_e164, "+33123456789")

        # The number is editable and checked as it is typed.
        form.number = "8 925 123-45-67"
        self.assertFalse(form.number_e164, "a Russian number, but a French contact")
        self.assertEqual(
            form.number_error, "8 925 123-45-67 is not a valid phone number."
        )
        form.number = "+7 925 123-45-67"
        self.assertEqual(form.number_e164, "+79251234567")
        self.assertFalse(form.number_error)
        # Valid for phonenumbers, but 16 digits: longer than E.164 allows.
        form.number = "+49 25000000000000"
        self.assertFalse(form.number_e164)
        self.assertEqual(
            form.number_error, "+49 25000000000000 is not a valid phone number."
        )

    def test_wizard_counts_parts_encoding_and_cost(self):
        provider = self._create_provider(
            name="Priced", price_per_part=0.1, currency_id=self.eur.id
        )
        form = self._wizard_form()
        self.assertEqual(form.provider_id, provider)
        self.assertFalse(form.cost_text, "no text, no cost")
        form.body = "Hello"
        self.assertEqual((form.encoding, form.parts, form.units), ("GSM-7", 1, 5))
        self.assertEqual(form.cost_text, "0.10\N{NO-BREAK SPACE}€")
        self.assertEqual((form.cost, form.cost_currency_id), (0.1, self.eur))
        form.body = "Prix : 10€ {TTC}"  # € { } take two septets each
        self.assertEqual((form.encoding, form.units, form.parts), ("GSM-7", 19, 1))
        form.body = LONG_GSM
        self.assertEqual((form.parts, form.units), (2, 161))
        self.assertEqual(form.cost_text, "0.20\N{NO-BREAK SPACE}€")
        form.body = "Привет 👍"
        self.assertEqual((form.encoding, form.units, form.parts), ("UCS-2", 9, 1))
        form.body = "ж" * 71
        self.assertEqual((form.encoding, form.parts), ("UCS-2", 2))
        self.assertEqual(form.cost_text, "0.20\N{NO-BREAK SPACE}€")
        wizard = form.save()
        self.assertEqual((wizard.part_limit, wizard.remaining), (67, 63))
        wizard.body = "Hello"
        self.assertEqual((wizard.part_limit, wizard.remaining), (160, 155))

    def test_wizard_cost_not_available(self):
        self._create_provider(name="Free", price_per_part=0)
        form = self._wizard_form()
        form.body = "Hello"
        self.assertEqual(form.cost_text, "Not available for this provider.")

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------
    def test_send_to_opted_out_contact(self):
        provider = self._create_provider(name="P", price_per_part=0.1)
        self.partner.sms_opt_out = True
        form = self._wizard_form()
        self.assertIn("Jeanne Martin asked not to receive SMS", form.warning)
        form.body = "Your appointment is confirmed."
        wizard = form.save()
        with self.mock_gateway():
            action = wizard.action_send()
        self.assertEqual(
            self.gateway_calls, [("P", [(FR, "Your appointment is confirmed.")])]
        )
        self.assertEqual(action["params"]["title"], "SMS sent")
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(
            action["params"]["message"], f"Sent to {FR} through P. Parts: 1."
        )
        sms = self.partner.sms_ids
        self.assertEqual(len(sms), 1)
        self.assertSmsState(sms, "pending", provider=provider)
        self.assertEqual(sms.number, FR)
        message = sms.mail_message_id
        self.assertEqual(message.model, "res.partner")
        self.assertEqual(message.res_id, self.partner.id)
        self.assertEqual(message.message_type, "sms")
        self.assertIn("Your appointment is confirmed.", message.body)
        self.assertIn(message, self.partner.message_ids)

    def test_warning_for_blacklisted_number(self):
        self._create_provider(name="P")
        self.env["phone.blacklist"]._add([FR])
        self.partner.invalidate_recordset(["phone_sanitized_blacklisted"])
        form = self._wizard_form()
        self.assertEqual(
            form.warning,
            "This number is on the SMS blacklist. Send only if this message is one "
            "they expect.",
        )
        other = self._create_partner("Plain", "+33612345679")
        self.assertFalse(self._wizard_form(other).warning)

    def test_send_queued_when_provider_is_temporarily_down(self):
        self._create_provider(name="P")
        wizard = self._wizard(body="Hello")
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            action = wizard.action_send()
        self.assertEqual(action["params"]["title"], "SMS queued")
        self.assertIn("P is temporarily unavailable", action["params"]["message"])
        self.assertSmsState(self.partner.sms_ids, "outgoing")

    def test_send_refused_by_provider(self):
        self._create_provider(name="P")
        wizard = self._wizard(body="Hello")
        with (
            self.mock_gateway(outcome=lambda name, m: (api.PERMANENT, "sms_credit")),
            self.assertRaises(UserError) as caught,
        ):
            wizard.action_send()
        self.assertEqual(
            str(caught.exception),
            f"The SMS to {FR} could not be sent: P says permanent Check the "
            "provider P in SMS > Configuration > Providers.",
        )

    def test_validation_errors_send_nothing(self):
        russia = self._create_provider(name="Russia", number_prefixes="+7", max_parts=1)
        no_number = self._create_partner("No Number", country_id=self.country_fr.id)
        cases = [
            ("missing number", no_number, {"body": "Hi"}, "Enter a phone number."),
            (
                "invalid number",
                self.partner,
                {"number": "12", "body": "Hi"},
                "12 is not a valid phone number.",
            ),
            (
                "empty text",
                self.partner,
                {"number": "+79251234567", "body": " \n "},
                "Write the text of the SMS.",
            ),
            (
                "too many parts",
                self.partner,
                {"number": "+79251234567", "body": LONG_GSM},
                "The message takes 2 SMS parts; Russia accepts at most 1. "
                "Shorten the text.",
            ),
            (
                "no provider for the number",
                self.partner,
                {"body": "Hi"},
                f"No active SMS provider can send to {FR}.",
            ),
        ]
        before = self._sms_count()
        for label, partner, vals, error in cases:
            with self.subTest(label), self.mock_gateway():
                wizard = self._wizard(partner, **vals)
                with self.assertRaises(UserError) as caught:
                    wizard.action_send()
                self.assertEqual(str(caught.exception), error)
        self.assertEqual(self._sms_count(), before)
        self.assertEqual(self.gateway_calls, [])

        russia.active = False
        wizard = self._wizard(body="Hi")
        with self.assertRaises(UserError) as caught:
            wizard.action_send()
        self.assertEqual(
            str(caught.exception),
            "No SMS provider is configured. An administrator can add one in "
            "SMS > Configuration > Providers.",
        )
        self.assertEqual(self._sms_count(), before)
        self.assertFalse(
            self.partner.message_ids.filtered(lambda m: m.message_type == "sms")
        )

    def test_provider_choice_when_several_match(self):
        first = self._create_provider(name="First", sequence=1, price_per_part=0.1)
        second = self._create_provider(
            name="Second", sequence=2, price_per_part=0.25, currency_id=self.eur.id
        )
        self._create_provider(name="Russia", number_prefixes="+7", sequence=0)
        form = self._wizard_form()
        self.assertEqual(form.provider_count, 2)
        self.assertEqual(form.provider_id, first)
        form.provider_id = second
        form.body = "Hello"
        self.assertEqual(form.cost_text, "0.25\N{NO-BREAK SPACE}€")
        wizard = form.save()
        self.assertEqual(
            wizard.candidate_provider_ids.sorted("sequence"), first + second
        )
        with self.mock_gateway():
            wizard.action_send()
        self.assertEqual([name for name, _batch in self.gateway_calls], ["Second"])
        sms = self.partner.sms_ids
        self.assertEqual(sms.requested_provider_id, second)
        self.assertSmsState(sms, "pending", provider=second)
        self.assertAlmostEqual(sms.cost, 0.25)

    def test_sent_sms_tab(self):
        provider = self._create_provider(name="P", price_per_part=0.1)
        for body in ("first", "second " + LONG_GSM):
            with self.mock_gateway():
                self._wizard(body=body).action_send()
        other = self._create_partner("Someone Else", "+33612345679")
        with self.mock_gateway():
            self._wizard(other, body="not theirs").action_send()
        sms = self.partner.sms_ids.sorted("id")
        self.assertEqual(sms.mapped("body"), ["first", "second " + LONG_GSM])
        self.assertEqual(sms.mapped("state"), ["pending", "pending"])
        self.assertEqual(sms.provider_id, provider)
        self.assertEqual(sms.mapped("cost"), [0.1, 0.2])
        self.assertEqual(sms.mapped("parts"), [1, 2])
        self.assertEqual(self.partner.sms_count, 2)
        action = self.partner.action_view_sms()
        self.assertEqual(self.env["sms.sms"].search(action["domain"]).sorted("id"), sms)
