"""A GSM modem driver: AT commands (3GPP TS 27.005 / 27.007) over pyserial.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences). The
port is anything ``serial.serial_for_url`` opens: a device (``/dev/ttyUSB0``), ``socket://host:port``,
``rfc2217://host:port`` or ``loop://``.

One driver is one conversation with the modem. Every exchange (a command and
its answer, or the whole ``AT+CMGS`` prompt dance) holds a lock shared by every
driver of the same port in this process, so two threads never interleave on the
line; across processes the caller serialises (the Odoo provider takes a
PostgreSQL advisory lock). Unsolicited result codes (``+CMTI``, ``+CDS``,
``+CDSI``, ``+CUSD``...) met while reading are kept in :attr:`ModemDriver.urcs`.
"""

import codecs
import collections
import dataclasses
import logging
import re
import threading
import time

import serial

from odoo.addons.sms_mailing.tools.i18n import lazy_translate, translate

from . import pdu as pdu_codec

_logger = logging.getLogger(__name__)
_lt = lazy_translate(__name__)


def _seconds(value):
    """Seconds as a sentence shows them: ``2.0`` -> ``"2"``, ``0.3`` -> ``"0.3"``.

    (Not an f-string inside ``_lt()``: the term extractor evaluates those.)
    """
    return format(value, "g")


CTRL_Z = "\x1a"
ESC = "\x1b"

# -- error codes ----------------------------------------------------------------
# code -> (sentence, transient). "Transient" means the message may go through
# later or through another provider (network, SIM, modem state); permanent
# means this message will never be accepted as it is (number, content).
CMS_ERRORS = {
    1: (_lt("Unassigned (unallocated) number"), False),
    8: (_lt("Operator determined barring"), False),
    10: (_lt("Call barred"), False),
    17: (_lt("Network failure"), True),
    21: (_lt("Short message transfer rejected"), False),
    22: (_lt("Memory capacity exceeded"), True),
    27: (_lt("Destination out of service"), True),
    28: (_lt("Unidentified subscriber"), False),
    29: (_lt("Facility rejected"), False),
    30: (_lt("Unknown subscriber"), False),
    38: (_lt("Network out of order"), True),
    41: (_lt("Temporary failure"), True),
    42: (_lt("Congestion"), True),
    47: (_lt("Resources unavailable"), True),
    50: (_lt("Requested facility not subscribed"), False),
    69: (_lt("Requested facility not implemented"), False),
    81: (_lt("Invalid short message transfer reference value"), True),
    95: (_lt("Invalid message"), False),
    96: (_lt("Invalid mandatory information"), False),
    97: (_lt("Message type non-existent or not implemented"), False),
    98: (_lt("Message not compatible with the short message protocol state"), True),
    99: (_lt("Information element non-existent or not implemented"), False),
    111: (_lt("Protocol error"), True),
    127: (_lt("Interworking error"), True),
    128: (_lt("Telematic interworking not supported"), False),
    129: (_lt("Short message type 0 not supported"), False),
    130: (_lt("Cannot replace short message"), False),
    143: (_lt("Unspecified TP-PID error"), False),
    144: (_lt("Data coding scheme (alphabet) not supported"), False),
    145: (_lt("Message class not supported"), False),
    159: (_lt("Unspecified TP-DCS error"), False),
    160: (_lt("Command cannot be actioned"), False),
    161: (_lt("Command unsupported"), False),
    175: (_lt("Unspecified TP-Command error"), False),
    176: (_lt("TPDU not supported"), False),
    192: (_lt("Service centre busy"), True),
    193: (_lt("No service centre subscription"), True),
    194: (_lt("Service centre system failure"), True),
    195: (_lt("Invalid recipient address"), False),
    196: (_lt("Recipient barred"), False),
    197: (_lt("Message rejected as a duplicate"), False),
    198: (_lt("Validity period format not supported"), False),
    199: (_lt("Validity period not supported"), False),
    208: (_lt("SIM SMS storage full"), True),
    209: (_lt("No SMS storage capability in the SIM"), True),
    210: (_lt("Error in the modem"), True),
    211: (_lt("Memory capacity exceeded"), True),
    212: (_lt("SIM application toolkit busy"), True),
    213: (_lt("SIM data download error"), True),
    255: (_lt("Unspecified error cause"), True),
    300: (_lt("Modem failure"), True),
    301: (_lt("SMS service of the modem reserved"), True),
    302: (_lt("Operation not allowed"), True),
    303: (_lt("Operation not supported"), True),
    304: (_lt("Invalid PDU mode parameter"), False),
    305: (_lt("Invalid text mode parameter"), False),
    310: (_lt("SIM not inserted"), True),
    311: (_lt("SIM PIN required"), True),
    312: (_lt("PH-SIM PIN required"), True),
    313: (_lt("SIM failure"), True),
    314: (_lt("SIM busy"), True),
    315: (_lt("SIM wrong"), True),
    316: (_lt("SIM PUK required"), True),
    317: (_lt("SIM PIN2 required"), True),
    318: (_lt("SIM PUK2 required"), True),
    320: (_lt("Memory failure"), True),
    321: (_lt("Invalid memory index"), False),
    322: (_lt("Memory full"), True),
    330: (_lt("Service centre address unknown"), True),
    331: (_lt("No network service"), True),
    332: (_lt("Network timeout"), True),
    340: (_lt("No +CNMA acknowledgement expected"), True),
    500: (_lt("Unknown error"), True),
}
CME_ERRORS = {
    0: (_lt("Phone failure"), True),
    1: (_lt("No connection to phone"), True),
    2: (_lt("Phone-adaptor link reserved"), True),
    3: (_lt("Operation not allowed"), True),
    4: (_lt("Operation not supported"), True),
    5: (_lt("PH-SIM PIN required"), True),
    10: (_lt("SIM not inserted"), True),
    11: (_lt("SIM PIN required"), True),
    12: (_lt("SIM PUK required"), True),
    13: (_lt("SIM failure"), True),
    14: (_lt("SIM busy"), True),
    15: (_lt("SIM wrong"), True),
    16: (_lt("Incorrect password"), True),
    17: (_lt("SIM PIN2 required"), True),
    18: (_lt("SIM PUK2 required"), True),
    20: (_lt("Memory full"), True),
    21: (_lt("Invalid index"), False),
    22: (_lt("Not found"), False),
    23: (_lt("Memory failure"), True),
    24: (_lt("Text string too long"), False),
    25: (_lt("Invalid characters in text string"), False),
    26: (_lt("Dial string too long"), False),
    27: (_lt("Invalid characters in dial string"), False),
    30: (_lt("No network service"), True),
    31: (_lt("Network timeout"), True),
    32: (_lt("Network not allowed, emergency calls only"), True),
    100: (_lt("Unknown error"), True),
}

