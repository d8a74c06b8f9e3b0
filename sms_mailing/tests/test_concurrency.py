"""Two dispatchers at once, each in its own real transaction: no double send.

The test transaction cannot be used here: the dispatchers must see committed
data and commit per batch as they do in production. Each thread therefore gets
its own real cursor (``sql_db.db_connect``, never the registry's test cursor),
and everything the test created is deleted and committed at the end.
"""

import collections
import threading
import time

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import tagged

from .common import SmsProviderCase

MESSAGES = 60
BATCH = 5


@tagged("post_install", "-at_install")
class TestCoreConcurrentDispatch(SmsProviderCase):
    def _real_env(self, cr):
        # The test runner holds the registry lock: Environment() would wait for
        # it in ``Registry(dbname)``; hand the loaded registry over instead.
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})

    def _create_committed_data(self):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self._real_env(cr)
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_cron_trigger")
            last_trigger = cr.fetchone()[0]
            provider = env["sms.provider"].create(
                {"name": "Concurrent", "provider_type": "demo", "company_id": False}
            )
            sms = env["sms.sms"].create(
                [
                    {
                        "number": f"+336123456{index:02d}",
                        "body": f"message {index}",
                        "state": "outgoing",
                    }
                    for index in range(MESSAGES)
                ]
            )
            cr.commit()  # pylint: disable=invalid-commit
            return provider.id, sms.ids, last_trigger

    def _delete_committed_data(self, provider_id, sms_ids, last_trigger):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute("DELETE FROM sms_sms WHERE id = ANY(%s)", [sms_ids])
            cr.execute("DELETE FROM sms_provider WHERE id = %s", [provider_id])
            cr.execute("DELETE FROM ir_cron_trigger WHERE id > %s", [last_trigger])
            cr.commit()  # pylint: disable=invalid-commit

    def _dispatcher(self, barrier, taken, errors):
        name = threading.current_thread().name
        try:
            with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
                env = self._real_env(cr)
                barrier.wait(timeout=10)
                taken[name] = env["sms.sms"]._dispatch_queue(
                    batch_size=BATCH, time_budget=60
                )
                cr.commit()  # pylint: disable=invalid-commit
        except Exception as err:  # pylint: disable=broad-except
            errors.append(f"{name}: {err!r}")

    def test_two_dispatchers_never_send_a_message_twice(self):
        provider_id, sms_ids, last_trigger = self._create_committed_data()
        try:
            handed = []  # (thread name, body): list.append is thread safe

            def outcome(name, message):
                handed.append((threading.current_thread().name, message.body))
                time.sleep(0.003)  # a slow gateway makes both threads overlap

            barrier = threading.Barrier(2)
            taken, errors = {}, []
            with self.mock_gateway(outcome=outcome):
                threads = [
                    threading.Thread(
                        target=self._dispatcher,
                        args=(barrier, taken, errors),
                        name=f"dispatcher-{index}",
                    )
                    for index in range(2)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
                self.assertFalse(any(thread.is_alive() for thread in threads))
            self.assertEqual(errors, [])

            counts = collections.Counter(body for _thread, body in handed)
            twice = sorted(body for body, count in counts.items() if count > 1)
            self.assertEqual(twice, [], "messages handed to the gateway twice")
            self.assertEqual(
                set(counts), {f"message {index}" for index in range(MESSAGES)}
            )
            self.assertEqual(len(handed), MESSAGES)
            self.assertEqual(sum(taken.values()), MESSAGES)
            by_thread = collections.Counter(thread for thread, _body in handed)
            self.assertEqual(
                len(by_thread), 2, f"both dispatchers must take work: {by_thread}"
            )
            self.assertTrue(
                all(len(batch) <= BATCH for _name, batch in self.gateway_calls)
            )

            with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
                cr.execute(
                    "SELECT state, provider_id, attempts, count(*) FROM sms_sms"
                    " WHERE id = ANY(%s) GROUP BY 1, 2, 3",
                    [sms_ids],
                )
                self.assertEqual(cr.fetchall(), [("pending", provider_id, 1, MESSAGES)])
        finally:
            self._delete_committed_data(provider_id, sms_ids, last_trigger)
