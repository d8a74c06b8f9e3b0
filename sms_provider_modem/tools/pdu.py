"""SMS PDUs of 3GPP TS 23.040: SMS-SUBMIT out, SMS-DELIVER and SMS-STATUS-REPORT in.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences a user
may read: status reports, refused numbers). The GSM-7 tables and the splitting
into parts come from ``sms_mailing.tools.segments`` (TS 23.038); this module
only lays the bits out on the wire.

>>> pdus = encode_submit("+46708251358", "hellohello", validity_minutes=4 * 1440)
>>> pdus[0].pdu, pdus[0].length
('0011000B916407281553F80000AA0AE8329BFD4697D9EC37', 23)
>>> sms = decode_pdu(
...     "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
... )
>>> sms.text, sms.sender, sms.timestamp.isoformat()
('hellohello', '27838890001', '1999-03-29T13:16:59')
"""

import dataclasses
import datetime
import random

from odoo.addons.sms_mailing.tools import segments
from odoo.addons.sms_mailing.tools.i18n import lazy_translate, translate

_lt = lazy_translate(__name__)


def _hex(octet):
    """``0x1A``: an octet as status texts show it (an f-string inside ``_lt()``
    would be evaluated by the term extractor)."""
    return "0x%02X" % octet  # noqa: UP031


__all__ = [
    "Deliver",
    "PduError",
    "Reassembler",
    "StatusReport",
    "SubmitPdu",
    "decode_address",
    "decode_pdu",
    "encode_address",
    "encode_submit",
    "pack_septets",
    "relative_validity",
    "status_meaning",
    "unpack_septets",
]

# TP-MTI, the two low bits of the first octet (SC -> MS direction)
MTI_DELIVER = 0x00
MTI_SUBMIT = 0x01  # MS -> SC; SC -> MS it is an SMS-SUBMIT-REPORT
MTI_STATUS_REPORT = 0x02

# First octet bits of an SMS-SUBMIT
FO_SUBMIT = 0x01
FO_VPF_RELATIVE = 0x10
FO_SRR = 0x20  # status report request
FO_UDHI = 0x40  # user data starts with a header

# Data coding (TP-DCS) alphabets
DCS_GSM7 = 0x00
DCS_UCS2 = 0x08
ALPHABET_GSM7 = segments.GSM7
ALPHABET_UCS2 = segments.UCS2
ALPHABET_8BIT = "8-bit"

# Type of address
TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TON_ALPHANUMERIC = 0x50

# Information element identifiers of concatenated messages
IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08

# Delivery outcomes of a status report (TS 23.040 9.2.3.15)
REPORT_DELIVERED = "delivered"
REPORT_PENDING = "pending"  # the SC is still trying
REPORT_FAILED = "failed"

# Status values with a meaning of their own; the others take their range's.
_STATUS_TEXTS = {
    0x00: _lt("Short message received by the recipient"),
    0x01: _lt("Forwarded to the recipient, the service centre cannot confirm delivery"),
    0x02: _lt("Replaced by the service centre"),
    0x20: _lt("Congestion, the service centre is still trying"),
    0x21: _lt("Recipient busy, the service centre is still trying"),
    0x22: _lt("No response from the recipient, the service centre is still trying"),
    0x23: _lt("Service rejected, the service centre is still trying"),
    0x24: _lt("Quality of service not available, the service centre is still trying"),
    0x25: _lt("Error in the recipient's phone, the service centre is still trying"),
    0x40: _lt("Remote procedure error"),
    0x41: _lt("Incompatible destination"),
    0x42: _lt("Connection rejected by the recipient"),
    0x43: _lt("Number not obtainable"),
    0x44: _lt("Quality of service not available"),
    0x45: _lt("No interworking available"),
    0x46: _lt("Validity period expired before delivery"),
    0x47: _lt("Deleted by the sender"),
    0x48: _lt("Deleted by the service centre administration"),
    0x49: _lt("The message does not exist in the service centre"),
    0x60: _lt("Congestion, the service centre gave up"),
    0x61: _lt("Recipient busy, the service centre gave up"),
    0x62: _lt("No response from the recipient, the service centre gave up"),
    0x63: _lt("Service rejected, the service centre gave up"),
    0x64: _lt("Quality of service not available, the service centre gave up"),
    0x65: _lt("Error in the recipient's phone, the service centre gave up"),
}

