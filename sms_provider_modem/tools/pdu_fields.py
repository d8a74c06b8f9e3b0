"""The fields of SMS PDUs (3GPP TS 23.040) shared by both directions: the
constants of the first octet, data coding and addresses, :class:`PduError`,
septet packing, addresses and service centre time stamps.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences).
"""

import datetime

from odoo.addons.sms_mailing.tools import segments
from odoo.addons.sms_mailing.tools.i18n import lazy_translate, translate

_lt = lazy_translate(__name__)

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


class PduError(ValueError):
    """A PDU that cannot be built or decoded.

    ``sentence`` is what a user reads (lazy, translated by the client);
    ``str()`` of the error is the same in English, for logs.
    """

    def __init__(self, message):
        self.sentence = message
        super().__init__(translate(message, "en_US"))


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
