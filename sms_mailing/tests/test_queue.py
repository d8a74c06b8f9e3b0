"""The dispatch cron: triggered when SMS are queued, batches, time budget, progress
and each provider's rate limit."""

from unittest.mock import patch

from odoo.tests import tagged

from ..tools import dispatch as dispatch_module
from .common import SmsProviderCase

NUMBERS = [f"+3365550100{index}" for index in range(5)]


@tagged("post_install", "-at_install")
class TestCoreQueue(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("sms_mailing.ir_cron_sms_dispatch")

    def _triggers(self):
        return self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)])

    def test_queueing_triggers_the_dispatch_cron(self):
        before = self._triggers()
        self._queue_sms(NUMBERS[:1])
        self.assertEqual(self._triggers(), before, "no provider: Odoo's IAP queue")
        self._create_provider(name="P")
        self._queue_sms(NUMBERS[1:2], state="canceled")
        self.assertEqual(self._triggers(), before, "nothing to send")
        self._queue_sms(NUMBERS[2:3])
        self.assertEqual(len(self._triggers() - before), 1)

    def test_batches_time_budget_and_progress(self):
        self._create_provider(name="P")
        sms = self._queue_sms(NUMBERS)
        before = self._triggers()
        progress = self.env["ir.cron.progress"].create({"cron_id": self.cron.id})
        Sms = self.env["sms.sms"].with_context(ir_cron_progress_id=progress.id)
        with self.mock_gateway():
            # No time left after the first batch: it stops and asks to run again.
            self.assertEqual(Sms._dispatch_queue(batch_size=2, time_budget=0), 2)
            self.assertEqual((progress.done, progress.remaining), (2, 3))
            self.assertEqual(len(self._triggers() - before), 1)
            self.assertEqual(
                sorted(sms.mapped("state")), ["outgoing"] * 3 + ["pending"] * 2
            )
            self.assertEqual(Sms._dispatch_queue(batch_size=2, time_budget=60), 3)
        self.assertEqual((progress.done, progress.remaining), (3, 0))
        self.assertEqual([len(batch) for _name, batch in self.gateway_calls], [2, 2, 1])
        self.assertSmsState(sms, "pending")

    def test_rate_limit(self):
        self._create_provider(name="Slow", rate_limit=2)
        self._queue_sms(NUMBERS)
        sleeps = []
        with (
            self.mock_gateway(),
            patch.object(dispatch_module.time, "sleep", side_effect=sleeps.append),
        ):
            self._run_dispatch()
        self.assertEqual([len(batch) for _name, batch in self.gateway_calls], [2, 2, 1])
        self.assertEqual(len(sleeps), 3)
        for waited, expected in zip(sleeps, [1.0, 1.0, 0.5], strict=True):
            self.assertAlmostEqual(waited, expected, delta=0.2)

    def test_no_rate_limit_no_wait(self):
        self._create_provider(name="Fast", rate_limit=0)
        self._queue_sms(NUMBERS)
        with self.mock_gateway(), patch.object(dispatch_module.time, "sleep") as sleep:
            self._run_dispatch()
        self.assertEqual([len(batch) for _name, batch in self.gateway_calls], [5])
        sleep.assert_not_called()
