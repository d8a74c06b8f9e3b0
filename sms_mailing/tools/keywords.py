"""Stop keywords: a received SMS that is one of them opts its sender out (pure)."""

DEFAULT_STOP_KEYWORDS = "STOP, STOPALL, UNSUBSCRIBE, ARRET, СТОП, PARAR"


def parse_keywords(text):
    """``"STOP, Arret"`` -> ``{"STOP", "ARRET"}`` (casefolded, spaces removed).

    >>> sorted(parse_keywords("STOP, Ne plus recevoir,, "))
    ['neplusrecevoir', 'stop']
    """
    return {
        "".join(word.split()).casefold()
        for word in (text or "").split(",")
        if word.strip()
    }


def is_stop(body, keywords):
    """Whether ``body`` is one of ``keywords`` (case and spaces do not matter).

    >>> is_stop(" Stop ", parse_keywords(DEFAULT_STOP_KEYWORDS))
    True
    >>> is_stop("Stop please", parse_keywords(DEFAULT_STOP_KEYWORDS))
    False
    """
    return "".join((body or "").split()).casefold() in keywords
