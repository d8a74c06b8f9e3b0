"""Requests in flight: a lane keeps several SMS.ru requests waiting at once."""

import threading
import time

from odoo.tests import tagged

from .common import API_ID, SmsRuCase
from .fake_smsru import FakeSmsRu


class SlowSmsRu(FakeSmsRu):
    """The local SMS.ru answering ``sms/send`` after ``latency`` seconds,
    counting how many requests it holds at once."""

    def __init__(self, latency, **kwargs):
        super().__init__(**kwargs)
        self.latency = latency
        self.concurrent = 0
        self.max_concurrent = 0
        self._count_lock = threading.Lock()

    def handle(self, method, path, params, body):
        if path != "sms/send":
            return super().handle(method, path, params, body)
        with self._count_lock:
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            time.sleep(self.latency)
            return super().handle(method, path, params, body)
        finally:
            with self._count_lock:
                self.concurrent -= 1


@tagged("post_install", "-at_install")
class TestSmsRuInFlight(SmsRuCase):
    def setUp(self):
        super(SmsRuCase, self).setUp()  # our own server, not SmsRuCase's
        self.server = self.enterContext(
            SlowSmsRu(0.3, api_id=API_ID, balance=1e9, total_limit=10**6)
        )
        self.provider = self._create_smsru_provider(name="SMS.ru slow")

    def test_requests_in_flight_and_results_written(self):
        self.provider.inflight_requests = 4
        partners = self._partners(800)
        sms = self._sms_for_partners(partners, body="Hi {name}")
        bad = sms[17] | sms[433]
        for record in bad:
            self.server.set_number_error(record.number[1:], 207)

        self.assertEqual(self._run_dispatch(), 800)

        sends = self.server.requests_to("sms/send")
        self.assertEqual(sorted(len(r.recipients()) for r in sends), [100] * 8)
        self.assertEqual(self.server.max_concurrent, 4, "4 requests in flight")
        good = sms - bad
        self.assertSmsState(good, "pending", provider=self.provider)
        for record in good:
            sent = self.server.messages[record.provider_message_id]
            self.assertEqual((sent.number, sent.text), (record.number[1:], record.body))
            self.assertEqual(record.attempts, 1)
        self.assertEqual(len(set(good.mapped("provider_message_id"))), 798)
        self.assertSmsState(bad, "error")
        self.assertTrue(all("207" in (r.error_message or "") for r in bad))

    def test_rate_limit_holds_with_requests_in_flight(self):
        self.provider.write({"inflight_requests": 4, "rate_limit": 500})
        sms = self._sms_for_partners(self._partners(400))
        started = time.monotonic()
        self._run_dispatch()
        elapsed = time.monotonic() - started
        self.assertSmsState(sms, "pending")
        # 400 messages at 500 a second: at least 0.8 s, though 4 requests of
        # 100 could all have left at once.
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertGreaterEqual(self.server.max_concurrent, 2)

    def test_one_request_at_a_time_when_asked(self):
        self.provider.inflight_requests = 1
        sms = self._sms_for_partners(self._partners(300))
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        self.assertEqual(self.server.max_concurrent, 1)
