"""Test toolkit for the SMS addons.

``SmsProviderCase`` creates providers and contacts and runs the dispatcher;
``mock_gateway()`` stands in for the simulated provider's gateway (its
``_transmit`` / ``_transmit_status`` entry points, nothing of our logic) to
script outcomes and record exactly what was handed to it.
"""

import contextlib
import random
import uuid
from unittest.mock import patch

from odoo.tests import TransactionCase
from odoo.tools import SQL

from ..tools import provider as api
from ..tools.demo_client import DemoClient


class SmsProviderCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        # Start from a clean slate: no provider of the database takes part.
        cls.env["sms.provider"].search([]).write({"active": False})
        cls.country_fr = cls.env.ref("base.fr")
        cls.country_ru = cls.env.ref("base.ru")

    def setUp(self):
        super().setUp()
        self.gateway_calls = []  # one entry per call: (provider name, [(number, body)])
        self.status_calls = []

    # -- records ----------------------------------------------------------
    def _create_provider(self, **vals):
        values = {"name": f"Provider {uuid.uuid4().hex[:6]}", "provider_type": "demo"}
        values.update(vals)
        return self.env["sms.provider"].create(values)

    def _create_partner(self, name, mobile=None, **vals):
        values = {"name": name, "mobile": mobile}
        values.update(vals)
        return self.env["res.partner"].create(values)

    def _queue_sms(self, numbers, body="Hello", **vals):
        return self.env["sms.sms"].create(
            [
                dict({"number": n, "body": body, "state": "outgoing"}, **vals)
                for n in numbers
            ]
        )

    def _run_dispatch(self, **kwargs):
        kwargs.setdefault("time_budget", 120)
        return self.env["sms.sms"]._dispatch_queue(**kwargs)

    # -- gateway double ---------------------------------------------------
    @contextlib.contextmanager
    def mock_gateway(self, outcome=None, status=None):
        """Replace the simulated gateway.

        ``outcome(provider_name, message)`` returns ``None`` (accepted), a
        ``SendResult`` status constant, a ``(status, failure_type)`` tuple, or
        raises ``ProviderError`` for the whole request.
        ``status(provider_message_id)`` returns a ``StatusUpdate`` or ``None``.
        """
        case = self

        def _transmit(client, messages):
            name = client.config["name"]
            case.gateway_calls.append((name, [(m.number, m.body) for m in messages]))
            results = []
            for message in messages:
                answer = outcome(name, message) if outcome else None
                if isinstance(answer, tuple):
                    answer, failure_type = answer
                else:
                    failure_type = None
                if answer in (None, api.ACCEPTED, api.DELIVERED):
                    results.append(
                        api.SendResult(
                            message.key,
                            answer or api.ACCEPTED,
                            provider_message_id=f"{name}-{message.number}-{uuid.uuid4().hex[:6]}",
                        )
                    )
                else:
                    results.append(
                        api.SendResult(
                            message.key,
                            answer,
                            failure_type=failure_type
                            or ("sms_server" if answer == api.TRANSIENT else "unknown"),
                            error=f"{name} says {answer}",
                        )
                    )
            return results

        def _transmit_status(client, ids):
            case.status_calls.append(list(ids))
            updates = []
            for pid in ids:
                update = (
                    status(pid)
                    if status
                    else api.StatusUpdate(pid, api.STATE_DELIVERED, final=True)
                )
                if update:
                    updates.append(update)
            return updates

        with (
            patch.object(DemoClient, "_transmit", _transmit),
            patch.object(DemoClient, "_transmit_status", _transmit_status),
        ):
            yield

    @property
    def sent_numbers(self):
        return [
            number for _name, batch in self.gateway_calls for number, _body in batch
        ]

    # -- assertions -------------------------------------------------------
    def assertSmsState(self, sms, state, failure_type=None, provider=None):
        sms.invalidate_recordset()
        for record in sms:
            self.assertEqual(
                record.state, state, f"{record.number}: {record.error_message}"
            )
            if failure_type is not None:
                self.assertEqual(record.failure_type, failure_type)
            if provider is not None:
                self.assertEqual(record.provider_id, provider)