# Odoo delivery failure types for the failed statuses (the default is
# "sms_not_delivered").
_STATUS_FAILURE_TYPES = {
    0x41: "sms_invalid_destination",
    0x42: "sms_rejected",
    0x43: "sms_invalid_destination",
    0x46: "sms_expired",
    0x63: "sms_rejected",
}


class PduError(ValueError):
    """A PDU that cannot be built or decoded.

    ``sentence`` is what a user reads (lazy, translated by the client);
    ``str()`` of the error is the same in English, for logs.
    """

    def __init__(self, message):
        self.sentence = message
        super().__init__(translate(message, "en_US"))


@dataclasses.dataclass(frozen=True)
class SubmitPdu:
    """One SMS-SUBMIT ready for ``AT+CMGS``.

    ``pdu`` is the hex string to send (SMSC prefix included); ``length`` the
    TPDU length in octets without the SMSC part, the argument of ``AT+CMGS``.
    """

    pdu: str
    length: int
    text: str = ""
    encoding: str = ALPHABET_GSM7
    reference: int | None = None  # concatenation reference, None for one part
    total: int = 1
    seq: int = 1

    def __iter__(self):  # unpacks as (pdu, length)
        return iter((self.pdu, self.length))


@dataclasses.dataclass
class Deliver:
    """A decoded SMS-DELIVER (one part of an inbound message)."""

    sender: str  # "+E.164" for international numbers, else as given
    text: str
    timestamp: datetime.datetime | None  # service centre time stamp, naive UTC
    encoding: str
    smsc: str | None = None
    concat: tuple | None = None  # (reference, total, seq) when part of several
    data: bytes = b""  # user data without the header (8-bit messages)
    pid: int = 0
    dcs: int = 0

    @property
    def is_part(self):
        return bool(self.concat) and self.concat[1] > 1


@dataclasses.dataclass
class StatusReport:
    """A decoded SMS-STATUS-REPORT."""

    reference: int  # TP-MR of the message it reports on
    recipient: str
    status: int  # TP-ST
    outcome: str  # REPORT_DELIVERED, REPORT_PENDING or REPORT_FAILED
    message: str
    submitted_at: datetime.datetime | None = None  # naive UTC
    discharged_at: datetime.datetime | None = None  # naive UTC
    smsc: str | None = None
    failure_type: str | None = None


