"""The modem's answers read into values: unsolicited result codes, stored
messages (``+CMGL``/``+CMGR``), signal (``+CSQ``), registration (``+CREG``)
and USSD answers (``+CUSD``).

Pure Python, no ORM (Odoo's lazy translation only, for the sentences).
"""

import codecs
import dataclasses
import re

from odoo.addons.sms_mailing.tools.i18n import lazy_translate

from . import pdu as pdu_codec
from .modem_errors import ModemError, ModemTimeout

_lt = lazy_translate(__name__)

REGISTRATION = {
    0: ("not_registered", _lt("not registered, not searching")),
    1: ("home", _lt("registered on the home network")),
    2: ("searching", _lt("searching for a network")),
    3: ("denied", _lt("registration denied")),
    4: ("unknown", _lt("registration state unknown")),
    5: ("roaming", _lt("registered, roaming")),
}


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


_QUOTED = re.compile(r'"([^"]*)"')


def _int_or(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


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
