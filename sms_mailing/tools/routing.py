"""Provider routing and retry timing (pure)."""

import re

_SPLIT = re.compile(r"[\s,;]+")


def parse_prefixes(text):
    """Split a prefix list such as ``"+7 +375, 44"`` into ``['+7', '+375', '+44']``.

    >>> parse_prefixes("+7 +375, 44;")
    ['+7', '+375', '+44']
    >>> parse_prefixes("")
    []
    """
    prefixes = []
    for token in _SPLIT.split(text or ""):
        token = "".join(ch for ch in token if ch.isdigit())
        if token:
            prefixes.append("+" + token)
    return prefixes


def invalid_prefixes(text):
    """Tokens of a prefix list that are not ``+`` followed by digits.

    >>> invalid_prefixes("+7 +3a75 abc")
    ['+3a75', 'abc']
    """
    return [
        token
        for token in _SPLIT.split(text or "")
        if token and not re.fullmatch(r"\+?\d{1,6}", token)
    ]


def match_length(number, prefixes):
    """Length of the longest prefix of ``prefixes`` that ``number`` starts with.

    ``0`` when ``prefixes`` is empty (the provider takes any number), ``None``
    when the provider does not serve the number.

    >>> match_length("+79251234567", ["+7", "+792"])
    4
    >>> match_length("+33612345678", [])
    0
    >>> match_length("+33612345678", ["+7"]) is None
    True
    """
    if not prefixes:
        return 0
    best = None
    for prefix in prefixes:
        if number.startswith(prefix) and (best is None or len(prefix) > best):
            best = len(prefix)
    return best


def order_candidates(number, providers):
    """Order the providers that can send to ``number``.

    ``providers`` is an iterable of ``(key, prefixes, sequence)``; the result is
    the keys of the matching providers, longest matching prefix first, then by
    sequence, then by key: the first is used, the next ones are the failover.

    >>> order_candidates("+79251234567", [(1, [], 1), (2, ["+7"], 5), (3, ["+33"], 0)])
    [2, 1]
    """
    ranked = []
    for key, prefixes, sequence in providers:
        length = match_length(number, prefixes)
        if length is not None:
            ranked.append((-length, sequence, key))
    ranked.sort()
    return [key for _length, _sequence, key in ranked]


def backoff_seconds(attempt, base=60, factor=2.0, cap=6 * 3600):
    """Delay before retry number ``attempt`` (1 = first retry), capped.

    >>> [backoff_seconds(n) for n in (1, 2, 3, 4)]
    [60, 120, 240, 480]
    >>> backoff_seconds(30)
    21600
    """
    attempt = max(1, int(attempt))
    return int(min(cap, base * factor ** (attempt - 1)))
