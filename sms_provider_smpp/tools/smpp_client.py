"""SMPP 3.4 client of the provider interface.

Plain Python, no ORM: ``sms.provider._get_client()`` builds it from the
provider's configuration. PDUs are encoded and decoded with smpplib's PDU
classes; this module owns the socket (one entry point, :meth:`Session._read`
and :meth:`Session._write`) so that one bind keeps a *window* of submit_sm
waiting for their submit_sm_resp, which smpplib's own synchronous client cannot.

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

import collections
import contextlib
import datetime
import logging
import random
import select
import socket
import ssl
import struct
import threading
import time

from smpplib import smpp as smpplib_smpp

from odoo.addons.sms_mailing.tools.provider import (
    ACCEPTED,
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

_logger = logging.getLogger(__name__)

DEFAULT_PORT = 2775
DEFAULT_TIMEOUT = 10.0
ENQUIRE_LINK_INTERVAL = 30.0
THROTTLE_BUDGET = 60.0
INTERFACE_VERSION = 0x34

ESME_ROK = 0x00


class _Seq:
    """The "client" smpplib's PDU classes ask for sequence numbers."""

    sequence = 0

    def next_sequence(self):
        return 0


_SEQ = _Seq()


class SessionLost(Exception):
    """The connection broke or the SMSC stopped answering."""


