"""SMPP 3.4 client of the provider interface.

Plain Python, no ORM: ``sms.provider._get_client()`` builds it from the
provider's configuration. PDUs are encoded and decoded with smpplib's PDU
classes; :mod:`.smpp_session` owns the socket (one entry point,
:meth:`Session._read` and :meth:`Session._write`) so that one bind keeps a
*window* of submit_sm waiting for their submit_sm_resp, which smpplib's own
synchronous client cannot; :mod:`.smpp_lane` holds the bind a lane shares.

The clients a lane opens (one per thread of the core's dispatcher) share one
bind, a :class:`LaneSession`: a thread of its own binds as transceiver, submits
the messages of every send() call with registered delivery (at most
``window`` waiting for their submit_sm_resp at once, spaced by the rate limit),
collects the delivery receipts and MO messages that arrive on the bind
meanwhile (acknowledged at once), answers enquire_link, and unbinds when the
lane closes its clients. A send() outside a lane has a bind of its own.
Outcomes:

- every part accepted: ACCEPTED, the provider reference is the first part's
  message id (the others are kept in :attr:`SmppClient.part_ids`);
- ESME_RTHROTTLED / ESME_RMSGQFUL: the same part is submitted again after a
  growing pause, the window halved, never dropped (TRANSIENT only when the
  SMSC keeps refusing past ``throttle_budget`` seconds);
- another command_status: that message fails with a sentence (permanent or
  temporary by the code);
- no submit_sm_resp (connection lost, SMSC silent past ``timeout``): *Maybe
  sent* (failure type ``sms_in_doubt``), never resent; messages not yet
  submitted are TRANSIENT (sent at the next attempt);
- a bind refused: a :class:`ProviderError` (the lane stops, the provider
  form says why).
"""

import datetime
import logging
import time

from odoo.addons.sms_mailing.tools.provider import (
    FAILURE_IN_DOUBT,
    PERMANENT,
    TRANSIENT,
    Availability,
    InboundMessage,
    ProviderError,
    SendResult,
    SmsProviderClient,
    StatusUpdate,
)

from . import smpp as codec
from .smpp import _lt

# The bind session and the lane's thread live in modules of their own; their
# names stay importable from here.
from .smpp_lane import LaneSession, _Batch, _reason  # noqa: F401
from .smpp_session import (  # noqa: F401
    _SEQ,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    ENQUIRE_LINK_INTERVAL,
    ESME_ROK,
    INTERFACE_VERSION,
    THROTTLE_BUDGET,
    BindRefused,
    Session,
    SessionLost,
    _Raw,
    _Seq,
    _str,
)

_logger = logging.getLogger(__name__)


def _connect_error(session, err):
    """The sentence of a connection to the SMSC that could not be opened or
    bound (``err``: :class:`SessionLost`), without the system's own text
    when the cause is known."""
    host, port = session.host, session.port
    if err.kind == "refused":
        return _lt(
            "The SMSC %(host)s:%(port)s refused the connection: check the host "
            "and the port on the provider, and that the SMSC is running. "
            "Trying again later.",
            host=host,
            port=port,
        )
    if err.kind == "unknown_host":
        return _lt(
            "The SMSC's host %(host)s is unknown: check its name on the provider "
            "(or the server's DNS). Trying again later.",
            host=host,
        )
    if err.kind == "timeout":
        return _lt(
            "The SMSC %(host)s:%(port)s did not answer within %(seconds)s "
            "seconds (network or firewall). Trying again later.",
            host=host,
            port=port,
            seconds=format(session.timeout, "g"),
        )
    if err.kind == "tls":
        return _lt(
            "The TLS connection to the SMSC %(host)s:%(port)s failed "
            "(%(reason)s): check the TLS option and the port on the provider. "
            "Trying again later.",
            host=host,
            port=port,
            reason=str(err),
        )
    return _lt(
        "The SMSC %(host)s:%(port)s did not answer (%(reason)s); trying again later.",
        host=host,
        port=port,
        reason=str(err),
    )


