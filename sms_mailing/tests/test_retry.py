"""Retries with backoff, permanent failures, and recovery after a crash."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools import provider as api
from ..tools.demo_client import DemoClient
from .common import SmsProviderCase

FR = "+33612345678"
FR2 = "+33612345679"


@tagged("post_install", "-at_install")
class TestCoreRetry(SmsProviderCase):
    def _dispatch_timed(self, **kwargs):
        """Run the dispatcher; return the UTC time bounds around the run."""
        before = fields.Datetime.now()
        self._run_dispatch(**kwargs)
        return before, fields.Datetime.now()

    def _make_due(self, sms):
        sms.write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})

    def assertNextAttempt(self, sms, bounds, seconds):
        before, after = bounds
        delay = timedelta(seconds=seconds)
        self.assertTrue(
            before + delay <= sms.next_attempt_at <= after + delay,
            f"next attempt {sms.next_attempt_at} is not {seconds}s after {before}",
        )

    def test_transient_backoff_then_give_up(self):
        provider = self._create_provider(name="Flaky", max_attempts=3)
        sms = self._queue_sms([FR])
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            bounds = self._dispatch_timed()
            self.assertSmsState(sms, "outgoing", provider=provider)
            self.assertEqual(sms.attempts, 1)
            self.assertEqual(sms.error_message, "Flaky says transient")
            self.assertNextAttempt(sms, bounds, 60)

            # Not due yet: the gateway is not called.
            self.assertEqual(self._run_dispatch(), 0)
            self.assertEqual(len(self.gateway_calls), 1)

            self._make_due(sms)
            bounds = self._dispatch_timed()
            self.assertSmsState(sms, "outgoing")
            self.assertEqual(sms.attempts, 2)
            self.assertNextAttempt(sms, bounds, 120)

            self._make_due(sms)
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_server", provider=provider)
        self.assertEqual(sms.attempts, 3)
        self.assertEqual(
            sms.error_message, "Flaky says transient (gave up after 3 attempts)"
        )
        self.assertFalse(sms.next_attempt_at)
        self.assertEqual(self.sent_numbers, [FR, FR, FR])

    def test_backoff_base_is_a_system_parameter(self):
        self.env["ir.config_parameter"].set_param("sms_mailing.retry_base_seconds", 10)
        self._create_provider(name="Flaky")
        sms = self._queue_sms([FR])
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            bounds = self._dispatch_timed()
            self.assertNextAttempt(sms, bounds, 10)
            self._make_due(sms)
            bounds = self._dispatch_timed()
            self.assertNextAttempt(sms, bounds, 20)

    def test_transient_then_success(self):
        provider = self._create_provider(name="Flaky", max_attempts=3)
        sms = self._queue_sms([FR])
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            self._run_dispatch()
        self._make_due(sms)
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=provider)
        self.assertEqual(sms.attempts, 2)
        self.assertFalse(sms.error_message)
        self.assertFalse(sms.next_attempt_at)
        self.assertTrue(sms.sent_at)

    def test_permanent_error_fails_at_once(self):
        provider = self._create_provider(name="Strict", max_attempts=5)
        sms = self._queue_sms([FR])
        with self.mock_gateway(
            outcome=lambda name, m: (api.PERMANENT, "sms_number_format")
        ):
            self._run_dispatch()
        self.assertSmsState(
            sms, "error", failure_type="sms_number_format", provider=provider
        )
        self.assertEqual(sms.error_message, "Strict says permanent")
        self.assertEqual(sms.attempts, 1)
        self.assertFalse(sms.next_attempt_at)
        self.assertFalse(sms.sent_at)

    def test_whole_request_transient_error_is_retried(self):
        provider = self._create_provider(name="Down", max_attempts=2)
        sms = self._queue_sms([FR, FR2])

        def outcome(name, message):
            raise api.ProviderError("HTTP 503: service unavailable", transient=True)

        with self.mock_gateway(outcome=outcome):
            bounds = self._dispatch_timed()
            self.assertSmsState(sms, "outgoing", provider=provider)
            for record in sms:
                self.assertEqual(record.attempts, 1)
                self.assertEqual(record.error_message, "HTTP 503: service unavailable")
                self.assertNextAttempt(record, bounds, 60)
            self._make_due(sms)
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_server")
        for record in sms:
            self.assertEqual(
                record.error_message,
                "HTTP 503: service unavailable (gave up after 2 attempts)",
            )

    def test_whole_request_permanent_error(self):
        self._create_provider(name="Broke")
        sms = self._queue_sms([FR])

        def outcome(name, message):
            raise api.ProviderError("Insufficient funds", failure_type="sms_credit")

        with self.mock_gateway(outcome=outcome):
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_credit")
        self.assertEqual(sms.error_message, "Insufficient funds")
        self.assertEqual(sms.attempts, 1)

    def test_client_crash_is_never_resent(self):
        self._create_provider(name="Buggy", max_attempts=5)
        sms = self._queue_sms([FR])

        def outcome(name, message):
            raise KeyError("sms_id")

        with (
            self.mock_gateway(outcome=outcome),
            mute_logger("odoo.addons.sms_mailing.tools.dispatch"),
        ):
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="unknown")
        self.assertIn("Unexpected provider error", sms.error_message)
        self.assertFalse(sms.next_attempt_at)

    def test_missing_result_is_not_resent(self):
        self._create_provider(name="Forgetful")
        sms = self._queue_sms([FR, FR2])
        with self.mock_gateway():
            recording = DemoClient._transmit

            def forgetful(client, messages):
                # The gateway answers for the first message only.
                return recording(client, messages)[:1]

            with patch.object(DemoClient, "_transmit", forgetful):
                self._run_dispatch()
        self.assertEqual(self.sent_numbers, [FR, FR2])
        self.assertEqual(sorted(sms.mapped("state")), ["error", "pending"])
        lost = sms.filtered(lambda s: s.state == "error")
        self.assertEqual(lost.failure_type, "unknown")
        self.assertIn("it was not sent again", lost.error_message)

    def test_invalid_number_with_simulated_provider(self):
        """The real simulated gateway (no double) refuses invalid numbers."""
        provider = self._create_provider(name="Demo")
        good, bad = self._queue_sms([FR, "+3361"])
        self._run_dispatch()
        self.assertSmsState(good, "pending", provider=provider)
        self.assertTrue(good.provider_message_id.startswith("demo-"))
        self.assertSmsState(bad, "error", failure_type="sms_number_format")
        self.assertEqual(bad.error_message, "+3361 is not a valid phone number.")

    def test_too_many_parts_for_the_provider(self):
        self._create_provider(name="Short", max_parts=1)
        sms = self._queue_sms([FR], body="x" * 161)
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="unknown")
        self.assertEqual(
            sms.error_message,
            "The message takes 2 SMS parts; Short accepts at most 1. Shorten the text.",
        )
        self.assertEqual(self.gateway_calls, [])

    def test_cost_from_price_per_part(self):
        self._create_provider(name="Priced", price_per_part=0.07)
        one, two = self._queue_sms([FR], body="x" * 160) + self._queue_sms(
            [FR2], body="x" * 161
        )
        with self.mock_gateway():
            self._run_dispatch()
        self.assertAlmostEqual(one.cost, 0.07)
        self.assertAlmostEqual(two.cost, 0.14)


@tagged("post_install", "-at_install")
class TestCoreCrashRecovery(SmsProviderCase):
    def _in_process_since(self, number, minutes):
        sms = self._queue_sms([number])
        sms.write(
            {
                "state": "process",
                "attempts": 1,
                "process_started_at": fields.Datetime.now()
                - timedelta(minutes=minutes),
            }
        )
        return sms

    def test_stuck_message_is_failed_not_resent(self):
        self._create_provider(name="P")
        stuck = self._in_process_since(FR, 61)
        recent = self._in_process_since(FR2, 5)
        fresh = self._queue_sms(["+33612345670"])
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 1)
        self.assertEqual(self.sent_numbers, ["+33612345670"])
        self.assertSmsState(fresh, "pending")
        self.assertSmsState(stuck, "error", failure_type="sms_in_doubt")
        self.assertIn("Sending was interrupted", stuck.error_message)
        self.assertIn("It was not sent again automatically", stuck.error_message)
        self.assertEqual(stuck.attempts, 1)
        self.assertSmsState(recent, "process")
        self.assertFalse(recent.error_message)

        # A second run still does not send either of them.
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 0)
        self.assertEqual(self.sent_numbers, ["+33612345670"])
        self.assertSmsState(recent, "process")

    def test_stuck_threshold_is_a_system_parameter(self):
        self._create_provider(name="P")
        self.env["ir.config_parameter"].set_param("sms_mailing.stuck_after_minutes", 3)
        recent = self._in_process_since(FR2, 5)
        very_recent = self._in_process_since(FR, 1)
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(recent, "error", failure_type="sms_in_doubt")
        self.assertSmsState(very_recent, "process")
        self.assertEqual(self.gateway_calls, [])

    def test_stuck_message_updates_its_chatter_notification(self):
        self._create_provider(name="P")
        partner = self._create_partner("Stuck Contact", FR)
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            message = partner._message_sms("Hi", partner_ids=partner.ids)
        sms = self.env["sms.sms"].search([("mail_message_id", "=", message.id)])
        self.assertSmsState(sms, "outgoing")
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "process")
        # The server dies right after handing it to the provider.
        sms._set_state(
            "process",
            attempts="+1",
            handed_over=True,
            process_started_at=fields.Datetime.now() - timedelta(hours=2),
        )
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_in_doubt")
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(len(self.gateway_calls), 1, "only the first, failed attempt")
