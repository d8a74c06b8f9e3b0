"""A local SMSC: a real SMPP 3.4 server on 127.0.0.1 that tests start and script.

Written from the SMPP 3.4 specification, not from our client; PDUs are encoded
and decoded with smpplib's PDU classes. It accepts ``bind_transmitter``,
``bind_receiver`` and ``bind_transceiver`` (checking system_id and password),
answers ``submit_sm`` with a message id (hex or decimal) after a scriptable
latency, sends delivery receipts (``deliver_sm`` with esm_class 0x04, the
``id:... stat:... err:...`` text and the ``receipted_message_id`` /
``message_state`` TLVs) after a delay with the final state chosen by the test,
sends MO messages (single, concatenated with a UDH, GSM-7 or UCS-2) to receiver
binds, answers ``enquire_link`` and ``unbind``, and plays faults: throttling,
queue full, any command_status, ``generic_nack``, a refused bind, a connection
dropped after a submit_sm, and silence.

Like a real SMSC it keeps receipts and MO messages for the system_id until a
receiver (or transceiver) bind takes them with a ``deliver_sm_resp``: one that
was sent but not acknowledged when its connection dropped is sent again later.

>>> with LocalSmsc(system_id="odoo", password="secret") as smsc:  # doctest: +SKIP
...     smsc.submit_latency = 0.05  # seconds before each submit_sm_resp
...     smsc.receipt_delay = 0.2  # then a receipt (None: no receipt)
...     smsc.receipt_state = "UNDELIV"  # or a callable(Submit) -> state
...     smsc.fail_next_submits("throttled", "ok", 0x0B)  # per submit_sm, in order
...     smsc.send_mo("+33612345678", "STOP")  # queued for a receiver bind
...     ...  # point the provider at smsc.host, smsc.port
...     smsc.messages()  # [(destination, whole text)] reassembled from submits
...     smsc.submits  # every submit_sm received, decoded (Submit)
"""

import contextlib
import dataclasses
import datetime
import heapq
import itertools
import logging
import socket
import struct
import threading
import time

from smpplib import consts as smpp_consts
from smpplib import smpp

try:
    from odoo.addons.sms_mailing.tools import segments
except ImportError:  # pragma: no cover - the core always ships segments
    segments = None

_logger = logging.getLogger(__name__)

# command_status values (SMPP 3.4, 5.1.3)
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RSUBMITFAIL = 0x45
ESME_RX_R_APPN = 0x65  # receiver rejects the message (barred...)

# Fault names accepted by fail_next_submits(), besides an int command_status.
FAULTS = {
    "ok": ESME_ROK,
    "throttled": ESME_RTHROTTLED,
    "queue_full": ESME_RMSGQFUL,
    "invalid_destination": ESME_RINVDSTADR,
    "barred": ESME_RX_R_APPN,
    "system_error": ESME_RSYSERR,
    # not a status: generic_nack, close the connection, never answer
    "generic_nack": "generic_nack",
    "drop": "drop",
    "silence": "silence",
}

# Receipt stat: values and the message_state TLV they go with (SMPP 3.4, 5.2.28)
MESSAGE_STATES = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}

BIND_COMMANDS = {
    "bind_transmitter": ("bind_transmitter_resp", False),
    "bind_receiver": ("bind_receiver_resp", True),
    "bind_transceiver": ("bind_transceiver_resp", True),
}

# GSM 03.38 default alphabet (unpacked septets), for data_coding 0.
_GSM_ESC = 0x1B


def gsm7_encode(text):
    """Bytes (one septet per byte) of ``text`` in the GSM default alphabet."""
    return bytes(segments.gsm7_septets(text))


def gsm7_decode(data):
    return segments.gsm7_decode(list(data))


def decode_text(data, data_coding):
    """Text of a short_message (without its UDH) as the SMSC reads it."""
    if data_coding == 8:
        return data.decode("utf-16-be", "replace")
    if data_coding == 3:
        return data.decode("latin-1")
    if data_coding in (0, 1) and segments is not None:
        try:
            return gsm7_decode(data)
        except ValueError:
            return data.decode("latin-1")
    return data.decode("latin-1")


