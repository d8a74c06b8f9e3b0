"""Received SMS: stored, linked to the contact, stop keywords opt out."""

from datetime import datetime

from odoo.tests import tagged

from ..tools.provider import InboundMessage
from .common import SmsProviderCase

# Numbers that no demo contact uses.
FR = "+33655501001"
FR2 = "+33655501002"
RU = "+79161112233"


@tagged("post_install", "-at_install")
class TestCoreInbound(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["sms.provider"].create(
            {"name": "Inbox", "provider_type": "demo"}
        )

    def _chatter(self, partner):
        partner.invalidate_recordset(["message_ids"])
        return "\n".join(partner.message_ids.mapped("body"))

    def _blacklisted(self, number):
        return self.env["phone.blacklist"].search(
            [("number", "=", number), ("active", "=", True)]
        )

    def test_stop_opts_the_contact_out(self):
        partner = self._create_partner("Jeanne", FR)
        received_at = datetime(2024, 5, 1, 8, 30)
        inbound = self.provider._receive_inbound(
            [
                InboundMessage(
                    FR, "Stop ", received_at=received_at, provider_message_id="in-1"
                )
            ]
        )
        self.assertEqual(len(inbound), 1)
        self.assertEqual(inbound.number, FR)
        self.assertEqual(inbound.partner_id, partner)
        self.assertEqual(inbound.body, "Stop ")
        self.assertEqual(inbound.received_at, received_at)
        self.assertEqual(inbound.provider_id, self.provider)
        self.assertEqual(inbound.provider_message_id, "in-1")
        self.assertTrue(inbound.is_stop)
        self.assertFalse(inbound.is_read)
        self.assertTrue(partner.sms_opt_out)
        self.assertTrue(self._blacklisted(FR))
        chatter = self._chatter(partner)
        self.assertIn(f"SMS received from {FR}:", chatter)
        self.assertIn("Opted out by SMS: Stop", chatter)

    def test_other_stop_keywords(self):
        russian = self._create_partner("Иван", RU)
        french = self._create_partner(
            "Jean", "06 55 50 10 02", country_id=self.country_fr.id
        )
        self.provider._receive_inbound(
            [
                InboundMessage(RU, "СТОП"),
                InboundMessage(FR2, " arret\n"),
            ]
        )
        self.assertTrue(russian.sms_opt_out)
        self.assertTrue(french.sms_opt_out)
        self.assertTrue(self._blacklisted(RU))
        self.assertTrue(self._blacklisted(FR2))

    def test_not_a_stop_keyword(self):
        partner = self._create_partner("Jeanne", FR)
        inbound = self.provider._receive_inbound([InboundMessage(FR, "Stop please")])
        self.assertFalse(inbound.is_stop)
        self.assertEqual(inbound.partner_id, partner)
        self.assertFalse(partner.sms_opt_out)
        self.assertFalse(self._blacklisted(FR))
        chatter = self._chatter(partner)
        self.assertIn("Stop please", chatter)
        self.assertNotIn("Opted out", chatter)

    def test_custom_stop_keywords(self):
        partner = self._create_partner("Jeanne", FR)
        inbound = self.provider._receive_inbound(
            [InboundMessage(FR, "stop"), InboundMessage(FR, "Basta")],
            stop_keywords="BASTA, NO MORE",
        )
        self.assertEqual(inbound.mapped("is_stop"), [False, True])
        self.assertTrue(partner.sms_opt_out)

    def test_unknown_sender(self):
        known = self._create_partner("Jeanne", FR)
        inbound = self.provider._receive_inbound(
            [
                InboundMessage("+33 6 55 50 10 09", "STOP"),
                InboundMessage("Orange", "Hi"),
            ]
        )
        unknown, alphanumeric = inbound
        self.assertEqual(unknown.number, "+33655501009")
        self.assertFalse(unknown.partner_id)
        self.assertTrue(unknown.is_stop)
        self.assertTrue(self._blacklisted("+33655501009"))
        self.assertEqual(alphanumeric.number, "Orange")
        self.assertFalse(alphanumeric.partner_id)
        self.assertFalse(known.sms_opt_out)


@tagged("post_install", "-at_install")
class TestInboundSafeguards(SmsProviderCase):
    def test_same_message_is_stored_once(self):
        provider = self._create_provider(name="P")
        message = InboundMessage("+33612345631", "Hello", provider_message_id="sim-7")
        provider._receive_inbound([message])
        provider._receive_inbound([message, message])
        self.assertEqual(
            self.env["sms.inbound"].search_count(
                [("provider_message_id", "=", "sim-7")]
            ),
            1,
        )

    def test_stop_from_a_short_code_is_kept_without_opt_out(self):
        provider = self._create_provider(name="P")
        inbound = provider._receive_inbound([InboundMessage("MyBank", "STOP")])
        self.assertEqual(inbound.body, "STOP")
        self.assertFalse(inbound.partner_id)
        self.assertFalse(
            self.env["phone.blacklist"].search([("number", "=", "MyBank")])
        )