# Errors that stop the whole line (no point in trying the next message).
LINE_FAULTS = {
    ("CMS", code) for code in (300, 301, 310, 311, 312, 313, 315, 316, 330, 331, 332)
} | {("CME", code) for code in (0, 1, 10, 11, 12, 13, 15, 16, 30, 32)}

# Odoo failure types of the permanent errors about the recipient.
FAILURE_TYPES = {
    ("CMS", 1): "sms_number_format",
    ("CMS", 8): "sms_not_allowed",
    ("CMS", 10): "sms_not_allowed",
    ("CMS", 21): "sms_rejected",
    ("CMS", 28): "sms_invalid_destination",
    ("CMS", 30): "sms_invalid_destination",
    ("CMS", 195): "sms_number_format",
    ("CMS", 196): "sms_not_allowed",
}

REGISTRATION = {
    0: ("not_registered", _lt("not registered, not searching")),
    1: ("home", _lt("registered on the home network")),
    2: ("searching", _lt("searching for a network")),
    3: ("denied", _lt("registration denied")),
    4: ("unknown", _lt("registration state unknown")),
    5: ("roaming", _lt("registered, roaming")),
}

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


class ModemError(Exception):
    """The modem refused or did not answer.

    ``transient``: another try (later, or through another provider) may work.
    ``line_fault``: the modem, its SIM or its network is down, the following
    messages would fail the same way.

    >>> err = ModemError(_lt("The modem port is not open."))
    >>> err.message, str(err)
    ('The modem port is not open.', 'The modem port is not open.')
    """

    maybe_sent = False  # the PDU may have reached the network (in doubt)

    def __init__(
        self,
        message,
        code=None,
        kind=None,
        transient=True,
        line_fault=False,
        failure_type=None,
    ):
        # ``sentence`` is what a user reads (a lazy sentence, translated by
        # the provider client into its language); ``message`` the same in
        # English, for logs and for the driver's own decisions.
        self.sentence = message
        self.message = translate(message, "en_US")
        super().__init__(self.message)
        self.code = code
        self.kind = kind
        self.transient = transient
        self.line_fault = line_fault
        self.failure_type = failure_type or ("sms_server" if transient else "unknown")


