"""A mailing's statistics from its messages, grouped (no ORM).

The model reads its messages grouped by ``(state, failure_type)`` with their
count, parts and cost (one ``_read_group``); these functions turn such groups
into the values of the mailing's counters, and its failures into the lines
of the failure summary.
"""

from .audience import EXCLUSIONS


def tally(groups):
    """Totals per state of ``groups`` of ``(state, failure_type, count, parts,
    cost, parts_sent)``: ``(totals, excluded)``. ``totals`` maps each state,
    and ``total``, ``excluded``, ``parts`` (sent), ``planned`` (parts not
    canceled) and ``cost``, to a number; ``excluded`` maps each exclusion
    reason (a canceled message's failure type in ``EXCLUSIONS``) to its count.

    Parts sent are the parts that left: those of the messages a provider took
    (``parts_sent``, whatever became of them afterwards); a message refused
    at sending (a rejected key, a bad number) sent nothing, even in error.

    >>> totals, excluded = tally([
    ...     ("sent", False, 3, 6, 0.3, 6),
    ...     ("error", "sms_server", 2, 2, 0.0, 0),
    ...     ("error", "sms_number_format", 1, 1, 0.0, 1),
    ...     ("canceled", "sms_optout", 2, 0, 0.0, 0),
    ...     ("canceled", False, 1, 1, 0.0, 0),
    ...     ("outgoing", False, 4, 4, 0.0, 0),
    ... ])
    >>> totals["total"], totals["excluded"], totals["sent"], totals["canceled"]
    (13, 2, 3, 1)
    >>> totals["parts"], totals["planned"], totals["cost"]
    (7, 13, 0.3)
    >>> excluded
    {'sms_optout': 2}
    """
    totals = dict.fromkeys(("total", "excluded", "parts", "planned"), 0)
    totals["cost"] = 0.0
    excluded = {}
    for state, failure_type, count, parts, cost, parts_sent in groups:
        totals["total"] += count
        if state == "canceled" and failure_type in EXCLUSIONS:
            totals["excluded"] += count
            excluded[failure_type] = count
            continue
        totals[state] = totals.get(state, 0) + count
        totals["parts"] += parts_sent or 0
        if state != "canceled":
            totals["planned"] += parts or 0
        totals["cost"] += cost or 0.0
    return totals, excluded


def ratio(count, whole):
    """``count`` in percent of ``whole``, rounded; 0 of nothing.

    >>> ratio(1, 3), ratio(2, 3), ratio(5, 0)
    (33, 67, 0)
    """
    return round(100 * count / whole) if whole else 0


def counters(totals):
    """The mailing's counter fields from :func:`tally`'s ``totals``.

    >>> values = counters({"total": 10, "excluded": 2, "sent": 3, "pending": 1,
    ...     "outgoing": 2, "error": 1, "canceled": 1, "parts": 6, "planned": 9,
    ...     "cost": 0.5})
    >>> values["recipient_count"], values["sent_count"], values["queued_count"]
    (8, 4, 2)
    >>> values["sent_ratio"], values["delivered_ratio"], values["failed_ratio"]
    (50, 38, 12)
    >>> values["progress"]  # 7 to send, 5 of them done
    71.42857142857143
    """
    get = totals.get
    recipients = get("total", 0) - get("excluded", 0)
    queued = get("outgoing", 0) + get("process", 0)
    values = {
        "total_count": get("total", 0),
        "excluded_count": get("excluded", 0),
        "queued_count": queued,
        "sent_count": get("pending", 0) + get("sent", 0),
        "delivered_count": get("sent", 0),
        "failed_count": get("error", 0),
        "canceled_count": get("canceled", 0),
        "recipient_count": recipients,
        "parts_planned": get("planned", 0),
        "parts_total": get("parts", 0),
        "cost_total": get("cost", 0.0),
    }
    for count_field, ratio_field in (
        ("sent_count", "sent_ratio"),
        ("delivered_count", "delivered_ratio"),
        ("failed_count", "failed_ratio"),
    ):
        values[ratio_field] = ratio(values[count_field], recipients)
    to_send = recipients - get("canceled", 0)
    values["progress"] = 100.0 * (to_send - queued) / to_send if to_send else 0.0
    return values


def top_failures(rows, limit=10):
    """The ``limit`` most frequent of ``rows`` of ``(count, failure_type,
    error)``, most frequent first, and the count of the others.

    >>> top_failures([(1, "a", None), (5, "b", "x"), (2, "c", None)], limit=2)
    ([(5, 'b', 'x'), (2, 'c', None)], 1)
    """
    rows = sorted(rows, key=lambda row: -row[0])
    return rows[:limit], sum(row[0] for row in rows[limit:])
