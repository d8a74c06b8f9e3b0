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
from ..tools.dispatch import LANE_LOCK_NAMESPACE, LANE_SLOTS
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

    def test_in_doubt_after_a_dead_worker(self):
        def build(env):
            provider = env["sms.provider"].create(
                {"name": "Lane doubt", "provider_type": "demo", "company_id": False}
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
                    for index in range(3)
                ]
            )
            return provider.id, mailing.id, sms.ids

        provider_id, mailing_id, sms_ids = self._committed(build)
        key = provider_id * LANE_SLOTS  # the provider's first lane
        # A worker claims two messages, commits them as being sent and holds
        # its lane's lock while it talks to the provider...
        worker = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            worker.execute(
                "SELECT pg_advisory_lock(%s, %s)", [LANE_LOCK_NAMESPACE, key]
            )
            worker.execute(
                "UPDATE sms_sms SET state = 'process', dispatch_lock = %s,"
                " attempts = 1, process_started_at = now() at time zone 'UTC',"
                " route_provider_id = %s WHERE id = ANY(%s)",
                [key, provider_id, sms_ids[:2]],
            )
            worker.commit()  # pylint: disable=invalid-commit

            with self.mock_gateway():
                self._run_lanes(1)
            # ... it is alive: its messages are left alone, the third one is
            # sent by another lane of the provider.
            self.assertEqual(self.sent_numbers, ["+33612345602"])
            states = self._states(sms_ids)
            self.assertEqual(
                [state for _n, state, *_rest in states],
                ["process", "process", "pending"],
            )
        finally:
            # ... and dies: its connection and its lock are gone.
            worker.close()

        with self.mock_gateway():
            self._run_lanes(1)
            self._run_lanes(1, method="_dispatch_queue")
        self.assertEqual(self.sent_numbers, ["+33612345602"], "never sent twice")
        states = self._states(sms_ids)
        for _number, state, failure_type, error, attempts in states[:2]:
            self.assertEqual((state, failure_type, attempts), ("error", IN_DOUBT, 1))
            self.assertIn("it may have been sent", error)
            self.assertIn("check with the provider", error)
        self.assertEqual(states[2][1], "pending")

        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self._real_env(cr)
            env["sms.mailing"]._cron_process(time_budget=30)
            mailing = env["sms.mailing"].browse(mailing_id)
            self.assertEqual(mailing.state, "done")
            self.assertEqual(
                (mailing.sent_count, mailing.failed_count, mailing.queued_count),
                (1, 2, 0),
            )
            cr.rollback()
