"""One modem, one writer: the advisory lock holds across database connections
(Odoo workers), not only across threads of one process."""

import threading
import time

from odoo import sql_db
from odoo.tests import tagged

from odoo.addons.sms_mailing.tools.provider import OutgoingMessage, ProviderError
from odoo.addons.sms_mailing.tools.transaction import line_lock

from ..tools.modem_client import ModemClient
from .common import ModemCase


@tagged("post_install", "-at_install")
class TestModemLineLock(ModemCase):
    def _holder(self, held, release, seconds=5):
        """Hold the line lock from another connection until ``release``."""
        with line_lock(self.env.cr.dbname, self.provider.id, wait=5):
            held.set()
            release.wait(seconds)

    def test_open_client_waits_for_the_other_connection(self):
        held, release = threading.Event(), threading.Event()
        holder = threading.Thread(target=self._holder, args=(held, release))
        holder.start()
        try:
            self.assertTrue(held.wait(5))
            self.env["ir.config_parameter"].sudo().set_param(
                "sms_provider_modem.lock_wait_seconds", "0.5"
            )
            with self.assertRaisesRegex(ProviderError, "busy") as caught:
                with self.provider._open_client():
                    pass
            self.assertTrue(caught.exception.transient)
            self.assertEqual(self.modem.commands, [])  # never touched the line
            # a dispatch meanwhile retries later instead of writing
            sms = self._queue_sms(["+33655500211"])
            self._run_dispatch()
            self.assertSmsState(sms, "outgoing")
            self.assertIn("busy", sms.error_message)
        finally:
            release.set()
            holder.join(10)
        with self.provider._open_client() as client:
            self.assertTrue(client.check_availability().available)

    def test_two_dispatchers_never_write_at_once(self):
        """Two sessions, each on its own database connection as two workers
        would have, send through the same modem: the second starts only when
        the first has closed the port, and the line stays clean."""
        dbname = self.env.cr.dbname
        provider_id = self.provider.id
        config = self.provider._get_client_config()
        spans, errors = {}, []
        barrier = threading.Barrier(2)

        def worker(name):
            try:
                barrier.wait(5)
                with line_lock(dbname, provider_id, wait=30):
                    start = time.monotonic()
                    client = ModemClient(config)
                    try:
                        results = client.send(
                            [
                                OutgoingMessage(f"{name}{i}", "+33655500201", body)
                                for i, body in enumerate(
                                    [f"{name} {i} " + "ж" * 80 for i in range(4)]
                                )
                            ]
                        )
                    finally:
                        client.close()
                    spans[name] = (start, time.monotonic())
                if {r.status for r in results} != {"accepted"}:
                    errors.append(results)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        (first_start, first_end), (second_start, second_end) = sorted(spans.values())
        self.assertGreaterEqual(second_start, first_end)
        self.assertEqual(self.modem.errors, [])
        self.assertEqual(len(self.modem.messages()), 8)
        # each session initialised the modem after the other one had finished
        init_positions = [i for i, c in enumerate(self.modem.commands) if c == "ATZ"]
        self.assertEqual(len(init_positions), 2)
        between = self.modem.commands[init_positions[0] : init_positions[1]]
        self.assertEqual(sum(c.startswith("PDU:") for c in between), 8)

    def test_lock_is_released_when_the_holder_fails(self):
        with self.assertRaises(RuntimeError):
            with line_lock(self.env.cr.dbname, self.provider.id, wait=1):
                raise RuntimeError("crash while holding the line")
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            cr.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                (0x534D5347, self.provider.id),
            )
            self.assertTrue(cr.fetchone()[0])
        finally:
            cr.close()