class SmppClient(SmsProviderClient):
    """An SMPP account (SMSC, aggregator, or a gateway such as Jasmin)."""

    # A lane's threads each send a chunk of ``max_batch`` messages on the
    # lane's one bind (LaneSession), whose window is ``inflight_requests``.
    max_inflight = 32
    max_batch = 20
    max_lanes = 16
    hands_over_itself = True  # each message just before its first submit_sm

    def __init__(self, config):
        super().__init__(config)
        self.window = max(1, int(config.get("window") or 1))
        self.rate = float(config.get("rate_limit") or 0.0)
        self.throttle_budget = float(config.get("throttle_budget") or THROTTLE_BUDGET)
        self.receipts = []  # codec.Receipt collected on the binds
        self.inbound = []  # InboundMessage (whole MO messages)
        self.part_ids = {}  # message id of a later part -> first part's id
        self.bind_error = None  # the sentence of a refused bind
        self.lane = None  # a LaneSession shared by the clients of a lane
        # callable(list of StatusUpdate): stores receipts durably (the model's)
        self.receipt_sink = None
        self.stored_receipts = 0  # how many the sink stored
        self._reassembler = codec.Reassembler()

    def _t(self, sentence):
        return codec.text(sentence, self.lang)

    # -- sessions -----------------------------------------------------------------
    def _session(self, command="bind_transceiver"):
        session = Session(self.config, self._on_deliver)
        system_id = self.config.get("system_id") or ""
        try:
            session.connect()
            session.bind(
                command,
                system_id,
                self.config.get("password") or "",
                self.config.get("system_type") or "",
            )
        except BindRefused as err:
            session.close()
            self.bind_error = self._t(codec.bind_error(err.status, system_id))
            # Transient: the messages wait (or go through the next provider)
            # while an administrator fixes the account; the form says why.
            raise ProviderError(
                self.bind_error, transient=True, failure_type="sms_acc"
            ) from err
        except SessionLost as err:
            session.close()
            raise ProviderError(
                self._t(_connect_error(session, err)),
                transient=True,
                failure_type="sms_server",
            ) from err
        return session

    def _on_deliver(self, pdu):
        """A deliver_sm: a receipt or an MO part, kept; answers ESME_ROK."""
        esm_class = pdu.esm_class or 0
        short_message = pdu.short_message or b""
        if isinstance(short_message, str):
            short_message = short_message.encode("latin-1")
        payload = getattr(pdu, "message_payload", None)
        if not short_message and payload:
            short_message = payload if isinstance(payload, bytes) else payload.encode()
        receipt = codec.parse_receipt(
            esm_class,
            short_message,
            getattr(pdu, "receipted_message_id", None),
            getattr(pdu, "message_state", None),
        )
        if receipt is not None:
            if not receipt.final:
                return ESME_ROK
            self.receipts.append(receipt)
            # With a sink, the SMSC gets its answer once the receipt is stored
            # (committed): a worker killed before that loses no receipt, the
            # SMSC sends it again.
            return None if self.receipt_sink else ESME_ROK
        concat, data = codec.split_udh(short_message, esm_class)
        sender = codec.sender_number(_str(pdu.source_addr), pdu.source_addr_ton or 0)
        if not concat and (getattr(pdu, "sar_total_segments", None) or 0) > 1:
            concat = (
                pdu.sar_msg_ref_num or 0,
                pdu.sar_total_segments,
                pdu.sar_segment_seqnum or 1,
            )
        text = codec.decode_payload(data, pdu.data_coding or 0)
        self._reassembler.add(codec.MoPart(sender, text, concat))
        now = datetime.datetime.utcnow().replace(microsecond=0)
        for part in self._reassembler.pop_complete():
            self.inbound.append(InboundMessage(part.sender, part.text, now))
        return ESME_ROK

    def _flush_incomplete(self):
        now = datetime.datetime.utcnow().replace(microsecond=0)
        for part in self._reassembler.pop_incomplete():
            self.inbound.append(InboundMessage(part.sender, part.text, now))

    def status_updates(self):
        """The receipts collected so far as :class:`StatusUpdate` (taken)."""
        updates = []
        for receipt in self.receipts:
            error = receipt.error()
            updates.append(
                StatusUpdate(
                    receipt.message_id,
                    receipt.state,
                    final=True,
                    failure_type=receipt.failure_type,
                    error=self._t(error) if error else None,
                )
            )
        self.receipts = []
        return updates

    def flush_receipts(self, session, force=False):
        """Store the receipts received on ``session`` with the sink, then
        answer their deliver_sm (a temporary error when storing failed: the
        SMSC sends them again later). Every 0.2 s or 100 receipts."""
        if not session.unanswered:
            session.unanswered_since = None
            return
        now = time.monotonic()
        if session.unanswered_since is None:
            session.unanswered_since = now
        if (
            not force
            and len(session.unanswered) < 100
            and (now - session.unanswered_since < 0.2)
        ):
            return
        status = ESME_ROK
        try:
            updates = self.status_updates()
            self.receipt_sink(updates)
            self.stored_receipts += len(updates)
        except Exception:  # pylint: disable=broad-except
            _logger.exception("SMPP: receipts could not be stored")
            status = 0x64  # ESME_RX_T_APPN: temporary, the SMSC retries
        sequences, session.unanswered = session.unanswered, []
        session.unanswered_since = None
        for sequence in sequences:
            session._write(session.make("deliver_sm_resp", sequence, status=status))

    # -- sending ------------------------------------------------------------------
    def send(self, messages):
        """Submit ``messages`` on the lane's shared bind (:attr:`lane`, set by
        the model for the clients of one lane), else on a bind of this call."""
        hand_over = self.handing_over if self.on_hand_over is not None else None
        if self.lane is not None:
            return self.lane.submit(messages, hand_over)
        lane = LaneSession(self)
        try:
            return lane.submit(messages, hand_over)
        finally:
            lane.close()

    def share_lane(self):
        """Make this client the owner of a bind its lane's clients share."""
        self.lane = LaneSession(self)
        return self.lane

    def _submit_fields(self, message, coding, payload, multipart):
        ton, npi, source = codec.source_address(
            self.config.get("sender") or "",
            self.config.get("source_ton"),
            self.config.get("source_npi"),
        )
        dest_ton, dest_npi, destination = codec.destination_address(message.number)
        return {
            "service_type": self.config.get("service_type") or "",
            "source_addr_ton": ton,
            "source_addr_npi": npi,
            "source_addr": source,
            "dest_addr_ton": dest_ton,
            "dest_addr_npi": dest_npi,
            "destination_addr": destination,
            "esm_class": codec.ESM_UDHI if multipart else 0,
            "registered_delivery": 1,
            "data_coding": coding,
            "short_message": payload,
        }

    def _in_doubt(self, key, reason):
        return SendResult(
            key,
            PERMANENT,
            failure_type=FAILURE_IN_DOUBT,
            error=self._t(
                _lt(
                    "The SMSC gave no answer to this message "
                    "(%(reason)s): it may have been sent. It is not "
                    "sent again automatically; check with the "
                    "provider before retrying it.",
                    reason=reason,
                )
            ),
        )

    def _not_sent(self, key, reason):
        return SendResult(
            key,
            TRANSIENT,
            failure_type="sms_server",
            error=self._t(
                _lt(
                    "Not sent: the connection to the SMSC was lost "
                    "(%(reason)s); sent at the next attempt.",
                    reason=reason,
                )
            ),
        )

    def _gave_up(self, key):
        return SendResult(
            key,
            TRANSIENT,
            failure_type="sms_server",
            error=self._t(
                _lt(
                    "The SMSC kept refusing messages for "
                    "%(seconds)s seconds (throttling or queue "
                    "full); sent at the next attempt.",
                    seconds=int(self.throttle_budget),
                )
            ),
        )

    def _refused(self, key, status, command, state):
        if command == "generic_nack":
            failure_type, transient = "sms_server", True
            error = _lt(
                "The SMSC could not read the request (generic_nack, error %(code)s).",
                code=codec.hex_status(status),
            )
        else:
            failure_type, error, transient = codec.submit_error(
                status, self.config.get("sender") or ""
            )
        if state["ids"]:
            # Earlier parts went: the recipient may get part of the text.
            return SendResult(
                key,
                PERMANENT,
                failure_type=failure_type,
                error=self._t(
                    _lt(
                        "Only %(sent)s of %(total)s parts were accepted: %(error)s",
                        sent=len(state["ids"]),
                        total=state["total"],
                        error=error,
                    )
                ),
            )
        return SendResult(
            key,
            TRANSIENT if transient else PERMANENT,
            failure_type=failure_type,
            error=self._t(error),
        )

    # -- availability, inbound --------------------------------------------------------
    def check_availability(self):
        started = time.monotonic()
        try:
            session = self._session("bind_transmitter")
        except ProviderError as err:
            return Availability(False, err.message)
        bound = time.monotonic()
        try:
            sequence = session.send("enquire_link")
            session.wait_for(sequence)
        except SessionLost as err:
            session.close()
            return Availability(
                False,
                self._t(
                    _lt(
                        "Bound to the SMSC, but it did not answer enquire_link "
                        "(%(reason)s).",
                        reason=str(err),
                    )
                ),
            )
        answered = time.monotonic()
        session.unbind()
        bind_ms = round((bound - started) * 1000)
        link_ms = round((answered - bound) * 1000)
        return Availability(
            True,
            self._t(
                _lt(
                    "Bound to %(host)s:%(port)s as %(system_id)s in %(bind)s ms; "
                    "enquire_link answered in %(link)s ms.",
                    host=session.host,
                    port=session.port,
                    system_id=self.config.get("system_id") or "",
                    bind=bind_ms,
                    link=link_ms,
                )
            ),
            details={"bind_ms": bind_ms, "enquire_link_ms": link_ms},
        )

    def fetch_inbound(self):
        """Bind as receiver and take what the SMSC kept for us (MO messages
        and receipts) until it has been quiet for ``drain_idle`` seconds (at
        most ``drain_seconds``). Receipts stay in :attr:`receipts`."""
        idle = float(self.config.get("drain_idle") or 1.0)
        limit = float(self.config.get("drain_seconds") or 10.0)
        session = self._session("bind_receiver")
        try:
            started = last = time.monotonic()
            while True:
                now = time.monotonic()
                if now - last >= idle or now - started >= limit:
                    break
                pdus = session._read(min(0.2, idle))
                for pdu in pdus:
                    session.handle(pdu)
                    last = time.monotonic()
                self.flush_receipts(session)
            self.flush_receipts(session, force=True)
        except SessionLost as err:
            _logger.info("SMPP receiver bind ended: %s", err)
        finally:
            session.unbind()
            self._flush_incomplete()
        inbound, self.inbound = self.inbound, []
        return inbound
