"""Who in a launch batch gets a message, and why the others get none (no ORM).

A batch is a list of contacts in audience order (ascending id), each as a row
``(partner_id, e164, raw, optout, blacklisted)``: the sanitized number (or
``None``), the number as typed (mobile, else phone), the "Do not use SMS" flag
and whether the number is on the phone blacklist.
"""

from . import segments
from .phone import INVALID, MISSING, is_e164

OPTOUT = "sms_optout"
BLACKLIST = "sms_blacklist"
DUPLICATE = "sms_duplicate"

# Why a contact of the audience gets no SMS (failure types of canceled
# messages), in the order the statistics list them.
EXCLUSIONS = (MISSING, INVALID, OPTOUT, BLACKLIST, DUPLICATE)


def exclusion_reason(e164, raw, optout, blacklisted, seen):
    """Why the contact gets no message, or ``None`` when it gets one.

    ``seen`` holds the numbers that already have a message in the mailing.
    The first reason that applies wins, in this order:

    >>> exclusion_reason(None, None, False, False, set())
    'sms_number_missing'
    >>> exclusion_reason(None, "  ", False, False, set())
    'sms_number_missing'
    >>> exclusion_reason(None, "12", True, False, set())
    'sms_number_format'

    A sanitized number longer than E.164 allows (phonenumbers calls some
    16-digit German numbers valid; contacts saved before the partner's
    sanitizing refused them) is invalid: no provider takes it.

    >>> exclusion_reason("+4925000000000000", "25000000000000", False, False, set())
    'sms_number_format'
    >>> exclusion_reason("+33612345601", "0612345601", True, True, set())
    'sms_optout'
    >>> exclusion_reason("+33612345601", "0612345601", False, True, set())
    'sms_blacklist'
    >>> exclusion_reason("+33612345601", "0612345601", False, False, {"+33612345601"})
    'sms_duplicate'
    >>> exclusion_reason("+33612345601", "0612345601", False, False, set()) is None
    True
    """
    if not e164:
        return INVALID if raw and raw.strip() else MISSING
    if not is_e164(e164):
        return INVALID
    if optout:
        return OPTOUT
    if blacklisted:
        return BLACKLIST
    if e164 in seen:
        return DUPLICATE
    return None


def plan_batch(rows, seen):
    """The batch's messages: ``(plan, to_render)``.

    ``plan`` has one ``(partner_id, number, reason)`` per row, in the rows'
    order (``reason`` ``None`` for a message to send; ``number`` the sanitized
    number, else the number as typed, else ``""``); ``to_render`` lists the
    contacts whose text must be rendered. ``seen`` (the numbers that already
    have a message in the mailing) is updated with the numbers given a message,
    so that a later contact with the same number is a duplicate: the oldest
    contact keeps the number.

    >>> rows = [
    ...     (1, "+33612345601", "06 12 34 56 01", False, False),
    ...     (2, None, None, False, False),
    ...     (3, "+33612345601", "+33 6 12 34 56 01", False, False),
    ...     (4, "+33612345602", "06 12 34 56 02", True, False),
    ...     (5, "+33612345603", "06 12 34 56 03", False, False),
    ... ]
    >>> seen = {"+33612345603"}
    >>> plan, to_render = plan_batch(rows, seen)
    >>> for line in plan:
    ...     print(line)
    (1, '+33612345601', None)
    (2, '', 'sms_number_missing')
    (3, '+33612345601', 'sms_duplicate')
    (4, '+33612345602', 'sms_optout')
    (5, '+33612345603', 'sms_duplicate')
    >>> to_render
    [1]
    >>> sorted(seen)
    ['+33612345601', '+33612345603']
    """
    plan = []
    to_render = []
    for partner_id, e164, raw, optout, blacklisted in rows:
        reason = exclusion_reason(e164, raw, optout, blacklisted, seen)
        if reason is None:
            seen.add(e164)
            to_render.append(partner_id)
        plan.append((partner_id, e164 or raw or "", reason))
    return plan, to_render


def message_columns(plan, bodies, sms_ids=None):
    """The messages of a batch's ``plan`` (see :func:`plan_batch`) as one list
    per column of ``sms_sms``: ``(ids, numbers, bodies, partner_ids, states,
    failure_types, parts, encodings)``. ``bodies`` maps a partner given a
    message to its text, ``sms_ids`` to the id reserved for it (else ``None``:
    the next id of the sequence). An excluded contact's message is canceled
    with its reason, without text. Texts are measured once each (a launch
    often sends one text to everybody).

    >>> plan = [(1, "+33612345601", None), (2, "", "sms_number_missing"),
    ...         (3, "+33612345603", None)]
    >>> for column in message_columns(plan, {1: "Hi", 3: "Salut Zoë"}, {1: 41}):
    ...     print(column)
    [41, None, None]
    ['+33612345601', None, '+33612345603']
    ['Hi', '', 'Salut Zoë']
    [1, 2, 3]
    ['outgoing', 'canceled', 'outgoing']
    [None, 'sms_number_missing', None]
    [1, 0, 1]
    ['gsm7', 'gsm7', 'ucs2']
    """
    sms_ids = sms_ids or {}
    measured = {}
    columns = ([], [], [], [], [], [], [], [])
    ids, numbers, texts, partner_ids, states, reasons, parts_list, encodings = columns
    for partner_id, number, reason in plan:
        ids.append(sms_ids.get(partner_id) if reason is None else None)
        body = bodies.get(partner_id, "") if reason is None else ""
        if reason is None and body not in measured:
            info = segments.analyze(body)
            measured[body] = (
                info.parts,
                "gsm7" if info.encoding == segments.GSM7 else "ucs2",
            )
        parts, encoding = measured[body] if reason is None else (0, "gsm7")
        numbers.append(number or None)
        texts.append(body)
        partner_ids.append(partner_id)
        states.append("outgoing" if reason is None else "canceled")
        reasons.append(reason)
        parts_list.append(parts)
        encodings.append(encoding)
    return columns
