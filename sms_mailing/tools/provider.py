"""The one provider interface every SMS gateway implements.

Plain Python, no ORM: the ``sms.provider`` model builds a client from its
configuration (``sms.provider._get_client()``) and the core dispatcher only ever
talks to it through the methods below. Provider addons subclass
:class:`SmsProviderClient` and override ``sms.provider._get_client()`` for their
``provider_type``.

Numbers are always E.164 with the leading ``+`` (``+79251234567``); a client that
needs another form converts them itself.
"""

import dataclasses
import datetime

from .exceptions import NotSupported, ProviderError
from .i18n import lazy_translate, translate

_lt = lazy_translate(__name__)

# Outcome of one message handed to a provider.
ACCEPTED = "accepted"  # the provider took it; delivery is reported later
DELIVERED = "delivered"  # the provider already knows it was delivered
TRANSIENT = "transient"  # not sent, may succeed later (timeout, 5xx, busy)
PERMANENT = "permanent"  # not sent and never will be (bad number, no credit...)
# failure_type of a message that may have left (the line or the worker died while
# it was being handed over): it fails, is never resent automatically, and says
# so, so that a person checks before a retry.
FAILURE_IN_DOUBT = "sms_in_doubt"
# failure_type of a message the provider refused because it rejected our
# credentials (API key, login, password): a setting an administrator fixes.
# Odoo would say "Unregistered Account" (sms_acc), which is another problem.
FAILURE_CREDENTIALS = "sms_credentials"
# What Odoo's notifications and mailing traces, which know neither, record.
TRACKER_FAILURE_TYPES = {FAILURE_IN_DOUBT: "unknown", FAILURE_CREDENTIALS: "sms_acc"}

# Odoo ``sms.sms`` states a status update can lead to.
STATE_PENDING = "pending"  # sent, not yet delivered ("Sent" in Odoo)
STATE_DELIVERED = "sent"  # delivered ("Delivered" in Odoo)
STATE_ERROR = "error"


def shared_outcome(err):
    """What the next chunks of a batch get when ``err`` failed a whole request
    of the same provider (they are not tried: the same request would fail,
    each after its own timeout). A request in doubt says nothing of the next
    ones: they were not sent, they wait for the next run.

    >>> shared_outcome(ProviderError("down", transient=True)).message
    'down'
    >>> doubt = ProviderError(
    ...     "no answer", failure_type=FAILURE_IN_DOUBT
    ... )
    >>> shared_outcome(doubt).transient, shared_outcome(doubt).failure_type
    (True, 'sms_server')
    """
    if err.failure_type != FAILURE_IN_DOUBT:
        return err
    return ProviderError(
        _lt(
            "Not sent yet: the provider gave no answer to an earlier request of "
            "the same batch; sent at the next attempt."
        ),
        transient=True,
        failure_type="sms_server",
        lang=err.lang,
    )


@dataclasses.dataclass
class OutgoingMessage:
    key: str  # our own reference, unique in a batch (the sms.sms uuid)
    number: str  # E.164 with "+"
    body: str


@dataclasses.dataclass
class SendResult:
    key: str
    status: str  # ACCEPTED, DELIVERED, TRANSIENT or PERMANENT
    provider_message_id: str | None = None
    failure_type: str | None = None  # Odoo failure_type when not accepted
    error: str | None = None  # a sentence a user understands
    parts: int | None = None  # parts counted by the provider
    cost: float | None = None  # cost reported by the provider


@dataclasses.dataclass
class StatusUpdate:
    provider_message_id: str
    state: str  # STATE_PENDING, STATE_DELIVERED or STATE_ERROR
    final: bool = False  # no further update will come
    failure_type: str | None = None
    error: str | None = None
    cost: float | None = None
    at: datetime.datetime | None = None  # naive UTC
    transient: bool = False  # the status call failed for this id; ask again


@dataclasses.dataclass
class CostEstimate:
    total_cost: float
    total_parts: int
    currency: str | None = None  # ISO code when the provider says it
    per_number: dict = dataclasses.field(default_factory=dict)  # number -> cost


@dataclasses.dataclass
class Balance:
    amount: float | None
    currency: str | None = None
    text: str | None = None  # raw answer when not a number (USSD...)


