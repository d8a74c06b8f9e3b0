"""SMS encoding and segment counting (3GPP TS 23.038, formerly GSM 03.38).

Pure Python, no Odoo import: used by the models, by the modem encoder that builds
concatenated PDUs, and ported as is to the ``sms_segment_text`` JS widget
(``static/src/components/sms_segment_text/segments.js``). Both counters are
checked against one table of cases, ``static/tests/segment_cases.json`` (by
``tests/test_segments.py`` here and by the Hoot test ``static/tests/segments.test.js``
in the browser): a new case goes there, and the two cannot drift apart.

A text is sent in GSM-7 when every character is in the default alphabet or in its
extension table, otherwise in UCS-2 (UTF-16 in practice). Capacities:

============  ===========  ==========================================
encoding      one part     each part of several (8-bit concat. ref.)
============  ===========  ==========================================
GSM-7         160 septets  153 septets
UCS-2         70 units     67 units
============  ===========  ==========================================

An extension character costs two septets (ESC 0x1B + its code) and the pair is
never split across parts; a character outside the BMP costs two UTF-16 units and
the surrogate pair is never split either. Part counts therefore come from packing
the text part by part, not from a division.

>>> analyze("Hello")  # doctest: +NORMALIZE_WHITESPACE
SegmentInfo(encoding='GSM-7', length=5, parts=1, part_limit=160, remaining=155,
            chars=5)
>>> analyze("Price: 10€\\n").length  # € is ESC + 0x65, the newline one septet
12
>>> analyze("Привет").encoding
'UCS-2'
>>> [len(part) for part in split_parts("a" * 152 + "€" + "b" * 10)]
[152, 11]
"""

from dataclasses import dataclass