def split_udh(data, esm_class):
    """``(udh or None, (ref, total, seq) or None, payload)`` of a short_message."""
    if not esm_class & 0x40 or not data:
        return None, None, data
    length = data[0]
    header, payload = data[1 : 1 + length], data[1 + length :]
    concat = None
    index = 0
    while index + 2 <= len(header):
        iei, iel = header[index], header[index + 1]
        value = header[index + 2 : index + 2 + iel]
        if iei == 0x00 and iel == 3:  # 8-bit reference, total, sequence
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and iel == 4:  # 16-bit reference
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        index += 2 + iel
    return data[: 1 + length], concat, payload


def _c_str(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value or ""


@dataclasses.dataclass
class Submit:
    """One submit_sm as the SMSC received it."""

    sequence: int
    system_id: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes
    udh: bytes | None
    concat: tuple | None  # (reference, total, sequence) of a part
    text: str  # this part's text, decoded
    status: int | str  # what the SMSC answered (0: accepted) or the fault played
    message_id: str | None = None
    received_at: float = 0.0


@dataclasses.dataclass
class Bind:
    command: str
    system_id: str
    password: str
    system_type: str
    status: int


class _Connection:
    def __init__(self, server, sock, address):
        self.server = server
        self.sock = sock
        self.address = address
        self.lock = threading.Lock()  # one writer at a time
        self.bound = None  # the bind command once accepted
        self.system_id = None
        self.receives = False
        self.closed = False
        self.outstanding = {}  # sequence -> delivery (deliver_sm not yet acked)

    def send(self, pdu):
        data = pdu.generate()
        with self.lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(data)
            except OSError:
                self.close()
                return False
        return True

    def close(self):
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.server._connection_closed(self)

    def _recv_exact(self, size):
        chunks = []
        while size:
            chunk = self.sock.recv(size)
            if not chunk:
                raise ConnectionError("closed by peer")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def run(self):
        try:
            while not self.closed:
                header = self._recv_exact(4)
                (length,) = struct.unpack(">L", header)
                if length < 16 or length > 65536:
                    self.close()
                    return
                data = header + self._recv_exact(length - 4)
                self.server._handle(self, data)
        except (OSError, ConnectionError) as err:
            _logger.debug("local SMSC: connection ended: %s", err)
        finally:
            self.close()


class _Seq:
    """The "client" smpplib's PDU classes ask for sequence numbers."""

    sequence = 0

    def next_sequence(self):
        return 0


_SEQ = _Seq()


def make_pdu(command, sequence, **fields):
    pdu = smpp.make_pdu(command, client=_SEQ, **fields)
    pdu.sequence = sequence
    return pdu


def parse_pdu(data):
    return smpp.parse_pdu(data, client=_SEQ, allow_unknown_opt_params=True)


class LocalSmsc:
    """The SMPP server. Start with ``with LocalSmsc() as smsc`` or start()/stop()."""

    def __init__(self, system_id="odoo", password="secret", host="127.0.0.1", port=0):
        self.system_id = system_id
        self.password = password
        self.host = host
        self.port = port
        # -- script ----------------------------------------------------
        self.submit_latency = 0.0  # seconds before each submit_sm_resp
        self.message_id_form = "hex"  # or "decimal": ids of submit_sm_resp
        self.receipt_id_form = "same"  # "decimal"/"hex": id form in receipts
        self.receipt_delay = None  # seconds; None: no receipts
        self.receipt_state = "DELIVRD"  # or callable(Submit) -> stat
        self.receipt_err = None  # err: value; None: 000 or 001 by state
        self.receipt_tlvs = True  # receipted_message_id and message_state
        self.bind_status = ESME_ROK  # e.g. ESME_RBINDFAIL: refuse every bind
        self.answer_enquire_link = True
        self.silent = False  # read everything, answer nothing
        self.max_binds = None  # refuse binds beyond this many at once
        # -- records -----------------------------------------------------
        self.submits = []
        self.binds = []
        self.enquire_links = 0
        self.unbinds = 0
        self.delivered = []  # deliveries a bind acknowledged (deliver_sm_resp)
        self.generic_nacks_received = 0
        self._faults = []
        self._pending = []  # deliveries waiting for a receiver bind
        self._connections = set()
        self._lock = threading.RLock()
        self._ids = itertools.count(0xA0000)  # hex ids with a letter
        self._mo_refs = itertools.count(1)
        self._seq = itertools.count(1)
        self._timers = []  # heap of (when, n, callable)
        self._timer_n = itertools.count()
        self._wake = threading.Condition(self._lock)
        self._sock = None
        self._running = False
        self._threads = []

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._running = True
        for target in (self._accept_loop, self._timer_loop):
            thread = threading.Thread(target=target, daemon=True, name="local-smsc")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._running = False
        with self._lock:
            self._wake.notify_all()
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        if self._sock:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
            with contextlib.suppress(OSError):
                self._sock.close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- scripting ---------------------------------------------------------
    def fail_next_submits(self, *faults):
        """The next submit_sm get these answers in order: a name of
        :data:`FAULTS` or an int command_status; then normal answers."""
        with self._lock:
            for fault in faults:
                self._faults.append(FAULTS.get(fault, fault))

    def send_mo(
        self,
        source,
        text,
        destination="Shop",
        data_coding=None,
        parts=None,
        udh_16bit=False,
        reverse=False,
    ):
        """Queue an MO message from ``source`` (``+`` dropped, TON international)
        for the next receiver bind. Texts over one part (or ``parts`` given:
        the part texts) go as concatenated parts with a UDH; ``reverse`` sends
        the parts last first."""
        if data_coding is None:
            data_coding = 0 if segments and segments.is_gsm7(text) else 8
        encode = gsm7_encode if data_coding == 0 else (lambda t: t.encode("utf-16-be"))
        if parts is None:
            parts = segments.split_parts(text) if segments else [text]
        ref = next(self._mo_refs) % 256
        pdus = []
        for index, part in enumerate(parts, 1):
            payload = encode(part)
            esm_class = 0
            if len(parts) > 1:
                if udh_16bit:
                    udh = bytes([6, 0x08, 4, 0, ref, len(parts), index])
                else:
                    udh = bytes([5, 0x00, 3, ref, len(parts), index])
                payload = udh + payload
                esm_class = 0x40
            pdus.append(
                {
                    "kind": "mo",
                    "fields": {
                        "source_addr_ton": 1,
                        "source_addr_npi": 1,
                        "source_addr": source.lstrip("+"),
                        "dest_addr_ton": 0,
                        "dest_addr_npi": 0,
                        "destination_addr": destination,
                        "esm_class": esm_class,
                        "data_coding": data_coding,
                        "short_message": payload,
                    },
                }
            )
        if reverse:
            pdus.reverse()
        with self._lock:
            self._pending.extend(pdus)
        self._flush_pending()

    def send_receipt(self, message_id, stat="DELIVRD", err=None, destination="0"):
        """Queue a receipt for ``message_id`` now (any id, known or not)."""
        self._queue_receipt(message_id, stat, err, destination)

    # -- reading -------------------------------------------------------------
    def accepted(self):
        """The submits the SMSC accepted (status 0)."""
        with self._lock:
            return [s for s in self.submits if s.status == ESME_ROK]

    def messages(self, accepted_only=True):
        """``[(destination, text)]``: each accepted message, parts joined."""
        with self._lock:
            submits = list(self.accepted() if accepted_only else self.submits)
        result = []
        groups = {}
        for submit in submits:
            if not submit.concat:
                result.append((submit.destination_addr, submit.text))
                continue
            ref, total, seq = submit.concat
            key = (submit.destination_addr, ref, total)
            group = groups.get(key)
            if group is None:
                group = groups[key] = {}
                result.append(key)
            group[seq] = submit.text
        out = []
        for item in result:
            if len(item) == 3:
                group = groups[item]
                out.append(
                    (
                        item[0],
                        "".join(group.get(i, "[...]") for i in range(1, item[2] + 1)),
                    )
                )
            else:
                out.append(item)
        return out

    def pending_deliveries(self):
        with self._lock:
            return len(self._pending) + sum(
                len(c.outstanding) for c in self._connections
            )

    def bound_connections(self):
        with self._lock:
            return [c for c in self._connections if c.bound]

    def wait_for(self, predicate, timeout=5.0):
        """Wait until ``predicate()`` is true; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.01)

    def drop_connections(self):
        for connection in list(self._connections):
            connection.close()

    # -- server --------------------------------------------------------------
    def _accept_loop(self):
        while self._running:
            try:
                sock, address = self._sock.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(self, sock, address)
            with self._lock:
                self._connections.add(connection)
            thread = threading.Thread(
                target=connection.run, daemon=True, name="local-smsc-conn"
            )
            thread.start()

    def _connection_closed(self, connection):
        with self._lock:
            self._connections.discard(connection)
            # deliveries sent but not acknowledged: kept for another bind
            self._pending[:0] = list(connection.outstanding.values())
            connection.outstanding.clear()
        if self._running:
            self._later(0.01, self._flush_pending)

    def _later(self, delay, func):
        with self._lock:
            heapq.heappush(
                self._timers, (time.monotonic() + delay, next(self._timer_n), func)
            )
            self._wake.notify_all()

    def _timer_loop(self):
        while self._running:
            with self._lock:
                if not self._timers:
                    self._wake.wait(0.5)
                    continue
                when = self._timers[0][0]
                now = time.monotonic()
                if when > now:
                    self._wake.wait(min(0.5, when - now))
                    continue
                _when, _n, func = heapq.heappop(self._timers)
            try:
                func()
            except Exception:  # pylint: disable=broad-except
                _logger.exception("local SMSC timer failed")

    def _handle(self, connection, data):
        (command_id,) = struct.unpack(">L", data[4:8])
        (sequence,) = struct.unpack(">L", data[12:16])
        try:
            pdu = parse_pdu(data)
        except Exception:  # pylint: disable=broad-except
            pdu = None
        if pdu is None:
            connection.send(make_pdu("generic_nack", sequence, status=ESME_RINVCMDID))
            return
        command = pdu.command
        if self.silent:
            return
        if command in BIND_COMMANDS:
            self._on_bind(connection, pdu)
        elif command == "submit_sm":
            self._on_submit(connection, pdu, data)
        elif command == "enquire_link":
            with self._lock:
                self.enquire_links += 1
            if self.answer_enquire_link:
                connection.send(make_pdu("enquire_link_resp", pdu.sequence))
        elif command == "unbind":
            with self._lock:
                self.unbinds += 1
            connection.send(make_pdu("unbind_resp", pdu.sequence))
            connection.bound = None
            connection.close()
        elif command == "deliver_sm_resp":
            with self._lock:
                delivery = connection.outstanding.pop(pdu.sequence, None)
                if delivery is not None:
                    if pdu.status == ESME_ROK:
                        self.delivered.append(delivery)
                    else:  # refused: keep it for later
                        self._pending.append(delivery)
        elif command == "generic_nack":
            with self._lock:
                self.generic_nacks_received += 1
        elif command in ("enquire_link_resp", "unbind_resp"):
            pass
        else:
            connection.send(make_pdu("generic_nack", sequence, status=ESME_RINVCMDID))

    def _on_bind(self, connection, pdu):
        resp_command, receives = BIND_COMMANDS[pdu.command]
        system_id = _c_str(pdu.system_id)
        password = _c_str(pdu.password)
        status = self.bind_status
        with self._lock:
            if connection.bound:
                status = ESME_RALYBND
            elif status == ESME_ROK:
                if system_id != self.system_id:
                    status = ESME_RINVSYSID
                elif password != self.password:
                    status = ESME_RINVPASWD
                elif self.max_binds is not None and (
                    len([c for c in self._connections if c.bound]) >= self.max_binds
                ):
                    status = ESME_RBINDFAIL
            self.binds.append(
                Bind(pdu.command, system_id, password, _c_str(pdu.system_type), status)
            )
            if status == ESME_ROK:
                connection.bound = pdu.command
                connection.system_id = system_id
                connection.receives = receives
        resp = make_pdu(
            resp_command, pdu.sequence, system_id="LOCALSMSC", status=status
        )
        connection.send(resp)
        if status == ESME_ROK and receives:
            # what was kept for this system_id follows the bind_resp at once
            self._flush_pending()

    def _on_submit(self, connection, pdu, data):
        (sequence,) = struct.unpack(">L", data[12:16])
        with self._lock:
            fault = self._faults.pop(0) if self._faults else ESME_ROK
        if not connection.bound:
            fault = ESME_RINVBNDSTS
        short_message = pdu.short_message or b""
        if isinstance(short_message, str):
            short_message = short_message.encode("latin-1")
        esm_class = pdu.esm_class or 0
        udh, concat, payload = split_udh(short_message, esm_class)
        data_coding = pdu.data_coding or 0
        submit = Submit(
            sequence=sequence,
            system_id=connection.system_id or "",
            source_addr=_c_str(pdu.source_addr),
            source_addr_ton=pdu.source_addr_ton or 0,
            source_addr_npi=pdu.source_addr_npi or 0,
            destination_addr=_c_str(pdu.destination_addr),
            dest_addr_ton=pdu.dest_addr_ton or 0,
            dest_addr_npi=pdu.dest_addr_npi or 0,
            esm_class=esm_class,
            registered_delivery=pdu.registered_delivery or 0,
            data_coding=data_coding,
            short_message=short_message,
            udh=udh,
            concat=concat,
            text=decode_text(payload, data_coding),
            status=fault,
            received_at=time.monotonic(),
        )
        if fault == ESME_ROK:
            number = next(self._ids)
            submit.message_id = (
                f"{number:X}" if self.message_id_form == "hex" else str(number)
            )
        with self._lock:
            self.submits.append(submit)
        if fault == "drop":
            connection.close()
            return
        if fault == "silence":
            return
        if fault == "generic_nack":
            resp = make_pdu("generic_nack", sequence, status=ESME_RSYSERR)
        elif fault == ESME_ROK:
            resp = make_pdu("submit_sm_resp", sequence, message_id=submit.message_id)
        else:
            resp = make_pdu("submit_sm_resp", sequence, status=fault)

        def answer():
            connection.send(resp)
            if (
                fault == ESME_ROK
                and self.receipt_delay is not None
                and submit.registered_delivery & 0x03
            ):
                self._later(self.receipt_delay, lambda: self._receipt_for(submit))

        if self.submit_latency:
            self._later(self.submit_latency, answer)
        else:
            answer()

    # -- deliveries (receipts and MO) -----------------------------------------
    def _receipt_for(self, submit):
        state = self.receipt_state
        if callable(state):
            state = state(submit)
        if not state:
            return
        self._queue_receipt(
            submit.message_id,
            state,
            self.receipt_err,
            submit.destination_addr,
            submit.source_addr,
            submit.text,
        )

    def _queue_receipt(
        self, message_id, stat, err=None, destination="0", source="", text=""
    ):
        shown = message_id
        form = self.receipt_id_form
        if form == "decimal" and not shown.isdigit():
            shown = str(int(shown, 16))
        elif form == "hex" and shown.isdigit():
            shown = f"{int(shown):X}"
        if err is None:
            err = "000" if stat == "DELIVRD" else "001"
        stamp = datetime.datetime.utcnow().strftime("%y%m%d%H%M")
        dlvrd = "001" if stat == "DELIVRD" else "000"
        body = (
            f"id:{shown} sub:001 dlvrd:{dlvrd} submit date:{stamp} "
            f"done date:{stamp} stat:{stat} err:{err} text:{text[:20]}"
        )
        fields = {
            "source_addr_ton": 1,
            "source_addr_npi": 1,
            "source_addr": destination.lstrip("+"),
            "dest_addr_ton": 5,
            "dest_addr_npi": 0,
            "destination_addr": source,
            "esm_class": 0x04,
            "data_coding": 0,
            "short_message": body.encode("ascii", "replace"),
        }
        if self.receipt_tlvs:
            fields["receipted_message_id"] = message_id
            fields["message_state"] = MESSAGE_STATES.get(stat, 7)
        with self._lock:
            self._pending.append(
                {"kind": "receipt", "id": message_id, "fields": fields}
            )
        self._flush_pending()

    def _flush_pending(self):
        with self._lock:
            receivers = [
                c
                for c in self._connections
                if c.bound and c.receives and c.system_id == self.system_id
            ]
            if not receivers or not self._pending or self.silent:
                return
            sends = []
            for index, delivery in enumerate(self._pending):
                connection = receivers[index % len(receivers)]
                sequence = next(self._seq)
                connection.outstanding[sequence] = delivery
                sends.append((connection, sequence, delivery))
            self._pending = []
        for connection, sequence, delivery in sends:
            connection.send(make_pdu("deliver_sm", sequence, **delivery["fields"]))


ESME_STATUS_NAMES = {
    value: name
    for name, value in vars(smpp_consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}
