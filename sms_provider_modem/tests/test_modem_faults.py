"""Line faults during a dispatch: the message in flight is in doubt (failed
with a clear reason, never sent again by itself), the others wait and go out
on the next run once the line is back, the advisory lock is released and the
dispatch ends within one modem timeout per fault."""

import time
from datetime import timedelta

from odoo import fields, sql_db
from odoo.tests import tagged

from odoo.addons.sms_mailing.tools.transaction import LINE_LOCK_NAMESPACE

from .common import ModemCase
from .fake_modem import FakeModem

NUMBERS = [f"+336555002{i:02d}" for i in range(3)]


@tagged("post_install", "-at_install")
class TestModemFaults(ModemCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider.write({"modem_timeout": 1, "max_attempts": 5})

    # -- helpers ------------------------------------------------------------
    def assertLineFree(self):
        """Another connection (another worker) can take the modem's lock."""
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            cr.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                (LINE_LOCK_NAMESPACE, self.provider.id),
            )
            self.assertTrue(cr.fetchone()[0], "the modem line is still locked")
        finally:
            cr.close()

    def _dispatch_timed(self):
        started = time.monotonic()
        self._run_dispatch()
        return time.monotonic() - started

    def _make_due(self, sms):
        """The retry delay has passed."""
        sms.write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})

    def _handed_over(self, sms):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT handed_over FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
            [sms.ids],
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def assertInDoubt(self, sms):
        self.assertSmsState(sms, "error", failure_type="sms_in_doubt")
        self.assertIn("may have been sent", sms.error_message)
        self.assertIn("not sent again", sms.error_message)

    def _fault_then_recover(self, after_submit):
        sms = self._queue_sms(NUMBERS)
        self.modem.fault(after_submit=after_submit)
        elapsed = self._dispatch_timed()
        self.assertLess(elapsed, 2 * self.provider.modem_timeout + 3)
        self.assertLineFree()
        first, others = sms[0], sms[1:]
        self.assertEqual([s.number for s in self.modem.sent], NUMBERS[:1])
        self.assertInDoubt(first)
        self.assertSmsState(others, "outgoing")
        self.assertIn("the modem line failed", others[0].error_message)
        self.assertTrue(all(s.next_attempt_at for s in others))
        # The modem hands messages over one by one, just before writing their
        # PDU: only the first one may have left. Had the worker died at that
        # moment, the others would have gone back to the queue, not in doubt.
        self.assertEqual(self._handed_over(sms), [True, False, False])

        # the line comes back; the next run recovers it and sends the others
        self.modem.fault()
        self._make_due(others)
        self._run_dispatch()
        self.assertSmsState(others, "pending", provider=self.provider)
        self.assertInDoubt(first)  # still waiting for a person's decision
        self.assertEqual(
            sorted(s.number for s in self.modem.sent), sorted(NUMBERS)
        )  # each exactly once
        self.assertLineFree()
        return sms

    # -- tests -------------------------------------------------------------
    def test_modem_stops_answering_after_the_pdu(self):
        self._fault_then_recover("silent")

    def test_modem_answers_garbage_after_the_pdu(self):
        self._fault_then_recover("garbage")

    def test_line_drops_in_the_middle_of_cmgs(self):
        """A modem on the network (socket://, ser2net) hangs up after it took
        the PDU; the next run connects again."""
        remote = FakeModem(transport="socket").start()
        self.addCleanup(remote.stop)
        self.modem = remote
        self.provider.modem_port = remote.port
        self._fault_then_recover("drop")
        self.assertEqual(remote.drops, 1)

    def test_retry_of_an_in_doubt_message_is_a_persons_decision(self):
        sms = self._fault_then_recover("silent")
        sms[0].action_retry()
        self._run_dispatch()
        self.assertSmsState(sms[0], "pending")
        self.assertEqual(
            [s.number for s in self.modem.sent].count(NUMBERS[0]), 2
        )  # sent again only because someone asked

    def test_dead_modem_costs_one_timeout_per_dispatch(self):
        """45 messages are 3 sessions of 20: a modem that answers nothing is
        given up once, not once per session, and the batch waits."""
        sms = self._queue_sms([f"+3365550{i:04d}" for i in range(45)])
        self.modem.fault(dead=True)
        elapsed = self._dispatch_timed()
        self.assertLess(elapsed, self.provider.modem_timeout + 3)
        # one session tried the line (one resync "AT"), the two others waited
        self.assertEqual(bytes(self.modem.raw).count(b"AT\r"), 1)
        self.assertNotIn(b"ATZ", bytes(self.modem.raw))
        self.assertSmsState(sms, "outgoing")
        self.assertIn("does not answer", sms[0].error_message)
        self.assertLineFree()
        self.modem.fault()
        self._make_due(sms)
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        self.assertEqual(len(self.modem.sent), 45)

    def test_sim_memory_full_on_send_is_retried_not_in_doubt(self):
        sms = self._queue_sms(NUMBERS[:1])
        self.modem.send_errors = [322]
        self._run_dispatch()
        self.assertSmsState(sms, "outgoing")
        self.assertIn("Memory full", sms.error_message)
        self._make_due(sms)
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        self.assertEqual(len(self.modem.sent), 1)

    def test_full_sim_is_emptied_by_the_poll(self):
        """A SIM full of received messages takes new ones after a poll:
        every message is stored in Odoo and deleted from the SIM once
        committed."""
        self.modem.capacity = 10
        self.modem.fill_sim()
        inbound, _updated = self._poll()
        self.assertEqual(len(inbound), 10)
        self._commit_hooks()
        self.assertEqual(self.modem.sim(), [])
        self.modem.receive("+33622222222", "after the cleanup")
        inbound, _updated = self._poll()
        self.assertEqual(inbound.mapped("body"), ["after the cleanup"])
