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

This module holds the driver's commands (setup, SIM, sending, status, storage,
USSD); the rest is split by concern, every name still importable from here:

- :mod:`.modem_line`: the serial line and its AT tokens (:class:`AtLine`, the
  base of the driver: reading, URCs, resync, one command);
- :mod:`.modem_errors`: ``+CMS``/``+CME`` error codes, :class:`ModemError`;
- :mod:`.modem_answers`: answers read into values (URCs, stored messages,
  signal, registration, USSD).
"""

import logging
import re
import time

from odoo.addons.sms_mailing.tools.i18n import lazy_translate

# The line, the errors and the answers, importable from here as before.
from .modem_answers import (  # noqa: F401
    _HEX,
    _QUOTED,
    REGISTRATION,
    SIGNAL_QUALITY,
    Signal,
    StoredMessage,
    Urc,
    _int_or,
    _parse_listing,
    decode_ussd_text,
    parse_cusd,
    rssi_to_dbm,
)
from .modem_errors import (  # noqa: F401
    CME_ERRORS,
    CMS_ERRORS,
    FAILURE_TYPES,
    LINE_FAULTS,
    ModemError,
    ModemTimeout,
    error_from_code,
)
from .modem_line import (  # noqa: F401
    _PORT_LOCKS,
    _PORT_LOCKS_GUARD,
    _PROMPT,
    CTRL_Z,
    ESC,
    FINAL_ERRORS,
    URC_PREFIXES,
    AtLine,
    _decode_line,
    port_lock,
)

_logger = logging.getLogger(__name__)
_lt = lazy_translate(__name__)


class ModemDriver(AtLine):
    """Talk to one modem. Use as a context manager or ``open()``/``close()``.

    ``timeout`` bounds every answer (seconds); ``send_timeout`` the wait for
    ``+CMGS`` after a PDU (the network round trip), ``timeout`` by default.
    ``report_mode``: ``"direct"`` asks for status reports as ``+CDS`` on the
    line (``AT+CNMI=2,1,0,1,0``), ``"stored"`` for reports kept in the modem's
    storage and announced by ``+CDSI`` (``AT+CNMI=2,1,0,2,0``), which survive
    while nobody has the port open.
    """

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
        super().__init__(
            port, baudrate=baudrate, timeout=timeout, serial_factory=serial_factory
        )
        self.send_timeout = float(send_timeout or timeout)
        self.pin = pin or None
        self.smsc = smsc or None
        self.report_mode = report_mode

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
    def send_pdu(self, pdu, length, before_write=None):
        """Send one SMS-SUBMIT; return its TP-MR (0-255) from ``+CMGS``.

        ``before_write()`` is called at the ``>`` prompt, just before the PDU
        is written (a hand-over); when it raises, the modem leaves the prompt
        and nothing is sent."""
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
            if before_write is not None:
                try:
                    before_write()
                except BaseException:
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
                    seconds=format(self.send_timeout, "g"),
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
                            seconds=format(timeout, "g"),
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
