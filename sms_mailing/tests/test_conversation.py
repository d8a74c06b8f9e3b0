from datetime import timedelta

from odoo.tests import tagged

from ..tools.provider import InboundMessage
from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestConversation(SmsProviderCase):
    def test_sent_and_received_together(self):
        provider = self._create_provider(name="P")
        partner = self._create_partner("Zoé", "+33612345611")
        wizard = self.env["sms.partner.send"].create(
            {"partner_id": partner.id, "body": "Are you coming?"}
        )
        with self.mock_gateway():
            wizard.action_send()
        sent_at = self.env["sms.sms"].search([("number", "=", "+33612345611")]).sent_at
        provider._receive_inbound(
            [
                InboundMessage(
                    "+33612345611", "Yes, at 8", sent_at + timedelta(minutes=2)
                )
            ]
        )
        self.env.flush_all()
        Conversation = self.env["sms.conversation"]
        conversation = Conversation.search([("number", "=", "+33612345611")])
        self.assertEqual(conversation.partner_id, partner)
        self.assertEqual(conversation.message_count, 2)
        self.assertEqual(conversation.unread_count, 1)
        self.assertEqual(conversation.last_body, "Yes, at 8")
        self.assertEqual(
            conversation.message_ids.mapped(lambda m: (m.direction, m.body)),
            [("out", "Are you coming?"), ("in", "Yes, at 8")],
        )
        self.assertIn(conversation, Conversation.search([("unread_count", ">", 0)]))
        action = conversation.action_reply()
        self.assertEqual(action["context"]["default_number"], "+33612345611")
        self.env.flush_all()
        conversation.invalidate_recordset()
        self.assertEqual(conversation.unread_count, 0)

    def test_reply_to_unknown_number(self):
        self._create_provider(name="P")
        wizard = self.env["sms.partner.send"].create(
            {"number": "+33612345612", "body": "Who is this?"}
        )
        with self.mock_gateway():
            wizard.action_send()
        self.assertEqual(self.sent_numbers, ["+33612345612"])
        sms = self.env["sms.sms"].search([("number", "=", "+33612345612")])
        self.assertEqual(sms.state, "pending")

    def test_conversations_are_separated_per_company(self):
        provider = self._create_provider(name="P")
        provider._receive_inbound([InboundMessage("+33612345613", "Hi")])
        other = self.env["res.company"].create({"name": "Other SMS company"})
        user = self.env["res.users"].create(
            {
                "name": "Other company user",
                "login": "sms_other_company_user",
                "company_id": other.id,
                "company_ids": [(6, 0, other.ids)],
                "groups_id": [(6, 0, self.env.ref("base.group_user").ids)],
            }
        )
        self.env.flush_all()
        Conversation = self.env["sms.conversation"]
        domain = [("number", "=", "+33612345613")]
        self.assertEqual(len(Conversation.search(domain)), 1)
        self.assertFalse(Conversation.with_user(user).search(domain))
        self.assertFalse(
            self.env["sms.conversation.message"].with_user(user).search(domain)
        )
