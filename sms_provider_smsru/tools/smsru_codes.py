"""SMS.ru's answers and codes: request errors, delivery statuses, and the
readers of the values SMS.ru puts in its JSON answers (codes, amounts, times).

Plain Python, no ORM; used by :mod:`.smsru_http` and :mod:`.smsru_client`.
"""

import datetime
import math
import re

from odoo.addons.sms_mailing.tools.i18n import lazy_translate
from odoo.addons.sms_mailing.tools.provider import FAILURE_CREDENTIALS

_lt = lazy_translate(__name__)

DEFAULT_BASE_URL = "https://sms.ru"
DEFAULT_TIMEOUT = 15.0
CURRENCY = "RUB"

# Request (and per-number) error codes: (sentence, Odoo failure_type).
REQUEST_ERRORS = {
    200: (_lt("SMS.ru rejected the API key (api_id)."), FAILURE_CREDENTIALS),
    201: (_lt("Insufficient funds on the SMS.ru account."), "sms_credit"),
    202: (
        _lt("SMS.ru rejected the recipient's number as invalid."),
        "sms_number_format",
    ),
    203: (_lt("The message has no text."), "unknown"),
    204: (
        _lt(
            "The sender name is not approved by SMS.ru: approve it in your SMS.ru "
            "account or leave the sender empty."
        ),
        "sms_acc",
    ),
    205: (_lt("The message is too long (more than 8 parts)."), "unknown"),
    206: (
        _lt("The daily sending limit of the SMS.ru account is reached."),
        "sms_acc",
    ),
    207: (
        _lt("SMS.ru cannot send messages to this number."),
        "sms_invalid_destination",
    ),
    208: (_lt("The deferred sending time is invalid."), "unknown"),
    209: (_lt("The number is in the SMS.ru stop list."), "sms_blacklist"),
    210: (_lt("SMS.ru expects a POST request for this method."), "unknown"),
    211: (_lt("SMS.ru does not know this API method."), "unknown"),
    212: (_lt("The message text must be UTF-8."), "unknown"),
    213: (_lt("More than 100 numbers in one SMS.ru request."), "unknown"),
    220: (_lt("SMS.ru is temporarily unavailable."), "sms_server"),
    230: (
        _lt("SMS.ru's daily limit of messages to this number is reached."),
        "sms_rejected",
    ),
    231: (
        _lt("SMS.ru refused the same message to this number again within a minute."),
        "sms_duplicate",
    ),
    232: (
        _lt("SMS.ru refused the same message to this number again the same day."),
        "sms_duplicate",
    ),
    300: (_lt("The SMS.ru token has expired."), FAILURE_CREDENTIALS),
    301: (_lt("SMS.ru rejected the login or password."), FAILURE_CREDENTIALS),
    302: (_lt("The SMS.ru account is not confirmed yet."), "sms_acc"),
    500: (_lt("SMS.ru reported a server error."), "sms_server"),
}
TRANSIENT_CODES = {220, 500}

# Delivery status codes (sms/status and callbacks).
PENDING_CODES = {100, 101, 102}
DELIVERED_CODES = {103, 110}
STATUS_FAILURES = {
    104: (_lt("The message expired before it could be delivered."), "sms_expired"),
    105: (_lt("The message was deleted by the operator."), "sms_not_delivered"),
    106: (
        _lt("The recipient's phone failed to receive the message."),
        "sms_not_delivered",
    ),
    107: (_lt("The message was not delivered (unknown reason)."), "sms_not_delivered"),
    108: (_lt("The message was rejected by the operator."), "sms_rejected"),
    150: (_lt("No route to this number."), "sms_invalid_destination"),
    -1: (_lt("SMS.ru does not know this message."), "unknown"),
}


def _is_transient_code(code):
    return code in TRANSIENT_CODES or 500 <= code < 600


class MalformedCallback(ValueError):
    """A callback payload that is not what SMS.ru sends."""


def _code(value):
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None  # missing, not a number, infinite


def _float(value):
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _mapping(value):
    """``value`` when SMS.ru answered an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def _timestamp(value):
    """Naive UTC datetime of a UNIX time written in ASCII digits, or None."""
    if not re.fullmatch(r"[0-9]{1,11}", value or ""):
        return None
    try:
        return datetime.datetime.fromtimestamp(
            int(value), datetime.timezone.utc
        ).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None
