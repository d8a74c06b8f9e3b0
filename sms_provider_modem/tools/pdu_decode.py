"""Decoding SMS PDUs read from the modem (3GPP TS 23.040): SMS-DELIVER
(inbound messages) and SMS-STATUS-REPORT.

Pure Python, no ORM.

>>> sms = decode_pdu(
...     "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
... )
>>> sms.text, sms.sender, sms.timestamp.isoformat()
('hellohello', '27838890001', '1999-03-29T13:16:59')
"""

import dataclasses
import datetime

from odoo.addons.sms_mailing.tools import segments

from .pdu_fields import (
    ALPHABET_8BIT,
    ALPHABET_GSM7,
    ALPHABET_UCS2,
    FO_UDHI,
    IEI_CONCAT_8,
    IEI_CONCAT_16,
    MTI_DELIVER,
    MTI_STATUS_REPORT,
    PduError,
    decode_address,
    decode_timestamp,
    fill_bits_after_header,
    unpack_septets,
)
from .pdu_status import StatusReport, status_meaning


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
