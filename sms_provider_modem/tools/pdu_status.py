"""Status reports of SMS PDUs (3GPP TS 23.040 9.2.3.15): the decoded
:class:`StatusReport`, the meaning of each TP-ST value and its sentence.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences).
"""

import dataclasses
import datetime

from odoo.addons.sms_mailing.tools.i18n import lazy_translate

_lt = lazy_translate(__name__)

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
            text
            or _lt(
                "Not delivered (status %(status)s)",
                status=format(status, "#04X").replace("0X", "0x"),
            ),
            (failure_type),
        )
    # reserved values are to be read as "service rejected"
    return (
        REPORT_FAILED,
        _lt(
            "Service rejected (status %(status)s)",
            status=format(status, "#04X").replace("0X", "0x"),
        ),
        failure_type,
    )