class ModemTimeout(ModemError):
    """No (complete) answer in time. ``maybe_sent``: the PDU had been written."""

    def __init__(self, message, maybe_sent=False):
        super().__init__(message, transient=True, line_fault=True)
        self.maybe_sent = maybe_sent


def error_from_code(kind, code, command=None):
    """The :class:`ModemError` of ``+CMS ERROR: <code>`` / ``+CME ERROR: <code>``."""
    table = CMS_ERRORS if kind == "CMS" else CME_ERRORS
    text, transient = table.get(code, (None, True))
    if text is None:
        if kind == "CMS" and code >= 512:
            text = _lt("Manufacturer-specific error %(code)s", code=code)
        else:
            text = _lt("Unknown error %(code)s", code=code)
    if command:
        message = _lt(
            "%(error)s (+%(kind)s ERROR: %(code)s) on %(command)s",
            error=text,
            kind=kind,
            code=code,
            command=command,
        )
    else:
        message = _lt(
            "%(error)s (+%(kind)s ERROR: %(code)s)", error=text, kind=kind, code=code
        )
    return ModemError(
        message,
        code=code,
        kind=kind,
        transient=transient,
        line_fault=(kind, code) in LINE_FAULTS,
        failure_type=FAILURE_TYPES.get((kind, code)),
    )


# -- results --------------------------------------------------------------------
@dataclasses.dataclass
class Urc:
    """An unsolicited result code."""

    kind: str  # "CMTI", "CDSI", "CDS", "CMT", "CUSD" or "OTHER"
    line: str
    mem: str | None = None
    index: int | None = None
    pdu: str | None = None


@dataclasses.dataclass
class StoredMessage:
    index: int
    stat: int  # 0 received unread, 1 received read, 2 stored unsent, 3 sent
    pdu: str
    mem: str = "SM"


# How a user reads Signal.quality.
SIGNAL_QUALITY = {
    "excellent": _lt("excellent"),
    "good": _lt("good"),
    "fair": _lt("fair"),
    "poor": _lt("poor"),
    "unknown": _lt("unknown"),
}


@dataclasses.dataclass
class Signal:
    rssi: int
    ber: int
    dbm: int | None  # None when unknown (rssi 99)

    @property
    def quality(self):
        if self.dbm is None:
            return "unknown"
        if self.dbm >= -73:
            return "excellent"
        if self.dbm >= -83:
            return "good"
        if self.dbm >= -93:
            return "fair"
        return "poor"


def rssi_to_dbm(rssi):
    """``AT+CSQ`` rssi -> dBm (TS 27.007 8.5): 0 is -113 or less, 31 is -51 or
    more, 99 unknown (None)."""
    if rssi is None or rssi == 99 or not 0 <= rssi <= 31:
        return None
    return -113 + 2 * rssi


_PORT_LOCKS = collections.defaultdict(threading.RLock)
_PORT_LOCKS_GUARD = threading.Lock()


def port_lock(port):
    """The lock every driver of ``port`` holds while it talks on the line."""
    with _PORT_LOCKS_GUARD:
        return _PORT_LOCKS[port]


_QUOTED = re.compile(r'"([^"]*)"')


