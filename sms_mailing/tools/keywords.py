"""Stop and start keywords: a received SMS that is a stop keyword opts its
sender out; a start keyword lifts an opt-out made by a stop keyword (pure)."""

DEFAULT_STOP_KEYWORDS = "STOP, STOPALL, UNSUBSCRIBE, ARRET, СТОП, PARAR"
# English, French, Russian, Brazilian Portuguese.
DEFAULT_START_KEYWORDS = "START, UNSTOP, SUBSCRIBE, REPRISE, СТАРТ, VOLTAR"


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
    >>> is_stop("старт", parse_keywords(DEFAULT_START_KEYWORDS))
    True
    """
    return "".join((body or "").split()).casefold() in keywords
