"""A GSM modem on a pseudo-terminal (or a TCP socket) for tests.

It speaks AT commands like a real modem (3GPP TS 27.005 / 27.007): echo on until
``ATE0``, ``OK``/``ERROR``/``+CME ERROR``/``+CMS ERROR``, the SIM PIN, the ``> ``
prompt of ``AT+CMGS`` and the PDU up to Ctrl-Z, ``+CMGS: <mr>`` with a reference
that wraps at 255, SIM storage with ``+CMTI`` notifications, ``+CDS``/``+CDSI``
status reports, ``+CSQ``, ``+CREG``, ``+CUSD``; and slow or missing answers when
told.

Its PDU code is written apart from ``sms_provider_modem.tools.pdu`` on purpose
(another table, bit lists instead of integer shifts): it decodes every SMS-SUBMIT
it receives so that tests assert what went over the line, and it builds the
SMS-DELIVER and SMS-STATUS-REPORT PDUs it injects itself.

Usage::

    with FakeModem() as modem:
        driver = ModemDriver(modem.port)        # a /dev/pts/N path
        ...
        modem.sent              # decoded SMS-SUBMIT parts, in order
        modem.messages()        # the parts joined per message
        modem.receive("+33612345678", "Stop")   # stored on the SIM + "+CMTI"
        modem.report(mr)        # "+CDS" status report: delivered

No Odoo import: used by the pytest tests at the repository root and by the Odoo
tests of the addon.
"""

import dataclasses
import datetime
import os
import re
import select
import socket
import threading
import time
import tty

CTRL_Z = 0x1A
ESC = 0x1B

# -- GSM 03.38 default alphabet, written from the standard's table ----------
# Positions 0x20-0x7F that are not listed hold the ASCII character of that code.
_GSM_SPECIAL = {
    0x00: "@",
    0x01: "\u00a3",  # POUND SIGN
    0x02: "$",
    0x03: "\u00a5",  # YEN SIGN
    0x04: "\u00e8",  # e grave
    0x05: "\u00e9",  # e acute
    0x06: "\u00f9",  # u grave
    0x07: "\u00ec",  # i grave
    0x08: "\u00f2",  # o grave
    0x09: "\u00c7",  # C cedilla (capital, as the standard's table has it)
    0x0A: "\n",
    0x0B: "\u00d8",  # O stroke
    0x0C: "\u00f8",  # o stroke
    0x0D: "\r",
    0x0E: "\u00c5",  # A ring
    0x0F: "\u00e5",  # a ring
    0x10: "\u0394",  # GREEK CAPITAL LETTER DELTA
    0x11: "_",
    0x12: "\u03a6",  # PHI
    0x13: "\u0393",  # GAMMA
    0x14: "\u039b",  # LAMDA
    0x15: "\u03a9",  # OMEGA
    0x16: "\u03a0",  # PI
    0x17: "\u03a8",  # PSI
    0x18: "\u03a3",  # SIGMA
    0x19: "\u0398",  # THETA
    0x1A: "\u039e",  # XI
    0x1C: "\u00c6",  # AE
    0x1D: "\u00e6",  # ae
    0x1E: "\u00df",  # sharp s
    0x1F: "\u00c9",  # E acute
    0x24: "\u00a4",  # CURRENCY SIGN (not the dollar, which is 0x02)
    0x40: "\u00a1",  # inverted exclamation mark (not "@", which is 0x00)
    0x5B: "\u00c4",  # A diaeresis
    0x5C: "\u00d6",  # O diaeresis
    0x5D: "\u00d1",  # N tilde
    0x5E: "\u00dc",  # U diaeresis
    0x5F: "\u00a7",  # SECTION SIGN
    0x60: "\u00bf",  # inverted question mark (the backtick is not in GSM-7)
    0x7B: "\u00e4",  # a diaeresis
    0x7C: "\u00f6",  # o diaeresis
    0x7D: "\u00f1",  # n tilde
    0x7E: "\u00fc",  # u diaeresis
    0x7F: "\u00e0",  # a grave
}
_GSM_EXT = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "\u20ac",  # EURO SIGN
}


