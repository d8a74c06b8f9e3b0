"""The serial line to a GSM modem and its AT tokens (3GPP TS 27.005 / 27.007).

Pure Python, no ORM (Odoo's lazy translation only, for the sentences). The
port is anything ``serial.serial_for_url`` opens. :class:`AtLine` opens and
closes the port, reads lines and the ``> `` prompt, keeps the unsolicited
result codes it meets, brings the modem back to command mode after a timeout
(:meth:`AtLine.resync`) and runs one command (:meth:`AtLine.command`), every
exchange under the lock of its port (:func:`port_lock`). The commands of the
modem are in :class:`.modem.ModemDriver`.
"""

import collections
import logging
import re
import threading
import time

import serial

from odoo.addons.sms_mailing.tools.i18n import lazy_translate

from .modem_answers import _HEX, Urc
from .modem_errors import ModemError, ModemTimeout, error_from_code

_logger = logging.getLogger(__name__)
_lt = lazy_translate(__name__)

CTRL_Z = "\x1a"
ESC = "\x1b"

URC_PREFIXES = (
    "+CMTI:",
    "+CDSI:",
    "+CDS:",
    "+CMT:",
    "+CBM:",
    "+CUSD:",
    "RING",
    "+CRING:",
    "+CLIP:",
    "+CIEV:",
    "^",  # Huawei ^RSSI, ^MODE, ^BOOT...
)
FINAL_ERRORS = ("ERROR", "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS", "NO CARRIER")

_PROMPT = object()


_PORT_LOCKS = collections.defaultdict(threading.RLock)
_PORT_LOCKS_GUARD = threading.Lock()


def port_lock(port):
    """The lock every driver of ``port`` holds while it talks on the line."""
    with _PORT_LOCKS_GUARD:
        return _PORT_LOCKS[port]