# -- septets ------------------------------------------------------------------
def pack_septets(septets, fill_bits=0):
    """Pack 7-bit values LSB first, after ``fill_bits`` zero bits.

    >>> pack_septets([0x68, 0x65, 0x6C, 0x6C, 0x6F]).hex().upper()
    'E8329BFD06'
    """
    value = 0
    bits = fill_bits
    for septet in septets:
        if not 0 <= septet <= 0x7F:
            raise PduError(f"{septet!r} is not a septet value")
        value |= septet << bits
        bits += 7
    return value.to_bytes((bits + 7) // 8, "little")


def unpack_septets(data, count=None, fill_bits=0):
    """The septet values packed in ``data`` (the inverse of :func:`pack_septets`).

    ``count`` is the number of septets (when omitted, as many as fit; a trailing
    zero septet that only pads the last octet is then dropped by the caller).
    """
    value = int.from_bytes(bytes(data), "little") >> fill_bits
    available = (len(data) * 8 - fill_bits) // 7
    if count is None:
        count = available
    elif count > available:
        raise PduError(f"{count} septets announced, only {available} present")
    return [(value >> (7 * index)) & 0x7F for index in range(count)]


def fill_bits_after_header(udhl):
    """Fill bits that align GSM-7 text after a user data header of ``udhl``."""
    return (7 - ((udhl + 1) * 8) % 7) % 7


# -- addresses ----------------------------------------------------------------
def _semi_octets(digits):
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def _bcd_digits(data):
    digits = []
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 0x0F:
                continue
            digits.append("0123456789*#abc"[nibble])
    return "".join(digits)


def encode_address(number):
    """TP-DA of ``number``: digit count, type of address, swapped digits (hex).

    A number starting with ``+`` is international (0x91), others unknown (0x81).

    >>> encode_address("+46708251358")
    '0B916407281553F8'
    """
    number = "".join(number.split())
    international = number.startswith("+")
    digits = number.lstrip("+")
    if not digits or not set(digits) <= set("0123456789*#"):
        raise PduError(_lt("%(number)s is not a phone number.", number=repr(number)))
    if len(digits) > 20:
        raise PduError(
            _lt(
                "%(number)s is longer than an address allows (20 digits).",
                number=repr(number),
            )
        )
    toa = TOA_INTERNATIONAL if international else TOA_UNKNOWN
    return f"{len(digits):02X}{toa:02X}{_semi_octets(digits)}"


def encode_smsc(smsc=None):
    """SMSC prefix of a PDU: ``00`` (the modem's default SMSC) or an address."""
    if not smsc:
        return "00"
    address = encode_address(smsc)[2:]  # type of address + digits, no digit count
    return f"{len(address) // 2:02X}{address}"


def decode_address(toa, data, digit_count=None):
    """Text of an address: ``+digits`` when international, alphanumeric sender
    names decoded from GSM-7, other numbers as given."""
    if toa & 0x70 == TON_ALPHANUMERIC:
        septet_count = (digit_count * 4) // 7 if digit_count else len(data) * 8 // 7
        return segments.gsm7_decode(unpack_septets(data, septet_count)).rstrip("@")
    digits = _bcd_digits(data)
    if digit_count is not None:
        digits = digits[:digit_count]
    if toa & 0x70 == 0x10 and digits:
        return "+" + digits
    return digits


# -- time stamps --------------------------------------------------------------
def _swapped(octet):
    return (octet & 0x0F) * 10 + (octet >> 4)


def decode_timestamp(data):
    """A 7-octet service centre time stamp as a naive UTC datetime (or None)."""
    if len(data) != 7:
        raise PduError("a time stamp has 7 octets")
    try:
        year, month, day, hour, minute, second = (_swapped(o) for o in data[:6])
        century = 1900 if year >= 90 else 2000  # SMS did not exist before 1990
        local = datetime.datetime(century + year, month, day, hour, minute, second)
    except ValueError:
        return None  # some networks send garbage; the time stamp is informative
    tz = data[6]
    quarters = (tz & 0x07) * 10 + (tz >> 4)
    if tz & 0x08:
        quarters = -quarters
    return local - datetime.timedelta(minutes=15 * quarters)


# -- validity -----------------------------------------------------------------
def relative_validity(minutes):
    """TP-VP (relative format) for a validity of at least ``minutes``.

    >>> [relative_validity(m) for m in (5, 720, 1440, 4 * 1440, 63 * 7 * 1440)]
    [0, 143, 167, 170, 255]
    """
    minutes = max(5, int(minutes))
    if minutes <= 720:
        return -(-minutes // 5) - 1
    if minutes <= 1440:
        return 143 + -(-(minutes - 720) // 30)
    if minutes <= 30 * 1440:
        return 166 + -(-minutes // 1440)
    return min(255, 192 + -(-minutes // (7 * 1440)))


# -- SMS-SUBMIT ---------------------------------------------------------------
def encode_submit(
    number,
    text,
    smsc=None,
    status_report=False,
    validity_minutes=None,
    reference=None,
):
    """The SMS-SUBMIT PDUs that send ``text`` to ``number``, one per part.

    GSM-7 when every character is in the default alphabet or its extension
    table, else UCS-2 (UTF-16: a character outside the BMP is a surrogate pair,
    never split). Several parts carry a concatenation header with the 8-bit
    ``reference`` (random when not given). ``smsc`` None uses the modem's.
    """
    if not text:
        raise PduError(_lt("An SMS needs a text."))
    parts = segments.split_parts(text)
    encoding = segments.GSM7 if segments.is_gsm7(text) else segments.UCS2
    total = len(parts)
    if total > 255:
        raise PduError(_lt("A message has at most 255 parts."))
    if total > 1 and reference is None:
        reference = random.randrange(256)
    first_octet = FO_SUBMIT
    if status_report:
        first_octet |= FO_SRR
    vp = ""
    if validity_minutes:
        first_octet |= FO_VPF_RELATIVE
        vp = f"{relative_validity(validity_minutes):02X}"
    if total > 1:
        first_octet |= FO_UDHI
    destination = encode_address(number)
    dcs = DCS_GSM7 if encoding == segments.GSM7 else DCS_UCS2
    prefix = encode_smsc(smsc)
    pdus = []
    for seq, part in enumerate(parts, 1):
        header = b""
        if total > 1:
            header = bytes([5, IEI_CONCAT_8, 3, reference & 0xFF, total, seq])
        udl, user_data = _user_data(part, encoding, header)
        tpdu = (
            f"{first_octet:02X}00{destination}00{dcs:02X}{vp}{udl:02X}"
            + user_data.hex().upper()
        )
        pdus.append(
            SubmitPdu(
                pdu=prefix + tpdu,
                length=len(tpdu) // 2,
                text=part,
                encoding=encoding,
                reference=reference if total > 1 else None,
                total=total,
                seq=seq,
            )
        )
    return pdus


def _user_data(text, encoding, header):
    """``(TP-UDL, TP-UD bytes)``: UDL counts septets in GSM-7, octets in UCS-2."""
    if encoding == segments.GSM7:
        septets = segments.gsm7_septets(text)
        if not header:
            if len(septets) > 160:
                raise PduError("the user data exceeds 160 septets")
            return len(septets), pack_septets(septets)
        fill = fill_bits_after_header(len(header) - 1)
        header_septets = (len(header) * 8 + fill) // 7
        packed = pack_septets(septets, fill_bits=fill)
        # header bits, then fill bits, then the text: the text starts on a
        # septet boundary, so header octets + packed text (shifted) line up.
        body = int.from_bytes(packed, "little") << (len(header) * 8)
        total_septets = header_septets + len(septets)
        if total_septets > 160:
            raise PduError("the user data exceeds 160 septets")
        data = (int.from_bytes(header, "little") | body).to_bytes(
            (total_septets * 7 + 7) // 8, "little"
        )
        return total_septets, data
    data = header + text.encode("utf-16-be", "surrogatepass")
    if len(data) > 140:
        raise PduError("the user data exceeds 140 octets")
    return len(data), data


# -- decoding -----------------------------------------------------------------
def dcs_alphabet(dcs):
    """Alphabet of a TP-DCS (TS 23.038 section 4): GSM-7, 8-bit or UCS-2."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding (bit 6: automatic deletion)
        if dcs & 0x20:
            raise PduError("compressed user data is not supported")
        return (ALPHABET_GSM7, ALPHABET_8BIT, ALPHABET_UCS2, ALPHABET_GSM7)[
            (dcs >> 2) & 0x03
        ]
    if group in (0xC, 0xD):  # message waiting indication, GSM-7
        return ALPHABET_GSM7
    if group == 0xE:  # message waiting indication, UCS-2
        return ALPHABET_UCS2
    if group == 0xF:  # data coding / message class
        return ALPHABET_8BIT if dcs & 0x04 else ALPHABET_GSM7
    return ALPHABET_GSM7  # reserved groups: the default alphabet


def _parse_header(header):
    """The concatenation element of a user data header, ``(ref, total, seq)``."""
    concat = None
    index = 0
    while index + 1 < len(header):
        iei, length = header[index], header[index + 1]
        value = header[index + 2 : index + 2 + length]
        if len(value) < length:
            raise PduError("truncated user data header")
        if iei == IEI_CONCAT_8 and length == 3:
            concat = (value[0], value[1], value[2])
        elif iei == IEI_CONCAT_16 and length == 4:
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        index += 2 + length
    if concat and (concat[1] == 0 or not 1 <= concat[2] <= concat[1]):
        return None  # an invalid element is ignored (TS 23.040 9.2.3.24.1)
    return concat


def _decode_user_data(data, udl, alphabet, has_header):
    """``(text, concat, raw bytes)`` of a TP-UD."""
    header = b""
    concat = None
    if has_header:
        if not data:
            raise PduError("user data header announced but no user data")
        udhl = data[0]
        header = bytes(data[1 : 1 + udhl])
        if len(header) < udhl:
            raise PduError("truncated user data header")
        concat = _parse_header(header)
    if alphabet == ALPHABET_GSM7:
        if has_header:
            fill = fill_bits_after_header(len(header))
            header_septets = ((len(header) + 1) * 8 + fill) // 7
            if udl < header_septets:
                raise PduError("the user data length is shorter than its header")
            septets = unpack_septets(
                bytes(data[len(header) + 1 :]), udl - header_septets, fill_bits=fill
            )
        else:
            septets = unpack_septets(bytes(data), udl)
        text = segments.gsm7_decode(septets)
        return text, concat, b""
    payload = bytes(data[len(header) + 1 if has_header else 0 : udl])
    if alphabet == ALPHABET_UCS2:
        if len(payload) % 2:
            payload = payload[:-1]
        return payload.decode("utf-16-be", "replace"), concat, payload
    return payload.decode("latin-1"), concat, payload


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, count):
        if self.pos + count > len(self.data):
            raise PduError("the PDU is too short")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def octet(self):
        return self.take(1)[0]

    def rest(self):
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def address(self):
        digit_count = self.octet()
        toa = self.octet()
        data = self.take((digit_count + 1) // 2)
        return decode_address(toa, data, digit_count)


def decode_pdu(pdu, with_smsc=True):
    """Decode a hex PDU read from the modem (``+CMGR``, ``+CMGL``, ``+CDS``).

    Returns a :class:`Deliver` or a :class:`StatusReport`; raises
    :class:`PduError` for anything else or a malformed PDU.
    """
    try:
        data = bytes.fromhex(pdu.strip())
    except ValueError as exc:
        raise PduError(f"not a hex PDU: {pdu[:40]!r}") from exc
    reader = _Reader(data)
    smsc = None
    if with_smsc:
        smsc_length = reader.octet()
        if smsc_length:
            smsc_data = reader.take(smsc_length)
            smsc = decode_address(smsc_data[0], smsc_data[1:]) or None
    first = reader.octet()
    mti = first & 0x03
    if mti == MTI_DELIVER:
        return _decode_deliver(reader, first, smsc)
    if mti == MTI_STATUS_REPORT:
        return _decode_status_report(reader, smsc)
    raise PduError(f"unexpected message type {mti} (first octet 0x{first:02X})")


def _decode_deliver(reader, first, smsc):
    sender = reader.address()
    pid = reader.octet()
    dcs = reader.octet()
    timestamp = decode_timestamp(reader.take(7))
    udl = reader.octet()
    alphabet = dcs_alphabet(dcs)
    text, concat, payload = _decode_user_data(
        reader.rest(), udl, alphabet, bool(first & FO_UDHI)
    )
    return Deliver(
        sender=sender,
        text=text,
        timestamp=timestamp,
        encoding=alphabet,
        smsc=smsc,
        concat=concat,
        data=payload,
        pid=pid,
        dcs=dcs,
    )


def _decode_status_report(reader, smsc):
    reference = reader.octet()
    recipient = reader.address()
    submitted_at = decode_timestamp(reader.take(7))
    discharged_at = decode_timestamp(reader.take(7))
    status = reader.octet()
    outcome, message, failure_type = status_meaning(status)
    return StatusReport(
        reference=reference,
        recipient=recipient,
        status=status,
        outcome=outcome,
        message=message,
        submitted_at=submitted_at,
        discharged_at=discharged_at,
        smsc=smsc,
        failure_type=failure_type,
    )


def status_meaning(status):
    """``(outcome, sentence, failure_type)`` of a TP-ST value (TS 23.040 9.2.3.15).

    The sentence is lazy: the provider client translates it.

    >>> status_meaning(0x00)[0], status_meaning(0x21)[0]
    ('delivered', 'pending')
    >>> outcome, sentence, failure_type = status_meaning(0x46)
    >>> outcome, str(sentence), failure_type
    ('failed', 'Validity period expired before delivery', 'sms_expired')
    >>> str(status_meaning(0x9A)[1])
    'Service rejected (status 0x9A)'
    """
    text = _STATUS_TEXTS.get(status)
    if status < 0x20:
        return REPORT_DELIVERED, text or _lt("Delivered"), None
    if status < 0x40:
        return REPORT_PENDING, text or _lt("The service centre is still trying"), None
    failure_type = _STATUS_FAILURE_TYPES.get(status, "sms_not_delivered")
    if status < 0x80:
        return (
            REPORT_FAILED,
            text or _lt("Not delivered (status %(status)s)", status=_hex(status)),
            (failure_type),
        )
    # reserved values are to be read as "service rejected"
    return (
        REPORT_FAILED,
        _lt("Service rejected (status %(status)s)", status=_hex(status)),
        failure_type,
    )


# -- multipart reassembly -----------------------------------------------------
@dataclasses.dataclass
class Assembled:
    """A whole inbound message and the storage keys of its parts."""

    sender: str
    text: str
    timestamp: datetime.datetime | None
    keys: list  # what the caller passed with each part (SIM indexes)
    complete: bool = True
    reference: int | None = None
    total: int = 1


class Reassembler:
    """Joins the parts of concatenated inbound messages.

    Feed every decoded :class:`Deliver` with a key (its SIM index) to
    :meth:`add`; :meth:`pop_complete` returns the whole messages (single ones
    at once, concatenated ones when every part is there) and forgets them.
    A part that arrives twice is kept once, both keys are returned so both
    copies get deleted. :meth:`pop_stale` gives up on messages whose parts
    stopped coming and returns what is there, a gap marked ``[...]``.
    """

    MISSING = "[...]"

    def __init__(self):
        self._single = []
        self._groups = {}  # (sender, ref, total) -> {seq: (Deliver, [keys])}

    def add(self, deliver, key=None):
        if not deliver.is_part:
            self._single.append(
                Assembled(deliver.sender, deliver.text, deliver.timestamp, [key])
            )
            return
        reference, total, seq = deliver.concat
        group = self._groups.setdefault((deliver.sender, reference, total), {})
        if seq in group:
            group[seq][1].append(key)
        else:
            group[seq] = (deliver, [key])

    def pop_complete(self):
        done = self._single
        self._single = []
        for group_key, group in list(self._groups.items()):
            if len(group) == group_key[2]:
                done.append(self._assemble(group_key, group))
                del self._groups[group_key]
        return done

    def pop_stale(self, older_than):
        """Incomplete messages whose newest part is older than ``older_than``
        (naive UTC), joined with the missing parts marked."""
        stale = []
        for group_key, group in list(self._groups.items()):
            stamps = [d.timestamp for d, _keys in group.values() if d.timestamp]
            if stamps and max(stamps) < older_than:
                stale.append(self._assemble(group_key, group))
                del self._groups[group_key]
        return stale

    @property
    def pending(self):
        """Number of incomplete messages waiting for parts."""
        return len(self._groups)

    def _assemble(self, group_key, group):
        sender, reference, total = group_key
        texts = []
        keys = []
        for seq in range(1, total + 1):
            if seq in group:
                deliver, part_keys = group[seq]
                texts.append(deliver.text)
                keys.extend(part_keys)
            else:
                texts.append(self.MISSING)
        stamps = [d.timestamp for d, _keys in group.values() if d.timestamp]
        return Assembled(
            sender=sender,
            text="".join(texts),
            timestamp=min(stamps) if stamps else None,
            keys=keys,
            complete=len(group) == total,
            reference=reference,
            total=total,
        )
