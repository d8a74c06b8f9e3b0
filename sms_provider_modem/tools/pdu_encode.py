"""SMS-SUBMIT PDUs (3GPP TS 23.040): what ``AT+CMGS`` sends, one per part.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences). The
GSM-7 tables and the splitting into parts come from
``sms_mailing.tools.segments`` (TS 23.038).

>>> pdus = encode_submit("+46708251358", "hellohello", validity_minutes=4 * 1440)
>>> pdus[0].pdu, pdus[0].length
('0011000B916407281553F80000AA0AE8329BFD4697D9EC37', 23)
"""

import dataclasses
import random

from odoo.addons.sms_mailing.tools import segments
from odoo.addons.sms_mailing.tools.i18n import lazy_translate

from .pdu_fields import (
    ALPHABET_GSM7,
    DCS_GSM7,
    DCS_UCS2,
    FO_SRR,
    FO_SUBMIT,
    FO_UDHI,
    FO_VPF_RELATIVE,
    IEI_CONCAT_8,
    PduError,
    encode_address,
    encode_smsc,
    fill_bits_after_header,
    pack_septets,
)

_lt = lazy_translate(__name__)


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
