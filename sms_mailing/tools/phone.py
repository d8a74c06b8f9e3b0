"""Phone number normalisation to E.164 (pure, phonenumbers only)."""

import phonenumbers

MISSING = "sms_number_missing"
INVALID = "sms_number_format"


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
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def digits(e164):
    """The number as digits only, as most HTTP gateways want it.

    >>> digits("+7 925 123-45-67")
    '79251234567'
    """
    return "".join(ch for ch in e164 or "" if ch.isdigit())
