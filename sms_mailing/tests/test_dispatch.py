from odoo.tests import tagged

from ..tools import provider as api
from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestDispatch(SmsProviderCase):
    def test_routing_by_prefix_then_sequence(self):
        generic = self._create_provider(name="Generic", sequence=1)
        russia = self._create_provider(name="Russia", number_prefixes="+7", sequence=20)
        sms = self._queue_sms(["+79251234567", "+33612345678"])
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 2)
        by_number = {s.number: s for s in sms}
        self.assertSmsState(by_number["+79251234567"], "pending", provider=russia)
        self.assertSmsState(by_number["+33612345678"], "pending", provider=generic)
        self.assertEqual(
            sorted(self.gateway_calls),
            [
                ("Generic", [("+33612345678", "Hello")]),
                ("Russia", [("+79251234567", "Hello")]),
            ],
        )

    def test_failover_then_backoff_then_failure(self):
        first = self._create_provider(name="First", sequence=1, max_attempts=2)
        self._create_provider(name="Second", sequence=2, max_attempts=2)
        sms = self._queue_sms(["+33612345678"])
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            self._run_dispatch()
        self.assertEqual([c[0] for c in self.gateway_calls], ["First", "Second"])
        self.assertSmsState(sms, "outgoing")
        self.assertEqual(sms.attempts, 1)
        self.assertTrue(sms.next_attempt_at)
        # Not due yet: nothing is sent.
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            self.assertEqual(self._run_dispatch(), 0)
        sms.next_attempt_at = False
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_server")
        self.assertIn("gave up after 2 attempts", sms.error_message)
        self.assertEqual(first.max_attempts, 2)

    def test_status_poll_marks_delivered(self):
        provider = self._create_provider(name="P")
        sms = self._queue_sms(["+33612345678", "+33612345679"])
        with self.mock_gateway(
            status=lambda pid: api.StatusUpdate(
                pid,
                api.STATE_ERROR
                if pid.startswith("P-+33612345679")
                else api.STATE_DELIVERED,
                failure_type="sms_expired"
                if pid.startswith("P-+33612345679")
                else None,
            )
        ):
            self._run_dispatch()
            self.env["sms.sms"]._poll_statuses()
        by_number = {s.number: s for s in sms}
        self.assertSmsState(by_number["+33612345678"], "sent", provider=provider)
        self.assertSmsState(
            by_number["+33612345679"], "error", failure_type="sms_expired"
        )
        self.assertTrue(by_number["+33612345678"].delivered_at)