def _gsm_char(code):
    if code in _GSM_SPECIAL:
        return _GSM_SPECIAL[code]
    if 0x20 <= code <= 0x7F:
        return chr(code)
    raise KeyError(code)


GSM_DECODE = {code: _gsm_char(code) for code in range(128) if code != ESC}
GSM_ENCODE = {char: code for code, char in GSM_DECODE.items()}
GSM_EXT_ENCODE = {char: code for code, char in _GSM_EXT.items()}


def gsm_text(septets):
    """Text of GSM-7 septet values (strict: an unknown escape is an error)."""
    out = []
    it = iter(septets)
    for code in it:
        if code == ESC:
            out.append(_GSM_EXT[next(it)])
        else:
            out.append(GSM_DECODE[code])
    return "".join(out)


def gsm_codes(text):
    """GSM-7 septet values of ``text`` (escape + code for the extension)."""
    out = []
    for char in text:
        if char in GSM_ENCODE:
            out.append(GSM_ENCODE[char])
        else:
            out.extend((ESC, GSM_EXT_ENCODE[char]))
    return out


# -- bit lists: septets <-> octets, least significant bit first --------------
def _bits_of(octets):
    return [(octet >> i) & 1 for octet in octets for i in range(8)]


def _octets_of(bits):
    bits = bits + [0] * (-len(bits) % 8)
    return bytes(
        sum(bit << i for i, bit in enumerate(bits[n : n + 8]))
        for n in range(0, len(bits), 8)
    )


def septets_from(octets, skip_bits, count):
    bits = _bits_of(octets)
    if skip_bits + 7 * count > len(bits):
        raise ValueError("not enough bits for the announced septets")
    return [
        sum(bits[skip_bits + 7 * k + i] << i for i in range(7)) for k in range(count)
    ]


def septets_to(septets, lead_bits=()):
    bits = list(lead_bits)
    for septet in septets:
        bits.extend((septet >> i) & 1 for i in range(7))
    return _octets_of(bits)


# -- addresses and time stamps ----------------------------------------------
def _nibbles(octets):
    digits = ""
    for octet in octets:
        digits += f"{octet & 0xF:X}{octet >> 4:X}"
    return digits.rstrip("F")