class HostileRequestsMixin:
    """Hostile requests against public routes, for an ``HttpCase``.

    ``hostile_requests(path)`` builds a fixed, seeded list of requests to one
    path: random and oversized bodies, malformed forms and multiparts, odd
    methods, content types and encodings, thousands of fields.
    ``hostile_paths(template, **valid)`` gives variants of a route's URL
    (ids out of range, negative, non-numeric, long or odd tokens).
    ``assertRefusesHostileRequests(requests)`` sends them and checks that each
    gets a 4xx answer (or one of ``allowed``), that no ERROR is logged (no
    traceback) and that the records of ``hostile_watched_models`` did not
    change. Opt-out pages, short links or any public route can use it::

        class TestMyRoute(HttpCase, HostileRequestsMixin):
            def test_hostile(self):
                paths = self.hostile_paths("/r/{code}", code="abc123")
                self.assertRefusesHostileRequests(
                    [r for p in paths for r in self.hostile_requests(p)]
                )
    """

    hostile_watched_models = ("sms.sms", "sms.provider", "res.partner")
    hostile_seed = 20261127

    # -- building requests ------------------------------------------------
    def hostile_paths(self, template, **valid):
        """``template`` formatted with each argument replaced by bad values
        in turn (the others keep their valid value)."""
        bad_values = [
            "0",
            "-1",
            "2147483648",  # one more than PostgreSQL's integer
            "9" * 40,
            "abc",
            "%00",
            "..%2F..%2Fetc%2Fpasswd",
            "x" * 300,
            "%FF%FE",
            "%E2%80%AE",  # right-to-left override
            "'%20OR%201=1--",
        ]
        paths = []
        for name in valid:
            for value in bad_values:
                if value == "%00" and str(valid[name]).isdigit():
                    # A NUL where the route wants a number matches no route;
                    # Odoo's own 404 fallback then looks for an attachment by
                    # that URL and PostgreSQL logs an ERROR (not ours to fix).
                    continue
                paths.append(template.format(**dict(valid, **{name: value})))
        return paths

    def hostile_requests(self, path, form_key="data[]"):
        """Requests as ``(label, method, path, kwargs for requests)``."""
        rng = random.Random(f"{self.hostile_seed}:{path}")

        def junk(size):
            return bytes(rng.getrandbits(8) for _i in range(size))

        text = "".join(
            rng.choice("sms_status\n0123456789-\r\x00é€;&=%[]") for _i in range(300)
        )
        requests = [
            ("get", "GET", {}),
            ("put", "PUT", {"data": "x"}),
            ("delete", "DELETE", {}),
            ("patch", "PATCH", {"data": "x"}),
            ("random bytes", "POST", {"data": junk(2000)}),
            (
                "random bytes as a form",
                "POST",
                {
                    "data": junk(2000),
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                },
            ),
            (
                "broken multipart",
                "POST",
                {
                    "data": b"--xx\r\nContent-Disposition: form-data; "
                    + f'name="{form_key}"\r\n\r\n'.encode()
                    + junk(100),
                    "headers": {"Content-Type": "multipart/form-data; boundary=xx"},
                },
            ),
            (
                "multipart without boundary",
                "POST",
                {"data": junk(50), "headers": {"Content-Type": "multipart/form-data"}},
            ),
            (
                "json",
                "POST",
                {
                    "data": '{"data": [' + '{"a":' * 200 + "1" + "}" * 200 + "]}",
                    "headers": {"Content-Type": "application/json"},
                },
            ),
            ("invalid percent-encoding", "POST", {"data": f"{form_key}=%ZZ%&%%%=&"}),
            (
                "not UTF-8",
                "POST",
                {"data": f"{form_key}=".encode() + b"\xff\xfe\xc3\x28"},
            ),
            ("random text entry", "POST", {"data": {form_key: text}}),
            ("query string", "GET", {"params": {form_key: text}}),
            (
                "oversized",
                "POST",
                {"data": {form_key: "sms_status\n1\n103\n" + "9" * (3 * 1024 * 1024)}},
            ),
            (
                "thousands of fields",
                "POST",
                {
                    "data": [
                        (f"{form_key}", f"sms_status\n{i}\n103") for i in range(5000)
                    ]
                },
            ),
            (
                "odd headers",
                "POST",
                {
                    "data": {form_key: "x"},
                    "headers": {
                        "Content-Type": "text/plain; charset=unknown-8bit",
                        "X-Forwarded-For": "127.0.0.1, ' OR 1=1",
                        "Host": "evil.example.com",
                    },
                },
            ),
        ]
        return [(label, method, path, kwargs) for label, method, kwargs in requests]

    # -- checking -----------------------------------------------------------
    def _hostile_fingerprint(self):
        fingerprint = {}
        for model_name in self.hostile_watched_models:
            model = self.env[model_name]
            model.flush_model()
            self.env.cr.execute(
                SQL(
                    "SELECT count(*), max(write_date), md5(string_agg(id::text || "
                    "coalesce(write_date::text, ''), ',' ORDER BY id)) FROM %s",
                    SQL.identifier(model._table),
                )
            )
            fingerprint[model_name] = self.env.cr.fetchone()
        return fingerprint

    def assertRefusesHostileRequests(self, requests, allowed=()):
        """Each request: a 4xx (or an ``allowed`` status), no ERROR logged,
        no record of ``hostile_watched_models`` created, changed or deleted."""
        before = self._hostile_fingerprint()
        for label, method, path, kwargs in requests:
            with self.subTest(request=label, path=path[:80]):
                with self.assertNoLogs(level="ERROR"):
                    response = self.opener.request(
                        method, self.base_url() + path, timeout=30, **kwargs
                    )
                self.assertTrue(
                    400 <= response.status_code < 500
                    or response.status_code in allowed,
                    f"{method} {path[:80]} ({label}): HTTP {response.status_code}",
                )
        self.env.invalidate_all()
        self.assertEqual(self._hostile_fingerprint(), before, "the database changed")