def _decode_line(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class AtLine:
    """One conversation with a modem on its serial line.

    ``timeout`` bounds every answer (seconds). Unsolicited result codes met
    while reading are kept in :attr:`urcs`; a ``+CMGS`` answer that came after
    its timeout in :attr:`late_references`.
    """

    quiet_period = 0.2  # silence that ends a resync (late answers come first)
    pdu_grace = 0.5  # wait for the PDU line of a +CDS/+CMT met at the deadline

    def __init__(
        self,
        port,
        baudrate=115200,
        timeout=10.0,
        serial_factory=None,
    ):
        self.port = port
        self.baudrate = baudrate
        self.timeout = float(timeout)
        self.urcs = collections.deque()
        self.late_references = []  # +CMGS answers that came after a timeout
        self._serial_factory = serial_factory or serial.serial_for_url
        self._serial = None
        self._buffer = bytearray()
        self._lock = port_lock(port)
        self._dirty = False  # a previous exchange timed out: resync first
        self.initialized = False

    # -- lifecycle ------------------------------------------------------------
    def open(self):
        if self._serial is not None:
            return self
        try:
            self._serial = self._serial_factory(
                self.port, baudrate=self.baudrate, timeout=0.05, write_timeout=5
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise ModemError(
                _lt(
                    "Cannot open the modem port %(port)s: %(error)s",
                    port=self.port,
                    error=str(exc),
                ),
                line_fault=True,
            ) from exc
        return self

    def close(self):
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                _logger.debug("closing %s failed", self.port, exc_info=True)
        self._serial = None
        self.initialized = False

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    @property
    def is_open(self):
        return self._serial is not None

    # -- low level --------------------------------------------------------------
    def _write(self, text):
        if self._serial is None:
            raise ModemError(_lt("The modem port is not open."), line_fault=True)
        try:
            self._serial.write(text.encode("latin-1"))
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise ModemError(
                _lt("Writing to the modem failed: %(error)s", error=str(exc)),
                line_fault=True,
            ) from exc

    def _read_some(self):
        try:
            waiting = self._serial.in_waiting
            data = self._serial.read(waiting or 1)
        except (serial.SerialException, OSError) as exc:
            raise ModemError(
                _lt("Reading from the modem failed: %(error)s", error=str(exc)),
                line_fault=True,
            ) from exc
        self._buffer.extend(data)
        return bool(data)

    def _pop_line(self):
        """The next complete non-empty line in the buffer, or None."""
        while True:
            while self._buffer[:1] in (b"\r", b"\n"):
                del self._buffer[0]
            match = re.search(rb"[\r\n]", self._buffer)
            if not match:
                return None
            raw = bytes(self._buffer[: match.start()])
            del self._buffer[: match.end()]
            line = _decode_line(raw).strip().strip(CTRL_Z + ESC).strip()
            if line:
                return line

    def _next_token(self, deadline, prompt=False, what="an answer"):
        """The next non-empty line, or the ``> `` prompt when ``prompt``."""
        while True:
            while self._buffer[:1] in (b"\r", b"\n"):
                del self._buffer[0]
            if prompt and self._buffer[:1] == b">":
                del self._buffer[0]
                if self._buffer[:1] == b" ":
                    del self._buffer[0]
                return _PROMPT
            line = self._pop_line()
            if line is not None:
                return line
            if time.monotonic() >= deadline:
                raise ModemTimeout(
                    _lt(
                        "No %(answer)s from the modem within the time limit.",
                        answer=what,
                    )
                )
            self._read_some()

    def _take_urc(self, line, deadline):
        """Queue ``line`` when it is an unsolicited result code."""
        if not line.startswith(URC_PREFIXES):
            return False
        head, _sep, rest = line.partition(":")
        kind = head.lstrip("+")
        urc = Urc(
            kind if kind in ("CMTI", "CDSI", "CDS", "CMT", "CUSD") else "OTHER", line
        )
        if urc.kind in ("CMTI", "CDSI"):
            values = rest.split(",")
            urc.mem = values[0].strip().strip('"')
            try:
                urc.index = int(values[-1])
            except ValueError:
                urc.kind = "OTHER"
        elif urc.kind in ("CDS", "CMT"):
            # PDU mode: "+CDS: <length>" / "+CMT: [<alpha>],<length>", then the PDU
            # line (text mode has more fields and no PDU line)
            fields = rest.split(",")
            if (urc.kind == "CDS" and len(fields) == 1) or (
                urc.kind == "CMT" and len(fields) == 2
            ):
                # the PDU line comes with its header: wait for it a moment
                # past the deadline at most (never the whole budget again)
                try:
                    token = self._next_token(
                        max(deadline, time.monotonic() + self.pdu_grace), what="PDU"
                    )
                except ModemTimeout:
                    urc.kind = "OTHER"
                else:
                    if _HEX.fullmatch(token):
                        urc.pdu = token
                    else:
                        # not a PDU (a header cut short, then "OK"...): the
                        # line belongs to whoever reads next
                        self._buffer[:0] = token.encode("utf-8") + b"\r\n"
                        urc.kind = "OTHER"
        self.urcs.append(urc)
        return True

    def _drain(self):
        """Read what is already waiting: keep the URCs, drop stale answers."""
        if self._serial is None:
            return
        try:
            while self._serial.in_waiting:
                self._read_some()
        except (serial.SerialException, OSError) as exc:
            raise ModemError(
                _lt("Reading from the modem failed: %(error)s", error=str(exc)),
                line_fault=True,
            ) from exc
        while True:
            line = self._pop_line()
            if line is None:
                return
            if not self._take_urc(line, time.monotonic()):
                self._stale(line)

    def _stale(self, line):
        match = re.match(r"\+CMGS:\s*(\d+)", line)
        if match:
            self.late_references.append(int(match.group(1)))
        _logger.debug("modem %s: stale line %r", self.port, line)

    def resync(self, deadline=None):
        """Bring the modem back to command mode and swallow stale answers:
        ESC (leaves a PDU prompt), ``AT`` until ``OK``, then whatever still
        comes until the line stays quiet for :attr:`quiet_period`."""
        deadline = deadline or time.monotonic() + self.timeout
        with self._lock:
            self._write(ESC + "\r")
            self._write("AT\r")
            try:
                while True:
                    token = self._next_token(deadline, prompt=True, what="OK to AT")
                    if token == "OK":
                        break
                    self._discard(token, deadline)
                while True:
                    quiet_until = time.monotonic() + self.quiet_period
                    while time.monotonic() < quiet_until and not self._pending():
                        self._read_some()
                    if not self._pending():
                        break
                    if time.monotonic() >= deadline:
                        raise ModemTimeout(_lt("The modem does not stop talking."))
                    while (line := self._pop_line()) is not None:
                        self._discard(line, deadline)
                    self._read_some()
            except ModemTimeout as exc:
                raise ModemTimeout(
                    _lt(
                        "The modem does not answer to AT (%(error)s).",
                        error=exc.sentence,
                    )
                ) from exc
            self._buffer.clear()
            self._dirty = False

    def _pending(self):
        """Whether the buffer holds more than line ends and prompt characters."""
        return bool(self._buffer.strip(b"\r\n> "))

    def _discard(self, token, deadline):
        if token is not _PROMPT and not self._take_urc(token, deadline):
            self._stale(token)

    # -- commands -----------------------------------------------------------------
    def command(self, command, timeout=None):
        """Send one command; return its information lines (final ``OK`` left
        out). Raises :class:`ModemError` for ``ERROR``/``+CMS``/``+CME``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            self._prepare(deadline)
            self._write(command + "\r")
            try:
                return self._read_answer(command, deadline)
            except ModemTimeout:
                self._dirty = True
                raise

    def _prepare(self, deadline):
        if self._serial is None:
            raise ModemError(_lt("The modem port is not open."), line_fault=True)
        if self._dirty:
            self.resync(deadline)
        else:
            self._drain()

    def _read_answer(self, command, deadline, echo=()):
        lines = []
        echoes = {command, *echo}
        while True:
            line = self._next_token(deadline, what=f"answer to {command}")
            if line in echoes:
                continue
            if line == "OK":
                return lines
            self._raise_if_error(line, command)
            if self._take_urc(line, deadline):
                continue
            lines.append(line)

    def _raise_if_error(self, line, command):
        match = re.match(r"\+(CMS|CME) ERROR:\s*(.*)$", line)
        if match:
            kind, value = match.groups()
            try:
                code = int(value)
            except ValueError:
                raise ModemError(
                    _lt(
                        "%(error)s (+%(kind)s ERROR) on %(command)s",
                        error=value,
                        kind=kind,
                        command=command,
                    ),
                    kind=kind,
                ) from None
            raise error_from_code(kind, code, command)
        if line in FINAL_ERRORS:
            raise ModemError(
                _lt(
                    "The modem answered %(answer)s to %(command)s.",
                    answer=line,
                    command=command,
                ),
            )

    def _query(self, command, prefix, timeout=None):
        """The values after ``prefix`` in the answer to ``command``."""
        for line in self.command(command, timeout=timeout):
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise ModemError(
            _lt(
                "No %(prefix)s in the answer to %(command)s.",
                prefix=prefix,
                command=command,
            )
        )