class ModemDriver:
    """Talk to one modem. Use as a context manager or ``open()``/``close()``.

    ``timeout`` bounds every answer (seconds); ``send_timeout`` the wait for
    ``+CMGS`` after a PDU (the network round trip), ``timeout`` by default.
    ``report_mode``: ``"direct"`` asks for status reports as ``+CDS`` on the
    line (``AT+CNMI=2,1,0,1,0``), ``"stored"`` for reports kept in the modem's
    storage and announced by ``+CDSI`` (``AT+CNMI=2,1,0,2,0``), which survive
    while nobody has the port open.
    """

    quiet_period = 0.2  # silence that ends a resync (late answers come first)
    pdu_grace = 0.5  # wait for the PDU line of a +CDS/+CMT met at the deadline

    def __init__(
        self,
        port,
        baudrate=115200,
        timeout=10.0,
        pin=None,
        smsc=None,
        send_timeout=None,
        serial_factory=None,
        report_mode="direct",
    ):
        self.port = port
        self.baudrate = baudrate
        self.timeout = float(timeout)
        self.send_timeout = float(send_timeout or timeout)
        self.pin = pin or None
        self.smsc = smsc or None
        self.report_mode = report_mode
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

    # -- setup --------------------------------------------------------------------
    def initialize(self):
        """Reset, echo off, verbose errors, PIN, PDU mode, storage, indications."""
        with self._lock:
            self.open()
            self.resync()
            self.command("ATZ")
            self.command("ATE0")
            self.command("AT+CMEE=1")
            self._unlock_sim()
            self.command("AT+CMGF=0")
            self._select_storage()
            self._enable_indications()
            if self.smsc:
                self.command(f'AT+CSCA="{self.smsc}",145')
            self.initialized = True
        return self

    def sim_state(self):
        """``READY``, ``SIM PIN``, ``SIM PUK``..."""
        return self._query("AT+CPIN?", "+CPIN:").strip('"').upper()

    def _unlock_sim(self):
        state = self.sim_state()
        if state == "READY":
            return
        if state == "SIM PIN":
            if not self.pin:
                raise ModemError(
                    _lt("The SIM card asks for its PIN: set the PIN on the provider."),
                    line_fault=True,
                )
            if not re.fullmatch(r"\d{4,8}", self.pin):
                raise ModemError(
                    _lt("The SIM PIN must be 4 to 8 digits."),
                    transient=False,
                    line_fault=True,
                )
            try:
                self.command(f'AT+CPIN="{self.pin}"')
            except ModemError as exc:
                raise ModemError(
                    _lt(
                        "The SIM card refused the PIN: %(error)s. Check it before "
                        "trying again: after 3 wrong PINs the SIM needs its PUK.",
                        error=exc.sentence,
                    ),
                    code=exc.code,
                    kind=exc.kind,
                    line_fault=True,
                ) from exc
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    if self.sim_state() == "READY":
                        return
                except ModemError as exc:
                    if exc.code != 14:  # SIM busy: it is starting
                        raise
                if time.monotonic() >= deadline:
                    raise ModemError(_lt("The SIM card is not ready after the PIN."))
                time.sleep(0.2)
        if state == "SIM PUK":
            raise ModemError(
                _lt("The SIM card is blocked: it needs its PUK (put it in a phone)."),
                line_fault=True,
            )
        raise ModemError(
            _lt("The SIM card is not ready (%(state)s).", state=state), line_fault=True
        )

    def _select_storage(self):
        for command in ('AT+CPMS="SM","SM","SM"', 'AT+CPMS="SM","SM"', 'AT+CPMS="SM"'):
            try:
                self.command(command)
                return
            except ModemError as exc:
                _logger.info("modem %s: %s failed: %s", self.port, command, exc)
        _logger.warning("modem %s: the SIM storage cannot be selected", self.port)

    def _enable_indications(self):
        # mode 2, +CMTI for stored messages; status reports as +CDS ("direct",
        # lost when nobody listens) or stored and announced by +CDSI ("stored");
        # the other one, then mode 1, when the modem refuses
        direct, stored = "AT+CNMI=2,1,0,1,0", "AT+CNMI=2,1,0,2,0"
        first, second = (
            (stored, direct)
            if self.report_mode == "stored"
            else (
                direct,
                stored,
            )
        )
        for command in (first, second, "AT+CNMI=1,1,0,1,0"):
            try:
                self.command(command)
                return
            except ModemError as exc:
                _logger.info("modem %s: %s failed: %s", self.port, command, exc)
        _logger.warning(
            "modem %s: no new message indications; inbound SMS are polled", self.port
        )

    # -- sending ------------------------------------------------------------------
    def send_pdu(self, pdu, length):
        """Send one SMS-SUBMIT; return its TP-MR (0-255) from ``+CMGS``."""
        with self._lock:
            deadline = time.monotonic() + self.timeout
            self._prepare(deadline)
            command = f"AT+CMGS={int(length)}"
            self._write(command + "\r")
            try:
                while True:
                    token = self._next_token(deadline, prompt=True, what="> prompt")
                    if token is _PROMPT:
                        break
                    if token == command:
                        continue
                    self._raise_if_error(token, command)
                    if not self._take_urc(token, deadline):
                        # the modem may still wait for a PDU: leave that state
                        # before anything else is written
                        self._dirty = True
                        self._write(ESC)
                        raise ModemError(
                            _lt(
                                "Unexpected answer to %(command)s: %(answer)s",
                                command=command,
                                answer=repr(token),
                            )
                        )
            except ModemTimeout:
                self._dirty = True
                self._write(ESC)
                raise
            return self._submit_pdu(pdu)

    def _submit_pdu(self, pdu):
        """Write the PDU and Ctrl-Z; return the TP-MR of ``+CMGS``.

        From the moment the PDU is written, only an explicit refusal
        (``+CMS ERROR``, ``ERROR``) means "not sent": a line that drops, an
        answer that never comes or makes no sense, an ``OK`` without
        reference leave the message in doubt (:attr:`ModemError.maybe_sent`),
        so that nobody resends it blindly.
        """
        reference = None
        try:
            self._write(pdu + CTRL_Z)
            deadline = time.monotonic() + self.send_timeout
            while True:
                token = self._next_token(deadline, what="+CMGS")
                if token == pdu:  # echo
                    continue
                if token == "OK":
                    if reference is None:
                        raise ModemError(_lt("The modem gave no message reference."))
                    return reference
                match = re.match(r"\+CMGS:\s*(\d+)", token)
                if match:
                    reference = int(match.group(1))
                    continue
                self._raise_if_error(token, "AT+CMGS")
                if not self._take_urc(token, deadline):
                    self._stale(token)
        except ModemTimeout as exc:
            self._dirty = True
            raise ModemTimeout(
                _lt(
                    "The modem did not confirm the message within %(seconds)s s; "
                    "it may have been sent.",
                    seconds=_seconds(self.send_timeout),
                ),
                maybe_sent=True,
            ) from exc
        except ModemError as exc:
            if exc.kind or exc.message.startswith("The modem answered"):
                raise  # refused by the modem: not sent
            self._dirty = True
            doubt = ModemError(
                _lt(
                    "%(error)s The message had already been handed to the modem: "
                    "it may have been sent.",
                    error=exc.sentence,
                ),
                line_fault=exc.line_fault,
            )
            doubt.maybe_sent = True
            raise doubt from exc

    # -- status ---------------------------------------------------------------------
    def signal(self):
        answer = self._query("AT+CSQ", "+CSQ:")
        values = answer.split(",")
        rssi = _int_or(values[0], None)
        if rssi is None:
            raise ModemError(
                _lt("Unreadable answer to AT+CSQ: %(answer)s", answer=repr(answer))
            )
        ber = _int_or(values[1], 99) if len(values) > 1 else 99
        return Signal(rssi, ber, rssi_to_dbm(rssi))

    def registration(self):
        """``(stat, key, sentence)`` of ``AT+CREG?``, stat 0-5."""
        answer = self._query("AT+CREG?", "+CREG:")
        values = answer.split(",")
        stat = _int_or(values[1] if len(values) > 1 else values[0], None)
        if stat is None:
            raise ModemError(
                _lt("Unreadable answer to AT+CREG?: %(answer)s", answer=repr(answer))
            )
        key, text = REGISTRATION.get(
            stat, ("unknown", _lt("registration state %(state)s", state=stat))
        )
        return stat, key, text

    def ussd(self, code, timeout=None):
        """Send a USSD request such as ``*100#``; return the network's text."""
        if not re.fullmatch(r"[0-9*#+]{1,40}", code or ""):
            raise ModemError(
                _lt("%(code)s is not a USSD code.", code=repr(code)), transient=False
            )
        timeout = timeout or max(self.timeout, 15.0)
        deadline = time.monotonic() + timeout
        with self._lock:
            self.command(f'AT+CUSD=1,"{code}",15', timeout=timeout)
            while True:
                for urc in list(self.urcs):
                    if urc.kind == "CUSD":
                        self.urcs.remove(urc)
                        return parse_cusd(urc.line)
                try:
                    token = self._next_token(deadline, what="USSD answer")
                except ModemTimeout as exc:
                    raise ModemTimeout(
                        _lt(
                            "No answer from the network to %(code)s within "
                            "%(seconds)s s.",
                            code=code,
                            seconds=_seconds(timeout),
                        )
                    ) from exc
                self._raise_if_error(token, "AT+CUSD")
                if not self._take_urc(token, deadline):
                    self._stale(token)

    # -- storage ----------------------------------------------------------------
    def list_messages(self, stat=4):
        """Messages in the current storage (``AT+CMGL``; 4 = all)."""
        lines = self.command(f"AT+CMGL={stat}")
        return _parse_listing(lines, "+CMGL:")

    def read_message(self, index):
        """``AT+CMGR``; None when the index is empty."""
        try:
            lines = self.command(f"AT+CMGR={int(index)}")
        except ModemError as exc:
            if (exc.kind, exc.code) in (("CMS", 321), ("CME", 21), ("CME", 22)):
                return None
            raise
        if len(lines) < 2 or not lines[0].startswith("+CMGR:"):
            return None
        stat = _int_or(lines[0][6:].split(",")[0], 1)
        return StoredMessage(int(index), stat, lines[1])

    def delete_message(self, index):
        self.command(f"AT+CMGD={int(index)}")

    def select_storage(self, mem):
        """Read/delete from ``mem`` (``SM``, ``ME``, ``SR``...)."""
        self.command(f'AT+CPMS="{mem}"')

    def poll(self, timeout=0.0):
        """Collect unsolicited result codes for up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._serial is None:
                return list(self.urcs)
            self._drain()
            while time.monotonic() < deadline:
                try:
                    token = self._next_token(deadline)
                except ModemTimeout:
                    break
                if not self._take_urc(token, deadline):
                    self._stale(token)
        return list(self.urcs)

    def take_urcs(self, *kinds):
        """Remove and return the queued URCs of ``kinds``."""
        taken = [urc for urc in self.urcs if urc.kind in kinds]
        for urc in taken:
            self.urcs.remove(urc)
        return taken


def _int_or(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _decode_line(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_listing(lines, prefix):
    messages = []
    head = None
    for line in lines:
        if line.startswith(prefix):
            head = line[len(prefix) :].split(",")
            continue
        if head is not None:
            index = _int_or(head[0], None)
            if index is not None:
                stat = _int_or(head[1], 1) if len(head) > 1 else 1
                messages.append(StoredMessage(index, stat, line))
            head = None
    return messages


_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def parse_cusd(line):
    """Text of a ``+CUSD: <m>[,"<str>"[,<dcs>]]`` answer.

    Hex strings are decoded: UCS-2 when the data coding scheme says so (or
    the text is hex of UTF-16), packed GSM-7 when the modem hands the raw
    septets out as hex (many Huawei modems).
    """
    rest = line.partition(":")[2].strip()
    status = _int_or(rest.split(",")[0], 0)
    match = _QUOTED.search(rest)
    text = match.group(1) if match else ""
    dcs = _int_or(rest[match.end() :].lstrip(",").strip(), 15) if match else 15
    if status == 4:
        raise ModemError(
            _lt("The network does not support this USSD code."), transient=False
        )
    if status == 5:
        raise ModemTimeout(_lt("The USSD session timed out on the network."))
    if not text and status == 2:
        raise ModemError(_lt("The network ended the USSD session without an answer."))
    return decode_ussd_text(text, dcs)


def decode_ussd_text(text, dcs=15):
    if not text or not _HEX.fullmatch(text):
        return text
    data = bytes.fromhex(text)
    if dcs == 72 or (dcs & 0xF0 == 0x40 and dcs & 0x0C == 0x08) or dcs == 0x11:
        return codecs.decode(data, "utf-16-be", "replace")
    if len(text) < 8:
        return text  # a short number such as "1234" is not hex data
    septets = pdu_codec.unpack_septets(data)
    if len(data) * 8 % 7 == 0 and septets[-1] in (0x00, 0x0D):
        septets = septets[:-1]  # 7 spare bits: padding (zero, or CR per TS 23.038)
    decoded = pdu_codec.segments.gsm7_decode(septets)
    if all(ch.isprintable() or ch in "\n\r" for ch in decoded):
        return decoded
    return text
