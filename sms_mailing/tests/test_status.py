"""Delivery statuses (poll and provider updates) and the kept history of SMS."""

from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import tagged

from ..tools import provider as api
from .common import SmsProviderCase

FR = "+33612345678"


@tagged("post_install", "-at_install")
class TestCoreStatus(SmsProviderCase):
    def setUp(self):
        super().setUp()
        self.provider = self._create_provider(name="P")

    def _sent(self, numbers, **vals):
        """Messages already handed to ``self.provider`` (state pending)."""
        sms = self._queue_sms(numbers, **vals)
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=self.provider)
        return sms

    def test_poll_delivery_errors(self):
        failures = {
            "+33612345671": "sms_expired",
            "+33612345672": "sms_not_delivered",
            "+33612345673": "sms_invalid_destination",
            "+33612345674": "sms_rejected",
        }
        sms = self._sent([FR, *failures])
        number_of = {s.provider_message_id: s.number for s in sms}

        def status(pid):
            failure = failures.get(number_of[pid])
            if not failure:
                return api.StatusUpdate(pid, api.STATE_DELIVERED, final=True)
            return api.StatusUpdate(
                pid, api.STATE_ERROR, final=True, failure_type=failure, error=failure
            )

        before = fields.Datetime.now()
        with self.mock_gateway(status=status):
            updated = self.env["sms.sms"]._poll_statuses()
        self.assertEqual(updated, sms)
        self.assertEqual(
            sorted(self.status_calls[0]), sorted(sms.mapped("provider_message_id"))
        )
        by_number = {s.number: s for s in sms}
        self.assertSmsState(by_number[FR], "sent")
        self.assertGreaterEqual(by_number[FR].delivered_at, before)
        for number, failure in failures.items():
            self.assertSmsState(by_number[number], "error", failure_type=failure)
            self.assertEqual(by_number[number].error_message, failure)
            self.assertFalse(by_number[number].delivered_at)
        self.assertTrue(all(sms.mapped("status_checked_at")))

    def test_pending_update_keeps_polling(self):
        sms = self._sent([FR])
        with self.mock_gateway(
            status=lambda pid: api.StatusUpdate(pid, api.STATE_PENDING)
        ):
            self.env["sms.sms"]._poll_statuses()
            self.assertSmsState(sms, "pending")
            self.env["sms.sms"]._poll_statuses()
        self.assertEqual(len(self.status_calls), 2)
        # A failed status call for one id is asked again later.
        with self.mock_gateway(
            status=lambda pid: api.StatusUpdate(
                pid, api.STATE_ERROR, failure_type="sms_expired", transient=True
            )
        ):
            self.env["sms.sms"]._poll_statuses()
        self.assertSmsState(sms, "pending")

    def test_delivered_message_is_not_moved_back(self):
        sms = self._sent([FR])
        delivered_at = datetime(2024, 5, 1, 12, 0, 0)
        pid = sms.provider_message_id
        self.provider._apply_status_updates(
            [api.StatusUpdate(pid, api.STATE_DELIVERED, at=delivered_at)]
        )
        self.assertSmsState(sms, "sent")
        self.assertEqual(sms.delivered_at, delivered_at)
        late = self.provider._apply_status_updates(
            [
                api.StatusUpdate(pid, api.STATE_ERROR, failure_type="sms_expired"),
                api.StatusUpdate(pid, api.STATE_PENDING),
                api.StatusUpdate(pid, api.STATE_DELIVERED, at=datetime(2024, 6, 1)),
            ]
        )
        self.assertFalse(late)
        self.assertSmsState(sms, "sent")
        self.assertFalse(sms.failure_type)
        self.assertEqual(sms.delivered_at, delivered_at)
        # Delivered messages are not polled any more.
        with self.mock_gateway():
            self.env["sms.sms"]._poll_statuses()
        self.assertEqual(self.status_calls, [])

    def test_reused_provider_id_matches_latest_pending(self):
        older, newer = self._sent([FR, "+33612345679"])
        older.provider_message_id = newer.provider_message_id = "17"
        updated = self.provider._apply_status_updates(
            [api.StatusUpdate("17", api.STATE_DELIVERED)]
        )
        self.assertEqual(updated, newer)
        self.assertSmsState(newer, "sent")
        self.assertSmsState(older, "pending")
        # The id comes round again: the newest message still pending takes it.
        third = self._sent(["+33612345670"])
        third.provider_message_id = "17"
        updated = self.provider._apply_status_updates(
            [api.StatusUpdate("17", api.STATE_ERROR, failure_type="sms_rejected")]
        )
        self.assertEqual(updated, third)
        self.assertSmsState(third, "error", failure_type="sms_rejected")
        self.assertSmsState(newer, "sent")
        self.assertSmsState(older, "pending")

    def test_update_of_another_provider_is_ignored(self):
        sms = self._sent([FR])
        other = self._create_provider(name="Other", active=False)
        updated = other._apply_status_updates(
            [api.StatusUpdate(sms.provider_message_id, api.STATE_DELIVERED)]
        )
        self.assertFalse(updated)
        self.assertSmsState(sms, "pending")
        self.assertFalse(self.provider._apply_status_updates([]))
        self.assertFalse(
            self.provider._apply_status_updates(
                [api.StatusUpdate("unknown-id", api.STATE_DELIVERED)]
            )
        )

    def test_cost_from_status_update(self):
        self.provider.price_per_part = 0.05
        sms = self._sent([FR])
        self.assertAlmostEqual(sms.cost, 0.05)
        with self.mock_gateway(
            status=lambda pid: api.StatusUpdate(pid, api.STATE_DELIVERED, cost=0.0312)
        ):
            self.env["sms.sms"]._poll_statuses()
        self.assertSmsState(sms, "sent")
        self.assertAlmostEqual(sms.cost, 0.0312)
        # A cost update alone (no state change) is stored too.
        self.provider._apply_status_updates(
            [api.StatusUpdate(sms.provider_message_id, api.STATE_DELIVERED, cost=0.04)]
        )
        self.assertAlmostEqual(sms.cost, 0.04)

    def test_old_messages_are_not_polled(self):
        recent, old = self._sent([FR, "+33612345679"])
        old.sent_at = fields.Datetime.now() - timedelta(hours=73)
        with self.mock_gateway():
            self.env["sms.sms"]._poll_statuses()
        self.assertEqual(self.status_calls, [[recent.provider_message_id]])
        self.assertSmsState(recent, "sent")
        self.assertSmsState(old, "pending")

        self.env["ir.config_parameter"].set_param("sms_mailing.status_max_age_hours", 1)
        younger = self._sent(["+33612345670"])
        younger.sent_at = fields.Datetime.now() - timedelta(minutes=90)
        self.status_calls.clear()
        with self.mock_gateway():
            self.assertFalse(self.env["sms.sms"]._poll_statuses())
        self.assertEqual(self.status_calls, [])
        self.assertSmsState(younger, "pending")


