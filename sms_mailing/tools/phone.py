"""Phone number normalisation to E.164 (pure, phonenumbers only)."""

import re

import phonenumbers

MISSING = "sms_number_missing"
INVALID = "sms_number_format"
# ITU-T E.164: at most 15 digits, country code included. phonenumbers' metadata
# accepts longer numbers for some countries (Germany: 16 digits), which SMS
# providers refuse.
E164_MAX_DIGITS = 15
_E164 = re.compile(rf"\+[1-9][0-9]{{0,{E164_MAX_DIGITS - 1}}}")


def normalize(number, region=None):
    """Return ``(e164, error)`` for a raw number.

    ``region`` is the ISO country code used for numbers written without an
    international prefix (the contact's country). ``error`` is ``None`` or one of
    Odoo's failure types ``sms_number_missing`` / ``sms_number_format``.

    >>> normalize("8 (925) 123-45-67", "RU")
    ('+79251234567', None)
    >>> normalize("", "FR")
    (None, 'sms_number_missing')
    >>> normalize("12", "FR")
    (None, 'sms_number_format')

    A number longer than E.164 allows is refused, whatever ``phonenumbers``
    thinks of it:

    >>> normalize("25000000000000", "DE")
    (None, 'sms_number_format')
    """
    if not number or not str(number).strip():
        return None, MISSING
    raw = str(number).strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        parsed = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None, INVALID
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(
        parsed
    ):
        return None, INVALID
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not is_e164(e164):
        return None, INVALID
    return e164, None


def is_e164(number):
    """Whether ``number`` is written as E.164: "+", then at most 15 digits,
    the first not 0 (the form alone, not whether the number exists).

    >>> is_e164("+79251234567")
    True
    >>> is_e164("+4925000000000000")
    False
    >>> is_e164("79251234567"), is_e164(None)
    (False, False)
    """
    return bool(number) and _E164.fullmatch(number) is not None


def digits(e164):
    """The number as digits only, as most HTTP gateways want it.

    >>> digits("+7 925 123-45-67")
    '79251234567'
    """
    return "".join(ch for ch in e164 or "" if ch.isdigit())