class BindRefused(Exception):
    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Session:
    """One SMPP connection and bind: PDUs in and out, deliveries collected."""

    def __init__(self, config, on_deliver):
        self.host = config.get("host") or "127.0.0.1"
        self.port = int(config.get("port") or DEFAULT_PORT)
        self.tls = bool(config.get("tls"))
        self.timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        self.on_deliver = on_deliver
        self.sock = None
        self.buffer = b""
        self.sequence = 0
        self.bound = None
        self.last_traffic = time.monotonic()
        self.smsc_system_id = ""
        self.unanswered = []  # deliver_sm answered once their receipt is stored
        self.unanswered_since = None

    def next_sequence(self):
        self.sequence = self.sequence % 0x7FFFFFFF + 1
        return self.sequence

    # -- the network entry points ------------------------------------------------
    def connect(self):
        try:
            sock = socket.create_connection((self.host, self.port), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=self.host)
        except (OSError, ssl.SSLError) as err:
            raise SessionLost(str(err)) from err
        sock.setblocking(False)
        self.sock = sock

    def _write(self, pdu):
        data = pdu.generate()
        deadline = time.monotonic() + self.timeout
        view = memoryview(data)
        try:
            while view:
                try:
                    sent = self.sock.send(view)
                    view = view[sent:]
                except (BlockingIOError, ssl.SSLWantWriteError):
                    if time.monotonic() > deadline:
                        raise SessionLost("write timeout") from None
                    select.select([], [self.sock], [], 0.05)
        except OSError as err:
            raise SessionLost(str(err)) from err
        self.last_traffic = time.monotonic()

    def _read(self, wait, wake=None):
        """Read what arrived within ``wait`` seconds; return whole PDUs.
        ``wake`` (a socket) ends the wait early when it becomes readable."""
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending:
            sockets = [self.sock] if wake is None else [self.sock, wake]
            readable, _w, _x = select.select(sockets, [], [], max(0.0, wait))
            if wake is not None and wake in readable:
                with contextlib.suppress(BlockingIOError):
                    wake.recv(4096)
            if self.sock not in readable:
                return []
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            return []
        except OSError as err:
            raise SessionLost(str(err)) from err
        if not chunk:
            raise SessionLost("closed by the SMSC")
        self.last_traffic = time.monotonic()
        self.buffer += chunk
        pdus = []
        while len(self.buffer) >= 16:
            (length,) = struct.unpack(">L", self.buffer[:4])
            if length < 16 or length > 70000:
                raise SessionLost("malformed PDU length")
            if len(self.buffer) < length:
                break
            raw, self.buffer = self.buffer[:length], self.buffer[length:]
            pdus.append(self._parse(raw))
        return pdus

    def _parse(self, raw):
        try:
            pdu = smpplib_smpp.parse_pdu(
                raw, client=_SEQ, allow_unknown_opt_params=True
            )
        except Exception as err:  # pylint: disable=broad-except
            # smpplib raises several types on a PDU it cannot read: answer
            # generic_nack (SMPP 3.4, 3.3) and go on.
            _logger.warning("SMPP: unreadable PDU from the SMSC: %s", err)
            (command_id,) = struct.unpack(">L", raw[4:8])
            (sequence,) = struct.unpack(">L", raw[12:16])
            return _Raw(command_id, sequence)
        if pdu is None:
            (command_id,) = struct.unpack(">L", raw[4:8])
            (sequence,) = struct.unpack(">L", raw[12:16])
            return _Raw(command_id, sequence)
        return pdu

    # -- PDUs ----------------------------------------------------------------------
    def make(self, command, sequence=None, **fields):
        pdu = smpplib_smpp.make_pdu(command, client=_SEQ, **fields)
        pdu.sequence = self.next_sequence() if sequence is None else sequence
        return pdu

    def send(self, command, **fields):
        pdu = self.make(command, **fields)
        self._write(pdu)
        return pdu.sequence

    def bind(self, command, system_id, password, system_type=""):
        sequence = self.send(
            command,
            system_id=system_id,
            password=password,
            system_type=system_type or "",
            interface_version=INTERFACE_VERSION,
        )
        resp = self.wait_for(sequence)
        if resp.status != ESME_ROK:
            raise BindRefused(resp.status)
        self.bound = command
        self.smsc_system_id = _str(getattr(resp, "system_id", ""))
        return resp

    def wait_for(self, sequence, timeout=None):
        """The response to ``sequence``, handling what else arrives."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SessionLost("no answer")
            answer = None
            # Every PDU of the read is handled: a deliver_sm may follow the
            # awaited answer in the same packet.
            for pdu in self._read(min(left, 0.5)):
                if self.handle(pdu) and pdu.sequence == sequence:
                    answer = pdu
            if answer is not None:
                return answer

    def handle(self, pdu):
        """Answer requests of the SMSC; returns True for a response PDU."""
        if isinstance(pdu, _Raw):
            if pdu.command_id & 0x80000000:
                return False
            self._write(self.make("generic_nack", pdu.sequence, status=0x03))
            return False
        command = pdu.command
        if command == "deliver_sm":
            status = self.on_deliver(pdu)
            if status is None:  # answered once stored (flush_receipts)
                self.unanswered.append(pdu.sequence)
            else:
                self._write(self.make("deliver_sm_resp", pdu.sequence, status=status))
            return False
        if command == "enquire_link":
            self._write(self.make("enquire_link_resp", pdu.sequence))
            return False
        if command == "unbind":
            self._write(self.make("unbind_resp", pdu.sequence))
            self.bound = None
            raise SessionLost("unbound by the SMSC")
        if command in ("data_sm", "alert_notification"):
            if command == "data_sm":
                self._write(self.make("generic_nack", pdu.sequence, status=0x03))
            return False
        return True  # a response (submit_sm_resp, generic_nack, *_resp)

    def keep_alive(self):
        if time.monotonic() - self.last_traffic > ENQUIRE_LINK_INTERVAL:
            self.send("enquire_link")

    def unbind(self):
        """Unbind politely; the connection is closed in any case."""
        if self.sock is None:
            return
        try:
            if self.bound:
                sequence = self.send("unbind")
                self.wait_for(sequence, timeout=min(self.timeout, 2.0))
        except SessionLost as err:
            _logger.debug("SMPP: no unbind_resp: %s", err)
        finally:
            self.close()

    def close(self):
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None
        self.bound = None


class _Raw:
    """A PDU smpplib could not decode (its header only)."""

    command = None

    def __init__(self, command_id, sequence):
        self.command_id = command_id
        self.sequence = sequence
        self.status = 0


def _str(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value or ""


class SmppClient(SmsProviderClient):
    """An SMPP account (SMSC, aggregator, or a gateway such as Jasmin)."""

    # A lane's threads each send a chunk of ``max_batch`` messages on the
    # lane's one bind (LaneSession), whose window is ``inflight_requests``.
    max_inflight = 32
    max_batch = 20
    max_lanes = 16

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
                self._t(
                    _lt(
                        "The SMSC %(host)s:%(port)s did not answer (%(reason)s); "
                        "trying again later.",
                        host=session.host,
                        port=session.port,
                        reason=str(err),
                    )
                ),
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
        if self.lane is not None:
            return self.lane.submit(messages)
        lane = LaneSession(self)
        try:
            return lane.submit(messages)
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


def _reason(err):
    return str(err) if err else "-"


class _Batch:
    """The messages of one send() call and their results."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.states = {}  # key -> {"ids": {index: id}, "total": n, "done": bool}
        self.results = {}
        self.done = threading.Event()
        if not self.messages:
            self.done.set()

    def finish(self, key, result):
        state = self.states.get(key)
        if state is None or state["done"]:
            return
        state["done"] = True
        self.results[key] = result
        if len(self.results) == len(self.messages):
            self.done.set()