@tagged("post_install", "-at_install")
class TestCoreHistory(SmsProviderCase):
    def test_chatter_sms_goes_through_provider_and_is_kept(self):
        provider = self._create_provider(name="P", price_per_part=0.1)
        partner = self._create_partner("History Contact", FR)
        with self.mock_gateway():
            message = partner._message_sms(
                "Your order shipped", partner_ids=partner.ids
            )
        self.assertEqual(self.gateway_calls, [("P", [(FR, "Your order shipped")])])
        sms = self.env["sms.sms"].search([("mail_message_id", "=", message.id)])
        self.assertEqual(len(sms), 1)
        self.assertSmsState(sms, "pending", provider=provider)
        self.assertFalse(sms.to_delete)
        self.assertEqual(sms.partner_id, partner)
        self.assertAlmostEqual(sms.cost, 0.1)
        self.assertEqual(message.message_type, "sms")
        self.assertEqual(message.model, "res.partner")
        self.assertEqual(message.res_id, partner.id)
        notification = message.notification_ids
        self.assertEqual(len(notification), 1)
        self.assertEqual(notification.notification_type, "sms")
        self.assertEqual(notification.res_partner_id, partner)
        self.assertEqual(notification.notification_status, "pending")

        # Odoo's autovacuum of sent SMS does not remove our history.
        self.env["sms.sms"]._gc_device()
        self.assertTrue(sms.exists())

        with self.mock_gateway():
            self.env["sms.sms"]._poll_statuses()
        self.assertSmsState(sms, "sent")
        self.assertEqual(notification.notification_status, "sent")
        self.assertIn(sms, partner.sms_ids)

    def test_chatter_notification_follows_errors(self):
        self._create_provider(name="P")
        partner = self._create_partner("Bounce Contact", FR)
        with self.mock_gateway(
            status=lambda pid: api.StatusUpdate(
                pid, api.STATE_ERROR, failure_type="sms_invalid_destination"
            )
        ):
            message = partner._message_sms("Hi", partner_ids=partner.ids)
            self.env["sms.sms"]._poll_statuses()
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "bounce")
        self.assertEqual(notification.failure_type, "sms_invalid_destination")

        partner2 = self._create_partner("Refused Contact", "+33612345679")
        with self.mock_gateway(outcome=lambda name, m: (api.PERMANENT, "sms_credit")):
            message = partner2._message_sms("Hi", partner_ids=partner2.ids)
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_type, "sms_credit")
        sms = self.env["sms.sms"].search([("mail_message_id", "=", message.id)])
        self.assertSmsState(sms, "error", failure_type="sms_credit")
        self.assertFalse(sms.to_delete, "failed SMS are kept too")
