"""Dispatch lanes, each in its own real transaction, as Odoo cron workers run them.

Like ``test_concurrency``: lanes must see committed data, commit, and hold
session advisory locks on their own connections, so each runs in a thread with
its own real cursor; what the test created is deleted at the end.
"""

import threading
import time

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import tagged

from ..models.sms_sms import IN_DOUBT
from ..tools.dispatch import lane_key
from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestCoreLanes(SmsProviderCase):
    def _real_env(self, cr):
        # The test runner holds the registry lock: hand the loaded registry over.
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})

    def _committed(self, build):
        """Run ``build(env)`` in a committed transaction; remember what to delete."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self._real_env(cr)
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_cron_trigger")
            last_trigger = cr.fetchone()[0]
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM sms_sms")
            last_sms = cr.fetchone()[0]
            result = build(env)
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self._delete_committed, last_trigger, last_sms)
        return result

    def _delete_committed(self, last_trigger, last_sms):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute("DELETE FROM sms_sms WHERE id > %s", [last_sms])
            cr.execute("DELETE FROM sms_mailing WHERE name LIKE 'Lane test%%'")
            cr.execute("DELETE FROM sms_provider WHERE name LIKE 'Lane %%'")
            cr.execute("DELETE FROM ir_cron_trigger WHERE id > %s", [last_trigger])
            cr.commit()  # pylint: disable=invalid-commit

    def _run_lanes(self, count, method="_dispatch_lane"):
        """Run ``count`` lanes at once, each in a thread with its own cursor."""
        barrier = threading.Barrier(count)
        taken, errors = {}, []

        def lane():
            name = threading.current_thread().name
            try:
                with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
                    env = self._real_env(cr)
                    barrier.wait(timeout=10)
                    taken[name] = getattr(env["sms.sms"], method)()
                    cr.commit()  # pylint: disable=invalid-commit
            except Exception as err:  # pylint: disable=broad-except
                errors.append(f"{name}: {err!r}")

        threads = [
            threading.Thread(target=lane, name=f"lane-{index}")
            for index in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse(any(thread.is_alive() for thread in threads))
        self.assertEqual(errors, [])
        return taken

    def _states(self, sms_ids):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "SELECT number, state, failure_type, error_message, attempts"
                " FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
                [sms_ids],
            )
            return cr.fetchall()

    def test_a_slow_provider_does_not_delay_a_fast_one(self):
        slow_numbers = [f"+7925123456{index}" for index in range(3)]
        fast_numbers = [f"+336123456{index:02d}" for index in range(30)]

        def build(env):
            env["sms.provider"].create(
                [
                    {
                        "name": "Lane slow",
                        "provider_type": "demo",
                        "number_prefixes": "+7",
                        "company_id": False,
                    },
                    {"name": "Lane fast", "provider_type": "demo", "company_id": False},
                ]
            )
            # The slow provider's messages come first in the queue.
            return (
                env["sms.sms"]
                .create(
                    [
                        {"number": number, "body": "hi", "state": "outgoing"}
                        for number in slow_numbers + fast_numbers
                    ]
                )
                .ids
            )

        sms_ids = self._committed(build)
        handed = {}  # number -> (provider, monotonic time when handed over)

        def outcome(name, message):
            handed[message.number] = (name, time.monotonic())
            if name == "Lane slow":
                time.sleep(1.0)  # a modem: seconds per message

        started = time.monotonic()
        with self.mock_gateway(outcome=outcome):
            self._run_lanes(2)
        elapsed = time.monotonic() - started

        self.assertEqual(
            {number: name for number, (name, _at) in handed.items()},
            dict.fromkeys(slow_numbers, "Lane slow")
            | dict.fromkeys(fast_numbers, "Lane fast"),
        )
        second_slow = sorted(at for name, at in handed.values() if name == "Lane slow")[
            1
        ]
        last_fast = max(at for name, at in handed.values() if name == "Lane fast")
        self.assertLess(
            last_fast,
            second_slow,
            "the fast provider's messages waited for the slow provider",
        )
        self.assertGreaterEqual(elapsed, 3.0)
        states = self._states(sms_ids)
        self.assertEqual({state for _n, state, *_rest in states}, {"pending"})
        self.assertEqual({attempts for *_rest, attempts in states}, {1})

    def _dying_worker(self, provider_id, slot, count, hand_over):
        """A lane worker on a connection of its own: it locks its lane, claims
        ``count`` messages (committed) and, when ``hand_over``, marks their
        request as handed over (committed, as just before the request leaves).
        Returns ``(its cursor, the ids it claimed)``; see :meth:`_kill`."""
        worker = sql_db.db_connect(self.env.cr.dbname).cursor()
        env = self._real_env(worker)
        Sms = env["sms.sms"]
        key = lane_key(provider_id, slot)
        self.assertTrue(Sms._try_lane_lock(key))
        provider = env["sms.provider"].browse(provider_id)
        rows = Sms._claim_batch(provider, key, count)
        worker.commit()  # pylint: disable=invalid-commit
        if hand_over:
            Sms._hand_over(rows, commit=False)
            worker.commit()  # pylint: disable=invalid-commit
        return worker, [row.id for row in rows]

    def _kill(self, worker):
        """The worker dies: its connection closes, its lane lock goes.

        PostgreSQL ends the server process (and frees its advisory locks) a
        moment after the client closed the connection: wait until it is gone,
        as a lane that runs a minute after a real crash would find it."""
        worker.execute("SELECT pg_backend_pid()")
        pid = worker.fetchone()[0]
        connection = worker._cnx
        worker.close()
        connection.close()
        deadline = time.monotonic() + 30
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            while time.monotonic() < deadline:
                cr.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                if not cr.fetchone():
                    return
                cr.rollback()
                time.sleep(0.05)
        self.fail(f"the killed worker's server process {pid} did not end")

    def test_claims_made_before_a_database_crash_are_in_doubt(self):
        """A hand-over is committed without waiting for the disk: a crash of
        PostgreSQL may lose it. Messages claimed before PostgreSQL recovered
        from a crash are in doubt, marked or not: never sent twice; those
        claimed after are exact again."""

        def build(env):
            provider = env["sms.provider"].create(
                {"name": "Lane restart", "provider_type": "demo", "company_id": False}
            )
            sms = env["sms.sms"].create(
                [
                    {"number": f"+3361234570{index}", "body": "hi", "state": "outgoing"}
                    for index in range(4)
                ]
            )
            env["sms.sms"]._route_queue({False}, {})
            return provider.id, sms.ids

        provider_id, sms_ids = self._committed(build)
        worker, claimed = self._dying_worker(provider_id, 0, 2, False)
        # PostgreSQL crashes: its recovery empties the UNLOGGED epoch table
        # (the hand-overs committed without waiting for the disk may be lost).
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute("DELETE FROM sms_dispatch_epoch")
            cr.commit()  # pylint: disable=invalid-commit
        self._kill(worker)
        later, claimed_later = self._dying_worker(provider_id, 1, 1, False)
        self._kill(later)
        self.assertEqual((claimed, claimed_later), (sms_ids[:2], sms_ids[2:3]))
        with self.mock_gateway():
            self._run_lanes(1)
        # Claimed before the crash: in doubt. Claimed after it (a claim writes
        # the epoch again): queued again and sent, with the fourth.
        states = self._states(sms_ids)
        for _number, state, failure_type, _error, attempts in states[:2]:
            self.assertEqual((state, failure_type, attempts), ("error", IN_DOUBT, 1))
        self.assertEqual(sorted(self.sent_numbers), ["+33612345702", "+33612345703"])
        self.assertEqual([s[1] for s in states[2:]], ["pending", "pending"])

    def test_a_dead_worker_resends_only_what_never_left(self):
        def build(env):
            provider = env["sms.provider"].create(
                {
                    "name": "Lane doubt",
                    "provider_type": "demo",
                    "company_id": False,
                    "dispatch_lanes": 3,
                }
            )
            mailing = env["sms.mailing"].create(
                {
                    "name": "Lane test mailing",
                    "body": "hi",
                    "state": "sending",
                    "audience_done": True,
                }
            )
            sms = env["sms.sms"].create(
                [
                    {
                        "number": f"+3361234560{index}",
                        "body": "hi",
                        "state": "outgoing",
                        "sms_mailing_id": mailing.id,
                    }
                    for index in range(5)
                ]
            )
            env["sms.sms"]._route_queue({False}, {})
            return provider.id, mailing.id, sms.ids

        provider_id, mailing_id, sms_ids = self._committed(build)
        # Worker A claims two messages and is killed before it sends them;
        # worker B claims the next two, hands their request over (it may
        # have reached the provider) and is killed before the answer.
        killed_before_send, claimed_a = self._dying_worker(provider_id, 0, 2, False)
        killed_after_handover, claimed_b = self._dying_worker(provider_id, 1, 2, True)
        try:
            self.assertEqual((claimed_a, claimed_b), (sms_ids[:2], sms_ids[2:4]))
            with self.mock_gateway():
                self._run_lanes(1)
            # ... while they are alive, their messages are left alone: the
            # fifth one is sent by the provider's third lane.
            self.assertEqual(self.sent_numbers, ["+33612345604"])
            self.assertEqual(
                [state for _n, state, *_rest in self._states(sms_ids)],
                ["process"] * 4 + ["pending"],
            )
        finally:
            self._kill(killed_before_send)
            self._kill(killed_after_handover)

        with self.mock_gateway():
            self._run_lanes(1)
            self._run_lanes(1)
        # A's messages never left: sent after the recovery, once each (the
        # fifth was sent before); B's were never sent again.
        self.assertEqual(
            sorted(self.sent_numbers), ["+33612345600", "+33612345601", "+33612345604"]
        )
        states = self._states(sms_ids)
        for _number, state, failure_type, _error, attempts in states[:2]:
            self.assertEqual((state, failure_type, attempts), ("pending", None, 1))
        # B's may have reached the provider: in doubt, never resent.
        for _number, state, failure_type, error, attempts in states[2:4]:
            self.assertEqual((state, failure_type, attempts), ("error", IN_DOUBT, 1))
            self.assertIn("it may have been sent", error)
            self.assertIn("check with the provider", error)
        self.assertEqual(states[4][1], "pending")

        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self._real_env(cr)
            env["sms.mailing"]._cron_process(time_budget=30)
            mailing = env["sms.mailing"].browse(mailing_id)
            self.assertEqual(mailing.state, "done")
            self.assertEqual(
                (mailing.sent_count, mailing.failed_count, mailing.queued_count),
                (3, 2, 0),
            )
            # The mailing tells how many may have been sent, and lists them.
            self.assertEqual(mailing.in_doubt_count, 2)
            in_doubt = env["sms.sms"].search(mailing.action_view_in_doubt()["domain"])
            self.assertEqual(sorted(in_doubt.ids), sms_ids[2:4])
            cr.rollback()
