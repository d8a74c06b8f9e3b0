"""SMS.ru outages and an empty balance in the middle of a campaign, against the
local SMS.ru server: messages wait with a growing delay (a bounded number of
requests, no busy loop), fail over where another provider matches, go out once
the service is back; nothing is sent twice, nothing is lost; the mailing's
counters say what is happening."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import SmsRuCase
from .fake_smsru import FakeSmsRu

# What an outage looks like from here: a proxy's error page, SMS.ru's "service
# temporarily unavailable" codes, a maintenance page. (A request SMS.ru took
# without answering is not an outage: it may have been sent, it is in doubt.)
OUTAGE = ("http500", 220, "garbage", 500)


@tagged("post_install", "-at_install")
class TestSmsRuOutage(SmsRuCase):
    def setUp(self):
        super().setUp()
        self.provider.write({"max_attempts": 8})
        self.env["ir.config_parameter"].sudo().set_param(
            "sms_mailing.retry_base_seconds", "60"
        )

    # -- helpers ------------------------------------------------------------
    def _mailing(self, partners, body="Hello {{ object.name }}, -20% this week"):
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Campaign",
                "body": body,
                "partner_ids": [(6, 0, partners.ids)],
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        return mailing

    def _later(self, seconds):
        """``seconds`` pass: retry times move closer to now by that much."""
        waiting = self.env["sms.sms"].search(
            [("state", "=", "outgoing"), ("next_attempt_at", "!=", False)]
        )
        for sms in waiting:
            sms.next_attempt_at = sms.next_attempt_at - timedelta(seconds=seconds)

    def _sends(self, server=None):
        return len((server or self.server).requests_to("sms/send"))

    def _sends_refused(self):
        return sum(
            1
            for request in self.server.requests_to("sms/send")
            if not set(request.recipients())
            & {m.number for m in self.server.messages.values()}
        )

    def assertSentOnce(self, server, partners):
        numbers = sorted(m.number for m in server.messages.values())
        self.assertEqual(numbers, sorted(p.mobile[1:] for p in partners))

    def assertCounters(self, mailing, **expected):
        mailing.invalidate_recordset()
        self.assertEqual(
            {name: mailing[f"{name}_count"] for name in expected}, expected
        )

    # -- outage ---------------------------------------------------------------
    def test_outage_waits_with_backoff_then_sends_everything_once(self):
        partners = self._partners(150)
        mailing = self._mailing(partners)
        sms = mailing.sms_ids
        self.server.outage(*OUTAGE)

        # first run: the first request fails, the second chunk is not tried
        self._run_dispatch()
        self.assertEqual(self._sends(), 1)
        self.assertSmsState(sms, "outgoing")
        self.assertEqual(set(sms.mapped("attempts")), {1})
        self.assertCounters(mailing, retry=150, queued=150, sent=0, failed=0)
        self.assertIn("retry", mailing._fields["retry_count"].string.lower())
        first_wait = sms[0].next_attempt_at - fields.Datetime.now()
        self.assertGreaterEqual(first_wait.total_seconds(), 55)

        # no busy loop: running again before the delay asks nothing
        for _i in range(5):
            self._run_dispatch()
        self.assertEqual(self._sends(), 1)

        # minutes of outage: one request per due retry, with growing delays
        waits = []
        for _attempt in range(3):
            self._later(3600)
            self._run_dispatch()
            sms.invalidate_recordset()
            wait = sms[0].next_attempt_at - fields.Datetime.now()
            waits.append(round(wait.total_seconds() / 10) * 10)
        self.assertEqual(waits, [120, 240, 480])
        self.assertEqual(self._sends(), 4)
        self.assertEqual(set(sms.mapped("attempts")), {4})
        self.assertSmsState(sms, "outgoing")
        self.assertCounters(mailing, retry=150, failed=0)
        # HTTP 500, 220, a maintenance page and 500 were all taken as temporary
        self.assertTrue(all(s.error_message for s in sms))

        # the service is back: everything goes out, once
        self.server.end_outage()
        self._later(3600)
        self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=self.provider)
        self.assertEqual(self._sends(), 4 + 2)  # 100 + 50 numbers
        self.assertSentOnce(self.server, partners)
        self.assertCounters(mailing, retry=0, queued=0, sent=150, failed=0)
        self.assertFalse(any(sms.mapped("error_message")))

    def test_outage_gives_up_after_max_attempts_with_the_reason(self):
        self.provider.max_attempts = 3
        partners = self._partners(5)
        mailing = self._mailing(partners)
        self.server.outage(220)
        for _attempt in range(3):
            self._run_dispatch()
            self._later(3600 * 24)
        self._run_dispatch()  # nothing left to try
        self.assertEqual(self._sends(), 3)
        self.assertSmsState(mailing.sms_ids, "error", failure_type="sms_server")
        self.assertIn("temporarily unavailable", mailing.sms_ids[0].error_message)
        self.assertIn("gave up after 3 attempts", mailing.sms_ids[0].error_message)
        self.assertCounters(mailing, failed=5, retry=0)
        self.assertIn("temporarily unavailable", mailing.failure_summary)

    def test_outage_fails_over_to_another_matching_provider(self):
        backup_server = self.enterContext(FakeSmsRu(api_id="backup-key", sleep=1.0))
        backup = self._create_smsru_provider(
            name="SMS.ru backup account",
            smsru_api_id="backup-key",
            smsru_base_url=backup_server.url,
            sequence=self.provider.sequence + 10,
        )
        partners = self._partners(150)
        mailing = self._mailing(partners)
        self.server.outage("http500")
        self._run_dispatch()
        self.assertSmsState(mailing.sms_ids, "pending", provider=backup)
        self.assertEqual(self._sends(), 1)  # the main one was asked once
        self.assertEqual(self._sends(backup_server), 2)
        self.assertSentOnce(backup_server, partners)
        self.assertEqual(self.server.messages, {})
        self.assertCounters(mailing, sent=150, retry=0, failed=0)

    # -- balance ----------------------------------------------------------------
    def test_balance_runs_out_mid_campaign_then_retry_failed_sends_exactly_them(self):
        partners = self._partners(250)
        mailing = self._mailing(partners, body="Sale: -20% this week")
        # enough for the first 100 messages only (3.25 each)
        self.server.balance = 100 * 3.25 + 1
        self._run_dispatch()
        sms = mailing.sms_ids
        sent = sms.filtered(lambda s: s.state == "pending")
        failed = sms - sent
        self.assertEqual(len(sent), 100)
        self.assertSmsState(failed, "error", failure_type="sms_credit")
        self.assertIn("Insufficient funds", failed[0].error_message)
        # one request per 100 numbers at most: in a dispatch batch (200
        # messages), the chunk after a refused one is not asked; the next
        # batch asks once more
        self.assertEqual(self._sends(), 3)
        self.assertEqual(self._sends_refused(), 2)
        self.assertCounters(mailing, sent=100, failed=150, queued=0, retry=0)
        self.assertIn("Insufficient funds", mailing.failure_summary)
        self.assertIn("150", mailing.failure_summary)

        # top-up, then Retry failed: exactly the 150 others go out
        self.server.balance = 10000
        before = set(self.server.messages)
        mailing.action_retry_failed()
        self.assertCounters(mailing, failed=0, queued=150)
        self._run_dispatch()
        new = [self.server.messages[i] for i in set(self.server.messages) - before]
        self.assertEqual(
            sorted(m.number for m in new),
            sorted(n[1:] for n in failed.mapped("number")),
        )
        self.assertSentOnce(self.server, partners)
        self.assertCounters(mailing, sent=250, failed=0, queued=0)
