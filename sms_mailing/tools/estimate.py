"""A mailing's parts before launch, from the texts of (a sample of) its
recipients (no ORM)."""

from . import segments


def scale_up(count, sample, population):
    """``count`` measured on ``sample`` recipients, for ``population`` of them,
    rounded up: a sample never makes the total smaller than it says.

    >>> scale_up(7, 5, 32)  # 44.8
    45
    >>> scale_up(10, 10, 10)
    10
    >>> scale_up(0, 0, 10)
    0
    """
    if sample >= population:
        return count
    return -(-count * population // max(sample, 1))


def summarize_parts(texts, recipients):
    """Parts of ``texts`` (each recipient's, or a sample of them) for
    ``recipients``: the values of the estimate's fields (``parts_estimate``,
    ``body_parts`` of the longest text, ``body_encoding``: UCS-2 as soon as one
    text needs it), and the index of the longest text.

    >>> values, longest = summarize_parts(["Hi", "Hello Zoë", "Hi " * 60], 3)
    >>> values == {"parts_estimate": 4, "body_parts": 2, "body_encoding": "UCS-2"}
    True
    >>> longest
    2
    >>> summarize_parts(["Hi"], 10)[0]["parts_estimate"]  # a sample of one
    10
    """
    infos = [segments.analyze(text) for text in texts]
    longest = max(range(len(texts)), key=lambda i: infos[i].parts)
    values = {
        "parts_estimate": scale_up(
            sum(info.parts for info in infos), len(texts), recipients
        ),
        "body_parts": infos[longest].parts,
        "body_encoding": segments.UCS2
        if any(info.encoding == segments.UCS2 for info in infos)
        else segments.GSM7,
    }
    return values, longest
