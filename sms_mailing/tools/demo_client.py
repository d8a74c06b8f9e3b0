"""The simulated provider: nothing ever leaves the machine.

Every valid number is accepted and reported delivered by the status poll; an
invalid number fails permanently. ``_transmit`` and ``_transmit_status`` stand
where a real client talks to its gateway: tests replace them to script outcomes.
"""

import uuid

from . import phone, segments
from .i18n import lazy_translate
from .provider import (
    ACCEPTED,
    PERMANENT,
    STATE_DELIVERED,
    Availability,
    SendResult,
    SmsProviderClient,
    StatusUpdate,
)

_lt = lazy_translate(__name__)


class DemoClient(SmsProviderClient):
    max_batch = 500
    max_inflight = 1  # nothing to wait for: no thread would help
    supports_status = True
    status_batch = 500

    def send(self, messages):
        return self._transmit(messages)

    def _transmit(self, messages):
        results = []
        for message in messages:
            e164, error = phone.normalize(message.number)
            if error:
                results.append(
                    SendResult(
                        message.key,
                        PERMANENT,
                        failure_type=error,
                        error=self.translate(
                            _lt(
                                "%(number)s is not a valid phone number.",
                                number=message.number,
                            )
                        ),
                    )
                )
                continue
            results.append(
                SendResult(
                    message.key,
                    ACCEPTED,
                    provider_message_id="demo-" + uuid.uuid4().hex[:16],
                    parts=segments.analyze(message.body).parts,
                )
            )
        return results

    def statuses(self, provider_message_ids):
        return self._transmit_status(provider_message_ids)

    def _transmit_status(self, provider_message_ids):
        return [
            StatusUpdate(pid, STATE_DELIVERED, final=True)
            for pid in provider_message_ids
        ]

    def check_availability(self):
        return Availability(
            True,
            self.translate(
                _lt(
                    "Simulated provider: messages never leave this machine and are "
                    "reported delivered."
                )
            ),
        )