@dataclasses.dataclass
class Availability:
    available: bool
    message: str  # one sentence for the provider form
    details: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class InboundMessage:
    number: str  # sender, E.164 when the network gives it
    body: str
    received_at: datetime.datetime | None = None  # naive UTC
    provider_message_id: str | None = None


class SmsProviderClient:
    """Base class of provider clients. Override what the gateway supports.

    Class attributes tell the dispatcher how to call the client:

    ``max_batch``: at most this many messages in one :meth:`send` call.
    ``supports_status``: :meth:`statuses` asks the provider for delivery states.
    ``status_batch``: at most this many ids in one :meth:`statuses` call.
    ``max_inflight``: at most this many :meth:`send` calls at once, each on its
    own client instance in its own thread (an HTTP API); 1 for a gateway that
    is one line (a modem) or does not wait on a network.
    ``max_lanes``: at most this many Odoo workers may send through the
    provider at the same time (1 for a modem: one serial line).
    ``one_line``: the gateway takes one user at a time (a serial line): the
    core holds a lock across Odoo workers and servers around each session.
    ``hands_over_itself``: :meth:`send` calls :meth:`handing_over` with the
    keys of the messages it is about to write, immediately before their bytes
    leave (the connection open, the request built: an HTTP body, a modem's
    PDU after its prompt, an SMPP ``submit_sm``), and writes nothing that was
    not handed over. A crash then leaves in doubt only what may have left; a
    client without it has its whole request handed over before :meth:`send`.
    """

    max_batch = 100
    max_inflight = 16
    max_lanes = 16
    one_line = False
    supports_status = False
    status_batch = 100
    hands_over_itself = False
    # Set by the dispatcher for one request: ``on_hand_over([key, ...])``.
    on_hand_over = None

    def __init__(self, config):
        # ``config`` is a plain dict built by ``sms.provider._get_client_config()``
        self.config = dict(config)

    def handing_over(self, keys):
        """The messages ``keys`` are about to leave (see ``hands_over_itself``).

        Returns once their mark is durable; raises when it could not be
        written, and then the client must not write them. Safe from any
        thread of the client's.
        """
        if self.on_hand_over is not None and keys:
            self.on_hand_over(list(keys))

    # -- sending ---------------------------------------------------------
    def send(self, messages):
        """Send ``messages`` (a list of :class:`OutgoingMessage`).

        Returns one :class:`SendResult` per message, in any order, matched by
        ``key``. Raises :class:`ProviderError` when the whole request failed.
        """
        raise NotImplementedError

    def cost(self, numbers, text):
        """Return a :class:`CostEstimate` for ``text`` to ``numbers``.

        Raises :class:`NotSupported` when the provider has no cost API (the
        core then uses the provider's price per part).
        """
        raise NotSupported()

    def balance(self):
        """Return a :class:`Balance`, or raise :class:`NotSupported`."""
        raise NotSupported()

    def check_availability(self):
        """Return an :class:`Availability`. Never raises for a provider fault."""
        return Availability(
            True, self.translate(_lt("No availability check for this provider."))
        )

    # -- delivery --------------------------------------------------------
    def statuses(self, provider_message_ids):
        """Return a list of :class:`StatusUpdate` for the given ids.

        Only called when ``supports_status`` is true.
        """
        raise NotSupported()

    def parse_callback(self, payload):
        """Turn a delivery callback payload into a list of :class:`StatusUpdate`."""
        raise NotSupported()

    # -- inbound ---------------------------------------------------------
    def fetch_inbound(self):
        """Return the :class:`InboundMessage` waiting on the gateway.

        The core stores each once (by ``provider_message_id``), so a message
        returned twice is harmless. A gateway that keeps them until told (a
        modem's SIM) deletes them in its addon, after they are committed.
        """
        raise NotSupported()

    def close(self):
        """Release connections (HTTP sessions, serial ports)."""

    # -- sentences -------------------------------------------------------
    @property
    def lang(self):
        """The language of the sentences this client writes (errors,
        availability): ``config["lang"]``, set by ``sms.provider`` to the
        user's language, or the company's for a scheduled action."""
        return self.config.get("lang") or "en_US"

    def translate(self, text):
        """``text`` (a lazy sentence of the client's module) in :attr:`lang`."""
        return translate(text, self.lang)

    def error(self, message, **kwargs):
        """A :class:`ProviderError` whose ``message`` is in :attr:`lang`."""
        return ProviderError(message, lang=self.lang, **kwargs)