def _swap_digits(digits):
    digits = digits + ("F" if len(digits) % 2 else "")
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def address_field(address):
    """Digit count + type + value of an originating/recipient address."""
    if address.startswith("+"):
        digits = address[1:]
        return bytes([len(digits), 0x91]) + _swap_digits(digits)
    if address.isdigit():
        return bytes([len(address), 0x81]) + _swap_digits(address)
    # alphanumeric sender: GSM-7 packed, length in semi-octets
    value = septets_to(gsm_codes(address))
    used_bits = 7 * len(gsm_codes(address))
    return bytes([(used_bits + 3) // 4, 0xD0]) + value


def _bcd(number):
    return ((number % 10) << 4) | (number // 10)


def timestamp_field(utc, tz_quarters=0):
    local = utc + datetime.timedelta(minutes=15 * tz_quarters)
    head = bytes(
        _bcd(value)
        for value in (
            local.year % 100,
            local.month,
            local.day,
            local.hour,
            local.minute,
            local.second,
        )
    )
    tz = _bcd(abs(tz_quarters)) | (0x08 if tz_quarters < 0 else 0)
    return head + bytes([tz])


SMSC_FIELD = bytes([0x07, 0x91]) + _swap_digits("27381000015")


def build_deliver(
    sender,
    text,
    ucs2=None,
    concat=None,
    utc=None,
    tz_quarters=0,
    ref16=False,
):
    """An SMS-DELIVER PDU (hex, SMSC included) and its TPDU length.

    ``concat`` is ``(reference, total, seq)`` for a part of several.
    """
    utc = utc or datetime.datetime(2024, 5, 17, 9, 30, 0)
    if ucs2 is None:
        ucs2 = any(c not in GSM_ENCODE and c not in GSM_EXT_ENCODE for c in text)
    header = b""
    if concat:
        ref, total, seq = concat
        if ref16:
            header = bytes([6, 0x08, 4, ref >> 8, ref & 0xFF, total, seq])
        else:
            header = bytes([5, 0x00, 3, ref, total, seq])
    first = 0x04 | (0x40 if header else 0)  # SMS-DELIVER, no more messages
    if ucs2:
        user_data = header + text.encode("utf-16-be")
        udl = len(user_data)
        dcs = 0x08
    else:
        codes = gsm_codes(text)
        header_bits = _bits_of(header)
        header_bits += [0] * (-len(header_bits) % 7)
        user_data = septets_to(codes, header_bits)
        udl = len(header_bits) // 7 + len(codes)
        dcs = 0x00
    tpdu = (
        bytes([first])
        + address_field(sender)
        + bytes([0x00, dcs])
        + timestamp_field(utc, tz_quarters)
        + bytes([udl])
        + user_data
    )
    return (SMSC_FIELD + tpdu).hex().upper(), len(tpdu)


def build_status_report(mr, recipient, status=0x00, utc=None):
    utc = utc or datetime.datetime(2024, 5, 17, 9, 30, 0)
    tpdu = (
        bytes([0x06, mr])  # SMS-STATUS-REPORT, no more messages
        + address_field(recipient)
        + timestamp_field(utc, 8)
        + timestamp_field(utc + datetime.timedelta(seconds=7), 8)
        + bytes([status])
    )
    return (SMSC_FIELD + tpdu).hex().upper(), len(tpdu)


# -- what the modem received --------------------------------------------------
@dataclasses.dataclass
class Submit:
    """One decoded SMS-SUBMIT as it went over the line."""

    mr: int | None
    number: str
    type_of_address: int
    first_octet: int
    status_report: bool
    validity: int | None
    dcs: int
    encoding: str  # "GSM-7", "UCS-2" or "8-bit"
    udh: bytes
    concat: tuple | None  # (ref, total, seq)
    septets: list  # GSM-7 text septets (without header), else []
    text: str
    declared_length: int
    tpdu_length: int
    smsc: str  # the SMSC prefix, hex ("00" = the modem's default)
    pdu: str


@dataclasses.dataclass
class SentMessage:
    number: str
    text: str
    encoding: str
    parts: list  # Submit, in sequence order
    mrs: list


def decode_submit(pdu_hex, declared_length):
    data = bytes.fromhex(pdu_hex)
    smsc_len = data[0]
    smsc = data[: 1 + smsc_len].hex().upper()
    tpdu = data[1 + smsc_len :]
    pos = 0
    first = tpdu[pos]
    if first & 0x03 != 0x01:
        raise ValueError("not an SMS-SUBMIT")
    digits = tpdu[pos + 2]
    toa = tpdu[pos + 3]
    pos += 4
    value = tpdu[pos : pos + (digits + 1) // 2]
    pos += (digits + 1) // 2
    number = _nibbles(value)[:digits]
    if toa == 0x91:
        number = "+" + number
    pid, dcs = tpdu[pos], tpdu[pos + 1]
    pos += 2
    if pid:
        raise ValueError("unexpected TP-PID")
    vpf = (first >> 3) & 0x03
    validity = None
    if vpf == 2:
        validity = tpdu[pos]
        pos += 1
    elif vpf in (1, 3):
        pos += 7
    udl = tpdu[pos]
    ud = tpdu[pos + 1 :]
    udh = b""
    if first & 0x40:
        udh = ud[: 1 + ud[0]]
    concat = None
    if udh:
        iei, ie_len = udh[1], udh[2]
        if iei == 0x00 and ie_len == 3:
            concat = (udh[3], udh[4], udh[5])
        elif iei == 0x08 and ie_len == 4:
            concat = ((udh[3] << 8) | udh[4], udh[5], udh[6])
    septets = []
    if dcs == 0x00:
        encoding = "GSM-7"
        header_septets = -(-len(udh) * 8 // 7)  # header and fill bits
        septets = septets_from(ud, header_septets * 7, udl - header_septets)
        text = gsm_text(septets)
        if len(ud) != -(-udl * 7 // 8):
            raise ValueError("user data length does not match TP-UDL")
    elif dcs == 0x08:
        encoding = "UCS-2"
        if len(ud) != udl:
            raise ValueError("user data length does not match TP-UDL")
        text = ud[len(udh) :].decode("utf-16-be")  # strict: no half surrogate
    else:
        raise ValueError(f"unexpected TP-DCS {dcs:#x}")
    return Submit(
        mr=None,
        number=number,
        type_of_address=toa,
        first_octet=first,
        status_report=bool(first & 0x20),
        validity=validity,
        dcs=dcs,
        encoding=encoding,
        udh=udh,
        concat=concat,
        septets=septets,
        text=text,
        declared_length=declared_length,
        tpdu_length=len(tpdu),
        smsc=smsc,
        pdu=pdu_hex,
    )


# -- the modem ----------------------------------------------------------------
# What a modem with a bad line or firmware says instead of an answer: noise,
# half a result code, a false prompt, bytes of another baud rate.
GARBAGE = b"\r\n\x00\xff+CM\r\n> \x1b\x80\xfe~~\x13\x11Q\xe9\r\nOK?\r\n+CMGS\r\n"

_EXTENDED = re.compile(r"[+^]([A-Z]+)", re.IGNORECASE)


def _split_command(line):
    """``(name, rest)`` of a command line, or None when it is not one."""
    if line[:2].upper() != "AT":
        return None
    body = line[2:]
    if not body:
        return "AT", ""
    match = _EXTENDED.match(body)
    if match:
        return match.group(1).upper(), body[match.end() :]
    if body[0].isalpha():
        return body[0].upper(), body[1:]
    return None


class FakeModem:
    """A modem on ``self.port``: a pty path, or ``socket://127.0.0.1:N``.

    Knobs (plain attributes, change them any time):

    ``pin`` (None: no PIN), ``rssi``/``ber``, ``creg_stat``, ``ussd_reply``
    (None: the network does not answer; or ``(text, style)`` with style
    ``"text"``, ``"ucs2"`` or ``"gsm7hex"``), ``delays`` (command name ->
    seconds before answering; ``"PROMPT"`` for the ``> `` prompt and
    ``"CMGS"`` for the answer after Ctrl-Z), ``mute`` (command names that
    never get an answer), ``answers`` (command name -> a fixed final answer
    such as ``"ERROR"``), ``send_errors`` (codes of ``+CMS ERROR`` for the next
    submissions, popped one per PDU, None lets one through), ``auto_report``
    (None, or a TP-ST status sent as ``+CDS`` after each submission),
    ``report_mode`` (``"cds"`` direct, ``"cdsi"`` stored on the SIM).

    Line faults (see :meth:`fault`): ``after_submit`` says what happens once
    a PDU is taken (the network has it, it counts in :attr:`sent`):
    ``None`` answers ``+CMGS``; ``"drop"`` hangs up the line without an answer
    (a socket connection is closed, as a ser2net link or a modem reset would;
    the next connection is served again); ``"silent"`` answers nothing;
    ``"garbage"`` answers bytes that mean nothing, then nothing; ``"ok"``
    answers ``OK`` without the ``+CMGS`` reference.
    ``garbage`` (a set of command names) answers garbage instead of the
    answer to those commands; ``dead`` answers nothing at all, to anything.
    """

    def __init__(self, transport="pty", pin=None, next_mr=0, capacity=30):
        self.transport = transport
        self.pin = pin
        self.pin_ok = pin is None
        self.pin_attempts = 3
        self.next_mr = next_mr
        self.capacity = capacity
        self.rssi, self.ber = 21, 99
        self.creg_stat = 1
        self.ussd_reply = ("Balance: 123.45 RUB", "text")
        self.delays = {}
        self.mute = set()
        self.answers = {}
        self.send_errors = []
        self.auto_report = None
        self.report_mode = "cds"
        self.smsc = "+27381000015"
        self.after_submit = None
        self.garbage = set()
        self.dead = False
        self.drops = 0  # connections hung up by the "drop" fault
        # state a real modem keeps
        self.echo = True
        self.cmee = 0
        self.cmgf = 0
        self.cnmi = None
        self.mem = {"SM": {}, "SR": {}}
        self.read_mem = "SM"
        # what happened
        self.commands = []  # every command line received, in order
        self.sent = []  # decoded Submit, in order
        self.rejected = []  # (pdu, reason) of submissions answered with an error
        self.errors = []  # protocol errors: garbage on the line
        self.raw = bytearray()  # every byte received
        # plumbing
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._buffer = bytearray()
        self._pdu_length = None  # waiting for a PDU after the prompt
        self._conn = None
        self._master = self._slave = self._server = None
        self.port = None

    # -- lifecycle --------------------------------------------------------
    def start(self):
        if self.transport == "pty":
            self._master, self._slave = os.openpty()
            tty.setraw(self._slave)
            self.port = os.ttyname(self._slave)
            target = self._serve_pty
        else:
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(("127.0.0.1", 0))
            self._server.listen(1)
            self._server.settimeout(0.05)
            self.port = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
            target = self._serve_socket
        self._thread = threading.Thread(target=target, name="fake-modem", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        if self._conn:
            self._conn.close()
        if self._server:
            self._server.close()
        self._master = self._slave = self._server = self._conn = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _serve_pty(self):
        while not self._stop.is_set():
            ready, _w, _x = select.select([self._master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    continue  # no reader on the slave side for now
                self._feed(data)

    def _serve_socket(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self._server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.05)
            self._conn = conn
            self._buffer.clear()
            self._pdu_length = None
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                self._feed(data)
            conn.close()
            self._conn = None

    def _write(self, text):
        data = text.encode("latin-1") if isinstance(text, str) else text
        with self._write_lock:
            if self._master is not None:
                os.write(self._master, data)
            elif self._conn is not None:
                try:
                    self._conn.sendall(data)
                except OSError as exc:  # the driver hung up: like a real line
                    self.errors.append(("write after hang-up", str(exc)))

    def _line(self, line):
        self._write(f"\r\n{line}\r\n")

    # -- input ------------------------------------------------------------
    def _feed(self, data):
        with self._lock:
            self.raw.extend(data)
            if self.dead:
                return
            if self.echo:
                self._write(bytes(data))
            for byte in data:
                if self._pdu_length is not None:
                    if byte == CTRL_Z:
                        pdu = self._buffer.decode("latin-1")
                        self._buffer.clear()
                        length, self._pdu_length = self._pdu_length, None
                        self._submit(pdu, length)
                    elif byte == ESC:
                        self._buffer.clear()
                        self._pdu_length = None
                        self.commands.append("<ESC>")
                        self._line("OK")
                    elif byte not in (0x0D, 0x0A):
                        self._buffer.append(byte)
                    continue
                if byte == 0x0D:
                    line = self._buffer.decode("latin-1").strip()
                    self._buffer.clear()
                    if line:
                        self._command(line)
                elif byte in (0x0A, ESC, CTRL_Z):
                    continue
                else:
                    self._buffer.append(byte)

    def _command(self, line):
        self.commands.append(line)
        parsed = _split_command(line)
        if not parsed:
            self.errors.append(("garbage", line))
            self._line("ERROR")
            return
        name, rest = parsed
        if name in self.mute:
            return
        if name in self.garbage:
            self._write(GARBAGE)
            return
        if name in self.answers:
            self._pause(name)
            self._line(self.answers[name])
            return
        handler = getattr(self, "_at_" + name.lower(), None)
        if handler is None:
            self._pause(name)
            self._line("ERROR")
            return
        if name != "CMGS":  # its delays are "PROMPT" and "CMGS" (after Ctrl-Z)
            self._pause(name)
        handler(rest)

    def _pause(self, name):
        delay = self.delays.get(name)
        if delay:
            time.sleep(delay)

    def _ok(self, *lines):
        for line in lines:
            self._line(line)
        self._line("OK")

    def _cme(self, code):
        self._line(f"+CME ERROR: {code}" if self.cmee else "ERROR")

    def _cms(self, code):
        self._line(f"+CMS ERROR: {code}" if self.cmee else "ERROR")

    def _sim_blocked(self, sms=False):
        if self.pin_ok:
            return False
        if sms:
            self._cms(311)
        else:
            self._cme(11)
        return True

    # -- commands -----------------------------------------------------------
    def _at_at(self, rest):
        self._ok()

    def _at_z(self, rest):
        self.echo = True
        self.cmee = 0
        self._ok()

    def _at_e(self, rest):
        self.echo = rest not in ("", "0")
        self._ok()

    def _at_i(self, rest):
        self._ok("Fake GSM modem 1.0")

    def _at_cmee(self, rest):
        self.cmee = int(rest.lstrip("=") or 0)
        self._ok()

    def _at_cpin(self, rest):
        if rest == "?":
            if self.pin_ok:
                return self._ok("+CPIN: READY")
            if self.pin_attempts <= 0:
                return self._ok("+CPIN: SIM PUK")
            return self._ok("+CPIN: SIM PIN")
        value = rest.lstrip("=").strip('"')
        if self.pin_ok:
            return self._cme(3)  # operation not allowed
        if self.pin_attempts <= 0:
            return self._cme(12)  # SIM PUK required
        if value == self.pin:
            self.pin_ok = True
            return self._ok()
        self.pin_attempts -= 1
        return self._cme(16)  # incorrect password

    def _at_cmgf(self, rest):
        if rest == "?":
            return self._ok(f"+CMGF: {self.cmgf}")
        self.cmgf = int(rest.lstrip("="))
        self._ok()

    def _at_cpms(self, rest):
        if self._sim_blocked(sms=True):
            return
        if rest.startswith("="):
            mems = [m.strip().strip('"') for m in rest[1:].split(",")]
            if any(m not in self.mem for m in mems):
                return self._cms(302)
            self.read_mem = mems[0]
        used = len(self.mem[self.read_mem])
        self._ok("+CPMS: " + ",".join([f"{used},{self.capacity}"] * 3))

    def _at_cnmi(self, rest):
        if rest.startswith("="):
            self.cnmi = tuple(int(v or 0) for v in rest[1:].split(","))
        self._ok()

    def _at_csca(self, rest):
        if rest == "?":
            return self._ok(f'+CSCA: "{self.smsc}",145')
        self.smsc = rest.lstrip("=").split(",")[0].strip('"')
        self._ok()

    def _at_csq(self, rest):
        self._ok(f"+CSQ: {self.rssi},{self.ber}")

    def _at_creg(self, rest):
        if rest == "?":
            return self._ok(f"+CREG: 0,{self.creg_stat}")
        self._ok()

    def _at_cusd(self, rest):
        match = re.match(r'=1,"([^"]*)"(?:,(\d+))?$', rest)
        if not match:
            return self._ok() if rest.startswith("=") else self._cme(4)
        self._ok()
        reply = self.ussd_reply
        if reply is None:
            return  # the network never answers
        text, style = reply
        if style == "ucs2":
            self._line(f'+CUSD: 0,"{text.encode("utf-16-be").hex().upper()}",72')
        elif style == "gsm7hex":
            packed = septets_to(gsm_codes(text)).hex().upper()
            self._line(f'+CUSD: 0,"{packed}",15')
        elif style == "unsupported":
            self._line("+CUSD: 4")
        else:
            self._line(f'+CUSD: 0,"{text}",15')

    def _at_cmgs(self, rest):
        if self._sim_blocked(sms=True):
            return
        if self.cmgf != 0 or not rest.startswith("="):
            return self._cms(302)
        self._pdu_length = int(rest[1:])
        self._pause("PROMPT")
        self._write("\r\n> ")

    def _submit(self, pdu, length):
        self.commands.append("PDU:" + pdu)
        try:
            submit = decode_submit(pdu, length)
        except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
            self.errors.append(("bad pdu", pdu, str(exc)))
            self.rejected.append((pdu, "invalid PDU"))
            self._pause("CMGS")
            return self._cms(304)
        if submit.tpdu_length != length:
            self.errors.append(("bad length", pdu, length))
            self.rejected.append((pdu, "wrong length"))
            self._pause("CMGS")
            return self._cms(304)
        code = self.send_errors.pop(0) if self.send_errors else None
        if code is not None:
            self.rejected.append((pdu, code))
            self._pause("CMGS")
            return self._cms(code)
        submit.mr = self.next_mr
        self.next_mr = (self.next_mr + 1) % 256
        self.sent.append(submit)
        if "CMGS" in self.mute or self.after_submit == "silent":
            return
        if self.after_submit == "garbage":
            self._write(GARBAGE)
            return
        if self.after_submit == "ok":
            self._line("OK")
            return
        if self.after_submit == "drop":
            self._hang_up()
            return
        self._pause("CMGS")
        self._ok(f"+CMGS: {submit.mr}")
        if self.auto_report is not None and submit.status_report:
            self.report(submit.mr, self.auto_report)

    def _listing(self, index, entry, prefix):
        stat, pdu, length = entry
        if prefix == "+CMGL":
            head = f"+CMGL: {index},{stat},,{length}"
        else:
            head = f"+CMGR: {stat},,{length}"
        return [head, pdu]

    def _at_cmgl(self, rest):
        if self._sim_blocked(sms=True):
            return
        wanted = int(rest.lstrip("=") or 4)
        lines = []
        store = self.mem[self.read_mem]
        for index in sorted(store):
            stat, pdu, length = store[index]
            if wanted in (4, stat):
                lines.extend(self._listing(index, store[index], "+CMGL"))
                if stat == 0:
                    store[index] = (1, pdu, length)
        self._write(
            "".join(f"\r\n{line}" for line in lines) + ("\r\n" if lines else "")
        )
        self._line("OK")

    def _at_cmgr(self, rest):
        if self._sim_blocked(sms=True):
            return
        index = int(rest.lstrip("="))
        store = self.mem[self.read_mem]
        if index not in store:
            return self._cms(321)
        lines = self._listing(index, store[index], "+CMGR")
        stat, pdu, length = store[index]
        if stat == 0:
            store[index] = (1, pdu, length)
        self._write("".join(f"\r\n{line}" for line in lines) + "\r\n")
        self._line("OK")

    def _at_cmgd(self, rest):
        if self._sim_blocked(sms=True):
            return
        values = [int(v) for v in rest.lstrip("=").split(",")]
        store = self.mem[self.read_mem]
        if len(values) > 1 and values[1] == 4:
            store.clear()
        else:
            store.pop(values[0], None)
        self._ok()

    # -- driving the modem from a test ----------------------------------------
    def store(self, pdu, length, mem="SM", stat=0):
        """Put a PDU in SIM storage; return its index."""
        with self._lock:
            store = self.mem[mem]
            if len(store) >= self.capacity:
                raise RuntimeError("SIM storage full")
            index = next(i for i in range(self.capacity) if i not in store)
            store[index] = (stat, pdu, length)
            return index

    def receive(
        self,
        sender,
        text,
        parts=None,
        ref=7,
        ucs2=None,
        utc=None,
        tz_quarters=0,
        ref16=False,
        notify=True,
        order=None,
    ):
        """An inbound SMS from ``sender``: stored on the SIM, announced by
        ``+CMTI`` (when ``AT+CNMI`` asked for it). ``parts`` makes it a
        concatenated message (list of part texts; ``order`` lists the sequence
        numbers in the order they arrive). Returns the SIM indexes."""
        pieces = parts or [text]
        indexes = []
        for seq in order or range(1, len(pieces) + 1):
            piece = pieces[seq - 1]
            concat = (ref, len(pieces), seq) if parts else None
            pdu, length = build_deliver(
                sender,
                piece,
                ucs2=ucs2,
                concat=concat,
                utc=utc,
                tz_quarters=tz_quarters,
                ref16=ref16,
            )
            indexes.append(self.inject(pdu, length, notify=notify))
        return indexes

    def inject(self, pdu, length, notify=True):
        """Store a ready-made SMS-DELIVER PDU and announce it."""
        index = self.store(pdu, length)
        if notify and self.cnmi and self.cnmi[1] in (1, 3):
            self._line(f'+CMTI: "SM",{index}')
        return index

    def report(self, mr, status=0x00, recipient=None, mode=None):
        """A status report for the message ``mr``: ``+CDS`` (direct) or
        stored with ``+CDSI`` (``mode="cdsi"``, or ``"cdsi-sr"`` for the
        separate status report memory)."""
        if recipient is None:
            recipient = next(s.number for s in reversed(self.sent) if s.mr == mr)
        pdu, length = build_status_report(mr, recipient, status)
        mode = mode or self.report_mode
        if mode == "cds":
            self._write(f"\r\n+CDS: {length}\r\n{pdu}\r\n")
        else:
            mem = "SR" if mode == "cdsi-sr" else "SM"
            index = self.store(pdu, length, mem=mem)
            self._line(f'+CDSI: "{mem}",{index}')
        return pdu

    def fault(self, after_submit=None, garbage=(), dead=False):
        """Set the line faults (all off when called without arguments)."""
        with self._lock:
            self.after_submit = after_submit
            self.garbage = set(garbage)
            self.dead = dead

    def _hang_up(self):
        """Close the current connection (socket transport only)."""
        self.drops += 1
        if self.transport == "pty":
            raise RuntimeError("a pseudo-terminal line cannot be dropped")
        conn = self._conn
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError as exc:  # already closed by the other side
                self.errors.append(("hang-up", str(exc)))
        self._buffer.clear()
        self._pdu_length = None

    def fill_sim(self, sender="+33612345678"):
        """Fill the SIM storage with received messages; return their indexes."""
        indexes = []
        while len(self.mem["SM"]) < self.capacity:
            pdu, length = build_deliver(sender, f"Message {len(indexes) + 1}")
            indexes.append(self.store(pdu, length))
        return indexes

    def urc(self, line):
        """Write any unsolicited line (``RING``, ``^RSSI: 5``...)."""
        self._line(line)

    # -- reading what was sent ----------------------------------------------
    def messages(self):
        """The submitted parts joined per message, in order of first part."""
        result = []
        open_groups = {}
        for submit in self.sent:
            if not submit.concat or submit.concat[1] == 1:
                result.append(
                    SentMessage(
                        submit.number,
                        submit.text,
                        submit.encoding,
                        [submit],
                        [submit.mr],
                    )
                )
                continue
            ref, total, _seq = submit.concat
            key = (submit.number, ref, total)
            message = open_groups.get(key)
            if message is None:
                message = SentMessage(submit.number, "", submit.encoding, [], [])
                open_groups[key] = message
                result.append(message)
            message.parts.append(submit)
            message.mrs.append(submit.mr)
            if len(message.parts) == total:
                del open_groups[key]
        for message in result:
            message.parts.sort(key=lambda s: s.concat[2] if s.concat else 1)
            message.text = "".join(s.text for s in message.parts)
        return result

    def sim(self, mem="SM"):
        """Indexes currently stored in ``mem``."""
        with self._lock:
            return sorted(self.mem[mem])
