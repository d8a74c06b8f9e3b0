"""SMS PDUs of 3GPP TS 23.040: SMS-SUBMIT out, SMS-DELIVER and SMS-STATUS-REPORT in.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences a user
may read: status reports, refused numbers). The GSM-7 tables and the splitting
into parts come from ``sms_mailing.tools.segments`` (TS 23.038); this package of
modules only lays the bits out on the wire:

- :mod:`.pdu_fields`: constants, :class:`PduError`, septets, addresses, time stamps;
- :mod:`.pdu_encode`: SMS-SUBMIT (:func:`encode_submit`);
- :mod:`.pdu_decode`: SMS-DELIVER and SMS-STATUS-REPORT (:func:`decode_pdu`);
- :mod:`.pdu_status`: status report values, their outcome and sentence;
- :mod:`.pdu_reassembly`: joining the parts of concatenated messages.

Every name stays importable from this module.

>>> pdus = encode_submit("+46708251358", "hellohello", validity_minutes=4 * 1440)
>>> pdus[0].pdu, pdus[0].length
('0011000B916407281553F80000AA0AE8329BFD4697D9EC37', 23)
>>> sms = decode_pdu(
...     "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
... )
>>> sms.text, sms.sender, sms.timestamp.isoformat()
('hellohello', '27838890001', '1999-03-29T13:16:59')
"""

# ruff: noqa: F401
from odoo.addons.sms_mailing.tools import segments

from .pdu_decode import (
    Deliver,
    _decode_deliver,
    _decode_status_report,
    _decode_user_data,
    _parse_header,
    _Reader,
    dcs_alphabet,
    decode_pdu,
)
from .pdu_encode import SubmitPdu, _user_data, encode_submit, relative_validity
from .pdu_fields import (
    ALPHABET_8BIT,
    ALPHABET_GSM7,
    ALPHABET_UCS2,
    DCS_GSM7,
    DCS_UCS2,
    FO_SRR,
    FO_SUBMIT,
    FO_UDHI,
    FO_VPF_RELATIVE,
    IEI_CONCAT_8,
    IEI_CONCAT_16,
    MTI_DELIVER,
    MTI_STATUS_REPORT,
    MTI_SUBMIT,
    TOA_INTERNATIONAL,
    TOA_UNKNOWN,
    TON_ALPHANUMERIC,
    PduError,
    _bcd_digits,
    _semi_octets,
    _swapped,
    decode_address,
    decode_timestamp,
    encode_address,
    encode_smsc,
    fill_bits_after_header,
    pack_septets,
    unpack_septets,
)
from .pdu_reassembly import Assembled, Reassembler
from .pdu_status import (
    _STATUS_FAILURE_TYPES,
    _STATUS_TEXTS,
    REPORT_DELIVERED,
    REPORT_FAILED,
    REPORT_PENDING,
    StatusReport,
    status_meaning,
)

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
