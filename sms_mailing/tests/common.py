"""Test toolkit for the SMS addons.

``SmsProviderCase`` creates providers and contacts and runs the dispatcher;
``mock_gateway()`` stands in for the simulated provider's gateway (its
``_transmit`` / ``_transmit_status`` entry points, nothing of our logic) to
script outcomes and record exactly what was handed to it.
"""

import contextlib
import uuid
from unittest.mock import patch

from odoo.tests import TransactionCase

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