__all__ = [
    "GSM7",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "UCS2",
    "SegmentInfo",
    "analyze",
    "gsm7_decode",
    "gsm7_septets",
    "is_gsm7",
    "split_parts",
    "transliterate",
    "ucs2_units",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The default alphabet: index = septet value. 0x1B is ESC (escape to the
# extension table), it is not a character a text can contain.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10
    " !\"#¤%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "¡ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50
    "¿abcdefghijklmno"  # 0x60
    "pqrstuvwxyzäöñüà"  # 0x70
)

# Extension table: sent as ESC (0x1B) followed by the code, two septets.
GSM7_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_ESC = 0x1B
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

# Built once at import time.
_BASIC_CODES = {char: code for code, char in enumerate(GSM7_BASIC) if code != _ESC}
_EXTENSION_CHARS = frozenset(GSM7_EXTENSION)
_GSM7_CHARS = frozenset(_BASIC_CODES) | _EXTENSION_CHARS
_EXTENSION_DECODE = {code: char for char, code in GSM7_EXTENSION.items()}


@dataclass(frozen=True)
class SegmentInfo:
    """What a text costs.

    ``length`` is in septets (GSM-7, escapes included) or UTF-16 units (UCS-2),
    ``parts`` is 0 for an empty text, ``part_limit`` is the capacity of each part
    that applies (160/153 or 70/67) and ``remaining`` what is left in the last one.
    """

    encoding: str
    length: int
    parts: int
    part_limit: int
    remaining: int
    chars: int


def is_gsm7(text):
    """Whether every character of ``text`` can be sent in GSM-7.

    >>> is_gsm7("§ 5: {ok} €"), is_gsm7("`"), is_gsm7("ç")
    (True, False, False)
    """
    return _GSM7_CHARS.issuperset(text)


def gsm7_septets(text):
    """Septet values of ``text`` in GSM-7, extension characters as ESC + code.

    >>> gsm7_septets("@a€\\n")
    [0, 97, 27, 101, 10]
    >>> gsm7_septets("ok`")
    Traceback (most recent call last):
    ...
    ValueError: '`' (U+0060) at position 2 is not in the GSM-7 alphabet
    """
    septets = []
    append = septets.append
    for position, char in enumerate(text):
        code = _BASIC_CODES.get(char)
        if code is not None:
            append(code)
            continue
        code = GSM7_EXTENSION.get(char)
        if code is None:
            raise ValueError(
                f"{char!r} (U+{ord(char):04X}) at position {position} "
                "is not in the GSM-7 alphabet"
            )
        append(_ESC)
        append(code)
    return septets


def gsm7_decode(septets):
    """Text of a sequence of septet values (the inverse of :func:`gsm7_septets`).

    As TS 23.038 requires, ESC followed by a code the extension table does not
    define gives the default alphabet character of that code, and ESC ESC (reserved
    for another extension table) gives a space; so does a dangling final ESC.

    >>> gsm7_decode([0x1B, 0x65, 0x1B, 0x41, 0x1B, 0x1B, 0x61])
    '€A a'
    """
    chars = []
    append = chars.append
    escaped = False
    for septet in septets:
        if not 0 <= septet <= 0x7F:
            raise ValueError(f"{septet!r} is not a septet value (0-127)")
        if escaped:
            escaped = False
            if septet == _ESC:
                append(" ")
            else:
                append(_EXTENSION_DECODE.get(septet) or GSM7_BASIC[septet])
        elif septet == _ESC:
            escaped = True
        else:
            append(GSM7_BASIC[septet])
    if escaped:
        append(" ")
    return "".join(chars)


def ucs2_units(text):
    """Number of UTF-16 code units of ``text`` (a character outside the BMP is 2).

    >>> ucs2_units("ok 👍")
    5
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _gsm7_cost(char):
    return 2 if char in _EXTENSION_CHARS else 1


def _ucs2_cost(char):
    return 2 if ord(char) > 0xFFFF else 1


def _measure(text):
    """Return ``(encoding, length, has_double_units)`` of ``text``."""
    if _GSM7_CHARS.issuperset(text):
        escapes = sum(map(text.count, _EXTENSION_CHARS))
        return GSM7, len(text) + escapes, bool(escapes)
    units = ucs2_units(text)
    return UCS2, units, units != len(text)


def _pack(text, cost, limit):
    """Greedy packing into parts of ``limit`` units; never splits a 2-unit char.

    Return a list of ``(start, end, used)``, one per part (greedy is optimal for
    a sequence that must stay in order).
    """
    bounds = []
    start = used = 0
    for index, char in enumerate(text):
        units = cost(char)
        if used + units > limit:
            bounds.append((start, index, used))
            start, used = index, 0
        used += units
    bounds.append((start, len(text), used))
    return bounds


def analyze(text):
    """Encoding, length and parts of ``text``.

    >>> info = analyze("x" * 161)
    >>> info.parts, info.part_limit, info.remaining
    (2, 153, 145)
    >>> analyze("")  # doctest: +NORMALIZE_WHITESPACE
    SegmentInfo(encoding='GSM-7', length=0, parts=0, part_limit=160, remaining=160,
                chars=0)
    """
    encoding, length, has_doubles = _measure(text)
    single, multi = _LIMITS[encoding]
    if length <= single:
        parts = 1 if text else 0
        return SegmentInfo(encoding, length, parts, single, single - length, len(text))
    if has_doubles:
        cost = _gsm7_cost if encoding == GSM7 else _ucs2_cost
        bounds = _pack(text, cost, multi)
        parts, last_used = len(bounds), bounds[-1][2]
    else:
        parts = -(-length // multi)
        last_used = length - (parts - 1) * multi
    return SegmentInfo(encoding, length, parts, multi, multi - last_used, len(text))


def split_parts(text):
    """The text of each part ``text`` is sent in (``"".join(parts) == text``).

    >>> [len(part) for part in split_parts("é" * 200)]
    [153, 47]
    >>> [len(part) for part in split_parts("ж" * 66 + "👍" + "ж" * 10)]
    [66, 11]
    """
    if not text:
        return []
    encoding, length, _has_doubles = _measure(text)
    single, multi = _LIMITS[encoding]
    if length <= single:
        return [text]
    cost = _gsm7_cost if encoding == GSM7 else _ucs2_cost
    return [text[start:end] for start, end, _used in _pack(text, cost, multi)]


# Transliteration -----------------------------------------------------------

_CYRILLIC_TO_LATIN = {
    # Russian
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    # Ukrainian (and Belarusian і)
    "і": "i",
    "ї": "yi",
    "є": "ye",
    "ґ": "g",
    # Belarusian
    "ў": "u",
}
_TRANSLIT_TABLE = str.maketrans(
    {
        **_CYRILLIC_TO_LATIN,
        **{
            lower.upper(): latin.capitalize()
            for lower, latin in _CYRILLIC_TO_LATIN.items()
        },
    }
)
# Capitals written with several Latin letters: "Zh" in "Жук", "ZH" in "ЖУК".
_UPPER_DIGRAPHS = {
    lower.upper(): latin.upper()
    for lower, latin in _CYRILLIC_TO_LATIN.items()
    if len(latin) > 1
}


def transliterate(text):
    """Cyrillic (Russian, Ukrainian, Belarusian) letters to Latin, to send GSM-7.

    The scheme is the usual SMS one, a simplified BGN/PCGN without apostrophes or
    diacritics: ж zh, х kh, ц ts, ч ch, ш sh, щ shch, ю yu, я ya, й y, ы y, э e,
    ё e, ъ and ь dropped; Ukrainian і i, ї yi, є ye, ґ g; Belarusian ў u (г is
    always g, и always i). A capital written with several Latin letters is
    capitalised ("Жук" -> "Zhuk") or, inside an all-caps word, all capitals
    ("ЖУК" -> "ZHUK"). Every other character is left unchanged.

    >>> transliterate("Привет, мир!")
    'Privet, mir!'
    >>> transliterate("Съешь жёлтых ЩУК, Юля")
    'Sesh zheltykh SHCHUK, Yulya'
    """
    if any(char in _UPPER_DIGRAPHS for char in text):
        original = text
        text = "".join(
            _upper_digraph(original, index, char) if char in _UPPER_DIGRAPHS else char
            for index, char in enumerate(original)
        )
    return text.translate(_TRANSLIT_TABLE)


def _upper_digraph(text, index, char):
    before = text[index - 1 : index]
    after = text[index + 1 : index + 2]
    if after.isupper() or (before.isupper() and not after.islower()):
        return _UPPER_DIGRAPHS[char]
    return _CYRILLIC_TO_LATIN[char.lower()].capitalize()
