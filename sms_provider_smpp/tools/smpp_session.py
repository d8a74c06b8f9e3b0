"""The SMPP connection and bind of :mod:`.smpp_client`: socket, PDUs in and out.

Plain Python, no ORM. This module owns the socket (one entry point,
:meth:`Session._read` and :meth:`Session._write`); PDUs are encoded and decoded
with smpplib's PDU classes.
"""

import contextlib
import logging
import select
import socket
import ssl
import struct
import time

from smpplib import smpp as smpplib_smpp

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
    """The connection broke or the SMSC stopped answering. ``kind``: why a
    connection could not be opened (``refused``, ``unknown_host``,
    ``timeout``, ``tls``), else None."""

    def __init__(self, reason, kind=None):
        super().__init__(reason)
        self.kind = kind


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
        except ConnectionRefusedError as err:
            raise SessionLost(str(err), "refused") from err
        except socket.gaierror as err:
            raise SessionLost(str(err), "unknown_host") from err
        except TimeoutError as err:
            raise SessionLost(str(err), "timeout") from err
        except ssl.SSLError as err:
            raise SessionLost(str(err), "tls") from err
        except OSError as err:
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