class LaneSession:
    """One bind shared by the send() calls of a lane (threads of the core's
    dispatcher, one chunk each): a thread of its own owns the socket, keeps up
    to ``window`` submit_sm waiting for their answer whatever chunk they come
    from, and hands each chunk its results. A chunk that finishes is written
    by the lane while the others are still on the wire: the window never
    drains between chunks."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.inbox = collections.deque()  # _Batch waiting for the thread
        self.session = None
        self.thread = None
        self.failure = None  # ProviderError: every later send() gets it
        self.closing = False
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)

    def submit(self, messages):
        batch = _Batch(messages)
        with self.lock:
            if self.failure is None and self.thread is None:
                try:
                    self.session = self.client._session()
                except ProviderError as err:
                    self.failure = err
                    raise
                self.thread = threading.Thread(
                    target=self._run, daemon=True, name="smpp-bind"
                )
                self.thread.start()
            if self.failure is not None:
                raise self.failure
            self.inbox.append(batch)
        self._wake()
        batch.done.wait()
        return list(batch.results.values())

    def close(self):
        with self.lock:
            self.closing = True
        self._wake()
        if self.thread is not None:
            self.thread.join()
        if self.session is not None:
            self.session.unbind()
        self.client._flush_incomplete()
        self.wake_r.close()
        self.wake_w.close()

    def _wake(self):
        with contextlib.suppress(OSError):
            self.wake_w.send(b"x")

    def _run(self):  # noqa: C901 - one state machine
        client = self.client
        session = self.session
        parts = collections.deque()  # (batch, key, part index, fields)
        waiting = {}  # sequence -> (batch, key, index, fields, sent at)
        window = client.window
        pause_until = 0.0
        backoff = 0.0
        throttled_since = None
        next_slot = 0.0
        lost = None
        status_throttled = 0x58

        def take_new():
            with self.lock:
                batches = list(self.inbox)
                self.inbox.clear()
                closing = self.closing
            for batch in batches:
                for message in batch.messages:
                    coding, payloads = codec.encode_message(
                        message.body, random.randrange(256)
                    )
                    batch.states[message.key] = {
                        "ids": {},
                        "total": len(payloads),
                        "done": False,
                    }
                    for index, payload in enumerate(payloads):
                        fields = client._submit_fields(
                            message, coding, payload, len(payloads) > 1
                        )
                        parts.append((batch, message.key, index, fields))
            return closing

        def on_response(batch, key, index, fields, pdu):
            """Apply one answer; True when the SMSC asks to slow down."""
            state = batch.states[key]
            status = pdu.status
            if pdu.command == "submit_sm_resp" and status == ESME_ROK:
                ids = state["ids"]
                ids[index] = _str(pdu.message_id)
                if len(ids) == state["total"]:
                    for other in range(1, state["total"]):
                        client.part_ids[ids[other]] = ids[0]
                    batch.finish(
                        key,
                        SendResult(
                            key,
                            ACCEPTED,
                            provider_message_id=ids[0],
                            parts=state["total"],
                        ),
                    )
                return False
            if pdu.command == "submit_sm_resp" and status in codec.RETRY_LATER:
                # slow down and submit the same part again: never dropped
                parts.appendleft((batch, key, index, fields))
                return True
            batch.finish(key, client._refused(key, status, pdu.command, state))
            return False

        def give_up():
            """The SMSC keeps refusing: what is not submitted waits for the
            next attempt (the answers of the window are still read)."""
            for batch, key, _index, _fields in parts:
                state = batch.states[key]
                if state["ids"]:  # part of it went: it cannot be sent again
                    batch.finish(
                        key,
                        client._refused(key, status_throttled, "submit_sm_resp", state),
                    )
                else:
                    batch.finish(key, client._gave_up(key))
            parts.clear()

        def salvage():
            """Answers already received when the connection broke."""
            try:
                while waiting:
                    pdus = session._read(0.05)
                    if not pdus:
                        return
                    for pdu in pdus:
                        if session.handle(pdu) and pdu.sequence in waiting:
                            batch, key, index, fields, _at = waiting.pop(pdu.sequence)
                            on_response(batch, key, index, fields, pdu)
            except SessionLost:
                return

        try:
            while True:
                closing = take_new()
                if closing and not parts and not waiting:
                    client.flush_receipts(session, force=True)
                    break
                now = time.monotonic()
                while parts and len(waiting) < window and now >= pause_until:
                    if client.rate and now < next_slot:
                        break
                    batch, key, index, fields = parts.popleft()
                    if batch.states[key]["done"]:
                        continue
                    sequence = session.send("submit_sm", **fields)
                    waiting[sequence] = (batch, key, index, fields, now)
                    if client.rate:
                        next_slot = max(now, next_slot) + 1.0 / client.rate
                    now = time.monotonic()
                wake = [0.5]
                if waiting:
                    oldest = min(item[4] for item in waiting.values())
                    wake.append(oldest + session.timeout - now)
                if parts and len(waiting) < window:
                    wake.append(max(pause_until, next_slot) - now)
                for pdu in session._read(max(0.0, min(wake)), self.wake_r):
                    if not session.handle(pdu) or pdu.sequence not in waiting:
                        continue
                    batch, key, index, fields, _at = waiting.pop(pdu.sequence)
                    if on_response(batch, key, index, fields, pdu):
                        now = time.monotonic()
                        throttled_since = throttled_since or now
                        if now - throttled_since > client.throttle_budget:
                            give_up()
                        backoff = min(5.0, backoff * 2 or 0.1)
                        pause_until = now + backoff
                        window = max(1, window // 2)
                    elif pdu.status == ESME_ROK:
                        throttled_since = None
                        backoff = 0.0
                        window = min(client.window, window + 1)
                client.flush_receipts(session)
                session.keep_alive()
                if waiting:
                    oldest = min(item[4] for item in waiting.values())
                    if time.monotonic() - oldest > session.timeout:
                        raise SessionLost("no submit_sm_resp")
        except SessionLost as err:
            lost = err
            salvage()
        except Exception as err:  # pylint: disable=broad-except
            # A fault of our own: what was written may have left.
            _logger.exception("SMPP: the bind's thread failed")
            lost = err
        if lost is None:
            return
        # Written without an answer, or partly written: in doubt; never
        # written: sent at the next attempt. Later send() calls get the error.
        reason = _reason(lost)
        with self.lock:
            self.failure = ProviderError(
                client._t(
                    _lt(
                        "The connection to the SMSC was lost (%(reason)s); "
                        "trying again later.",
                        reason=reason,
                    )
                ),
                transient=True,
                failure_type="sms_server",
            )
            batches = list(self.inbox)
            self.inbox.clear()
        written = {(id(item[0]), item[1]) for item in waiting.values()}
        pending_batches = {id(b): b for b, *_rest in parts}
        pending_batches.update({id(item[0]): item[0] for item in waiting.values()})
        for batch in pending_batches.values():
            for key, state in batch.states.items():
                if state["done"]:
                    continue
                if (id(batch), key) in written or state["ids"]:
                    batch.finish(key, client._in_doubt(key, reason))
                else:
                    batch.finish(key, client._not_sent(key, reason))
        for batch in batches:
            for message in batch.messages:
                batch.states[message.key] = {"ids": {}, "total": 1, "done": False}
                batch.finish(message.key, client._not_sent(message.key, reason))
