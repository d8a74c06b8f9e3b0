"""Exact segment counts, GSM-7 table and transliteration (no database)."""

import itertools
import json
import random
import unicodedata
from pathlib import Path

import pytest

from odoo.addons.sms_mailing.tools.segments import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    SegmentInfo,
    analyze,
    gsm7_decode,
    gsm7_septets,
    is_gsm7,
    split_parts,
    transliterate,
    ucs2_units,
)

CYR = "ж"  # one UCS-2 unit
EMOJI = "👍"  # U+1F44D: a surrogate pair, two UTF-16 units

# 3GPP TS 23.038 6.2.1, by Unicode name (None: control characters, checked apart).
STANDARD_NAMES = [
    # 0x00
    "COMMERCIAL AT", "POUND SIGN", "DOLLAR SIGN", "YEN SIGN",
    "LATIN SMALL LETTER E WITH GRAVE", "LATIN SMALL LETTER E WITH ACUTE",
    "LATIN SMALL LETTER U WITH GRAVE", "LATIN SMALL LETTER I WITH GRAVE",
    "LATIN SMALL LETTER O WITH GRAVE", "LATIN CAPITAL LETTER C WITH CEDILLA",
    None, "LATIN CAPITAL LETTER O WITH STROKE", "LATIN SMALL LETTER O WITH STROKE",
    None, "LATIN CAPITAL LETTER A WITH RING ABOVE",
    "LATIN SMALL LETTER A WITH RING ABOVE",
    # 0x10
    "GREEK CAPITAL LETTER DELTA", "LOW LINE", "GREEK CAPITAL LETTER PHI",
    "GREEK CAPITAL LETTER GAMMA", "GREEK CAPITAL LETTER LAMDA",
    "GREEK CAPITAL LETTER OMEGA", "GREEK CAPITAL LETTER PI",
    "GREEK CAPITAL LETTER PSI", "GREEK CAPITAL LETTER SIGMA",
    "GREEK CAPITAL LETTER THETA", "GREEK CAPITAL LETTER XI", None,
    "LATIN CAPITAL LETTER AE", "LATIN SMALL LETTER AE", "LATIN SMALL LETTER SHARP S",
    "LATIN CAPITAL LETTER E WITH ACUTE",
    # 0x20
    "SPACE", "EXCLAMATION MARK", "QUOTATION MARK", "NUMBER SIGN", "CURRENCY SIGN",
    "PERCENT SIGN", "AMPERSAND", "APOSTROPHE", "LEFT PARENTHESIS",
    "RIGHT PARENTHESIS", "ASTERISK", "PLUS SIGN", "COMMA", "HYPHEN-MINUS",
    "FULL STOP", "SOLIDUS",
    # 0x30
    "DIGIT ZERO", "DIGIT ONE", "DIGIT TWO", "DIGIT THREE", "DIGIT FOUR",
    "DIGIT FIVE", "DIGIT SIX", "DIGIT SEVEN", "DIGIT EIGHT", "DIGIT NINE", "COLON",
    "SEMICOLON", "LESS-THAN SIGN", "EQUALS SIGN", "GREATER-THAN SIGN",
    "QUESTION MARK",
    # 0x40
    "INVERTED EXCLAMATION MARK",
    *(f"LATIN CAPITAL LETTER {c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "LATIN CAPITAL LETTER A WITH DIAERESIS", "LATIN CAPITAL LETTER O WITH DIAERESIS",
    "LATIN CAPITAL LETTER N WITH TILDE", "LATIN CAPITAL LETTER U WITH DIAERESIS",
    "SECTION SIGN",
    # 0x60
    "INVERTED QUESTION MARK",
    *(f"LATIN SMALL LETTER {c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "LATIN SMALL LETTER A WITH DIAERESIS", "LATIN SMALL LETTER O WITH DIAERESIS",
    "LATIN SMALL LETTER N WITH TILDE", "LATIN SMALL LETTER U WITH DIAERESIS",
    "LATIN SMALL LETTER A WITH GRAVE",
]  # fmt: skip

ALL_GSM7_CHARS = GSM7_BASIC.replace("\x1b", "") + "".join(GSM7_EXTENSION)


def _cost(text, encoding):
    if encoding == GSM7:
        return len(gsm7_septets(text))
    return ucs2_units(text)


def _check_split(text):
    """split_parts agrees with analyze and every part fits its capacity."""
    info = analyze(text)
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == info.parts
    for part in parts:
        assert part
        assert _cost(part, info.encoding) <= info.part_limit
    for part, following in itertools.pairwise(parts):
        # greedy: the first character of the next part did not fit in this one
        assert _cost(part + following[0], info.encoding) > info.part_limit
    if parts:
        assert _cost(parts[-1], info.encoding) == info.part_limit - info.remaining
    return parts


# -- the tables ---------------------------------------------------------------


def test_basic_table_matches_the_standard():
    assert len(GSM7_BASIC) == 128
    assert len(STANDARD_NAMES) == 128
    for code, (char, name) in enumerate(zip(GSM7_BASIC, STANDARD_NAMES, strict=True)):
        if name is not None:
            assert unicodedata.name(char) == name, hex(code)
    assert GSM7_BASIC[0x0A] == "\n"
    assert GSM7_BASIC[0x0D] == "\r"
    assert GSM7_BASIC[0x1B] == "\x1b"
    assert len(set(GSM7_BASIC)) == 128


@pytest.mark.parametrize(
    ("code", "char"),
    [
        (0x00, "@"),
        (0x01, "£"),
        (0x02, "$"),
        (0x03, "¥"),
        (0x09, "Ç"),
        (0x11, "_"),
        (0x24, "¤"),
        (0x40, "¡"),
        (0x5F, "§"),
        (0x60, "¿"),
        (0x7F, "à"),
    ],
)
def test_basic_table_landmarks(code, char):
    assert GSM7_BASIC[code] == char
    assert gsm7_septets(char) == [code]


def test_extension_table():
    assert GSM7_EXTENSION == {
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
    assert not set(GSM7_EXTENSION) & set(GSM7_BASIC)


def test_constants():
    assert (GSM7, UCS2) == ("GSM-7", "UCS-2")


# -- encoding -----------------------------------------------------------------


def test_is_gsm7():
    assert is_gsm7("")
    assert is_gsm7(ALL_GSM7_CHARS)
    assert is_gsm7("§")
    assert not is_gsm7("`")  # python-gsmmodem's mistake: backtick is not GSM-7
    assert not is_gsm7("ç")  # only the capital Ç is
    assert not is_gsm7("\x1b")  # ESC is not a character a text can hold
    assert not is_gsm7("Привет")
    assert not is_gsm7(EMOJI)


def test_gsm7_septets():
    assert gsm7_septets("") == []
    assert gsm7_septets("Aa@\n\r") == [0x41, 0x61, 0x00, 0x0A, 0x0D]
    assert gsm7_septets("{€}") == [0x1B, 0x28, 0x1B, 0x65, 0x1B, 0x29]
    assert gsm7_septets("\f^\\[~]|") == [
        0x1B, 0x0A, 0x1B, 0x14, 0x1B, 0x2F, 0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E,
        0x1B, 0x40,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ab`c", r"'`' \(U\+0060\) at position 2"),
        ("Жук", r"'Ж' \(U\+0416\) at position 0"),
        ("ok\x1b", r"U\+001B\) at position 2"),
        ("hi " + EMOJI, r"U\+1F44D\) at position 3"),
    ],
)
def test_gsm7_septets_names_the_first_bad_character(text, message):
    with pytest.raises(ValueError, match=message):
        gsm7_septets(text)


def test_round_trip_over_the_whole_table():
    assert gsm7_decode(gsm7_septets(ALL_GSM7_CHARS)) == ALL_GSM7_CHARS
    for char in ALL_GSM7_CHARS:
        assert gsm7_decode(gsm7_septets(char)) == char


def test_decode_every_septet_outside_escapes():
    septets = [code for code in range(128) if code != 0x1B]
    assert gsm7_decode(septets) == GSM7_BASIC.replace("\x1b", "")


def test_decode_unknown_escapes():
    # undefined extension code: the default alphabet character of that code
    assert gsm7_decode([0x1B, 0x41]) == "A"
    assert gsm7_decode([0x1B, 0x00]) == "@"
    # ESC ESC is reserved for another extension table: shown as a space
    assert gsm7_decode([0x61, 0x1B, 0x1B, 0x62]) == "a b"
    # a dangling final escape
    assert gsm7_decode([0x61, 0x1B]) == "a "
    with pytest.raises(ValueError):
        gsm7_decode([0x80])


def test_ucs2_units():
    assert ucs2_units("") == 0
    assert ucs2_units("Привет") == 6
    assert ucs2_units(EMOJI) == 2
    assert ucs2_units("a" + EMOJI + "б") == 4
    assert ucs2_units("€") == 1


# -- counting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # encoding, length, parts, part_limit, remaining
        ("", (GSM7, 0, 0, 160, 160)),
        ("a", (GSM7, 1, 1, 160, 159)),
        ("a" * 160, (GSM7, 160, 1, 160, 0)),
        ("a" * 161, (GSM7, 161, 2, 153, 145)),
        ("a" * 306, (GSM7, 306, 2, 153, 0)),
        ("a" * 307, (GSM7, 307, 3, 153, 152)),
        ("a" * 459, (GSM7, 459, 3, 153, 0)),
        ("a" * 460, (GSM7, 460, 4, 153, 152)),
        # extension characters are two septets
        ("€", (GSM7, 2, 1, 160, 158)),
        ("€" * 80, (GSM7, 160, 1, 160, 0)),
        ("€" * 81, (GSM7, 162, 2, 153, 143)),  # 76 + 5 pairs
        ("a" * 159 + "€", (GSM7, 161, 2, 153, 145)),
        ("{[|]}\\^~\f€", (GSM7, 20, 1, 160, 140)),
        # an escape pair never split: 152 + ESC pair + 152 needs three parts
        ("a" * 152 + "€" + "a" * 152, (GSM7, 306, 3, 153, 152)),
        ("a" * 152 + "€" + "a" * 151, (GSM7, 305, 2, 153, 0)),
        ("a" * 153 + "€", (GSM7, 155, 1, 160, 5)),
        # newline and carriage return: one septet each, not two
        ("a\nb", (GSM7, 3, 1, 160, 157)),
        ("\n" * 160, (GSM7, 160, 1, 160, 0)),
        ("\r\n" * 80, (GSM7, 160, 1, 160, 0)),
        ("\r\n" * 80 + "x", (GSM7, 161, 2, 153, 145)),
        # § is GSM-7, a backtick is not
        ("§" * 160, (GSM7, 160, 1, 160, 0)),
        ("`", (UCS2, 1, 1, 70, 69)),
        ("a" * 100 + "`", (UCS2, 101, 2, 67, 33)),
        # UCS-2
        (CYR * 70, (UCS2, 70, 1, 70, 0)),
        (CYR * 71, (UCS2, 71, 2, 67, 63)),
        (CYR * 134, (UCS2, 134, 2, 67, 0)),
        (CYR * 135, (UCS2, 135, 3, 67, 66)),
        (CYR * 201, (UCS2, 201, 3, 67, 0)),
        (CYR * 202, (UCS2, 202, 4, 67, 66)),
        ("€" + CYR, (UCS2, 2, 1, 70, 68)),  # in UCS-2 € is one unit
        ("a" * 69 + "€" + "ç", (UCS2, 71, 2, 67, 63)),
        # emoji: two units, a surrogate pair never split
        (EMOJI, (UCS2, 2, 1, 70, 68)),
        (EMOJI * 35, (UCS2, 70, 1, 70, 0)),
        (EMOJI * 36, (UCS2, 72, 2, 67, 61)),  # 33 + 3 emoji
        (CYR * 68 + EMOJI, (UCS2, 70, 1, 70, 0)),
        (CYR * 69 + EMOJI, (UCS2, 71, 2, 67, 63)),
        (CYR * 66 + EMOJI + CYR * 10, (UCS2, 78, 2, 67, 55)),
        (CYR * 66 + EMOJI + CYR * 66, (UCS2, 134, 3, 67, 66)),
        (CYR * 66 + EMOJI + CYR * 65, (UCS2, 133, 2, 67, 0)),
    ],
)
def test_analyze(text, expected):
    info = analyze(text)
    assert isinstance(info, SegmentInfo)
    assert (
        info.encoding,
        info.length,
        info.parts,
        info.part_limit,
        info.remaining,
    ) == expected
    assert info.chars == len(text)
    _check_split(text)


def test_split_parts_gsm7():
    assert split_parts("") == []
    assert split_parts("hello") == ["hello"]
    assert [len(p) for p in split_parts("a" * 161)] == [153, 8]
    assert [len(p) for p in split_parts("a" * 307)] == [153, 153, 1]
    # the ESC pair that would straddle 153 moves whole to the next part
    parts = split_parts("a" * 152 + "€" + "b" * 10)
    assert parts == ["a" * 152, "€" + "b" * 10]
    assert [len(gsm7_septets(p)) for p in parts] == [152, 12]
    parts = split_parts("€" * 81)
    assert parts == ["€" * 76, "€" * 5]
    assert [len(gsm7_septets(p)) for p in parts] == [152, 10]


def test_split_parts_ucs2():
    assert [len(p) for p in split_parts(CYR * 135)] == [67, 67, 1]
    parts = split_parts(CYR * 66 + EMOJI + CYR * 10)
    assert parts == [CYR * 66, EMOJI + CYR * 10]
    assert [ucs2_units(p) for p in parts] == [66, 12]
    parts = split_parts(EMOJI * 36)
    assert parts == [EMOJI * 33, EMOJI * 3]


def test_random_texts_pack_exactly():
    """Invariants on random mixes of 1- and 2-unit characters (seeded)."""
    pools = [
        "ab c\n" + "€{}",  # GSM-7 with escapes
        "ab c\n" + "€{}" + CYR,  # UCS-2
        "ab c" + CYR + EMOJI,  # UCS-2 with surrogate pairs
        "€|",  # only escapes
    ]
    rng = random.Random(20250318)
    for _ in range(400):
        pool = rng.choice(pools)
        text = "".join(rng.choices(pool, k=rng.randint(0, 500)))
        info = analyze(text)
        assert info.length == _cost(text, info.encoding)
        assert info.encoding == (GSM7 if is_gsm7(text) else UCS2)
        _check_split(text)


# -- transliteration ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "latin"),
    [
        ("Привет, мир!", "Privet, mir!"),
        ("Щука", "Shchuka"),
        ("Съешь жёлтых", "Sesh zheltykh"),
        ("Съешь же ещё этих мягких французских булок, да выпей чаю",
         "Sesh zhe eshche etikh myagkikh frantsuzskikh bulok, da vypey chayu"),
        ("Жук Юля Цой Чай Шар Хор Ёж Яма Эхо",
         "Zhuk Yulya Tsoy Chay Shar Khor Ezh Yama Ekho"),
        ("ЩУКА и ЖУК, ЁЖ", "SHCHUKA i ZHUK, EZH"),
        ("Ж", "Zh"),
        ("Объявление: ПОДЪЯЗД", "Obyavlenie: PODYAZD"),
        # и is always "i" (the Russian value), so Ukrainian "Київ" is "Kiyiv"
        ("Київ, Їжак, Європа, ґанок, Ґудзик, Іван",
         "Kiyiv, Yizhak, Yevropa, ganok, Gudzik, Ivan"),
        ("Беларусь: Ўладзімір, воўк", "Belarus: Uladzimir, vouk"),
        ("Hello 123 {€} — ü", "Hello 123 {€} — ü"),
        ("", ""),
    ],
)  # fmt: skip
def test_transliterate(text, latin):
    assert transliterate(text) == latin


def test_transliterate_every_letter_to_gsm7():
    russian = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    others = "іїєґў"
    letters = russian + others
    latin = transliterate(letters + letters.upper())
    assert latin.isascii()
    assert is_gsm7(latin)
    for letter in letters + letters.upper():
        assert transliterate(letter).isascii(), letter


def test_transliterated_text_becomes_gsm7():
    text = "Здравствуйте! Ваш заказ №15 готов. Скидка 10% до 31.12"
    assert analyze(text).encoding == UCS2
    latin = transliterate(text)
    assert latin == "Zdravstvuyte! Vash zakaz №15 gotov. Skidka 10% do 31.12"
    # "№" is left unchanged (not Cyrillic) and still needs UCS-2
    assert analyze(latin).encoding == UCS2
    latin = transliterate("Здравствуйте! Ваш заказ готов: 15 шт. за 1000 руб.")
    info = analyze(latin)
    assert info.encoding == GSM7
    assert (info.length, info.parts) == (len(latin), 1)


# -- the shared table: the widget's segments.js reads the same file ---------------
CASES_FILE = (
    Path(__file__).resolve().parent.parent
    / "sms_mailing"
    / "static"
    / "tests"
    / "segment_cases.json"
)
SHARED_CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def case_text(text):
    """A case's text: a string, or pieces (a string, or [string, n] repeated)."""
    if isinstance(text, str):
        return text
    return "".join(p if isinstance(p, str) else p[0] * p[1] for p in text)


@pytest.mark.parametrize("case", SHARED_CASES, ids=[c["note"] for c in SHARED_CASES])
def test_shared_segment_cases(case):
    info = analyze(case_text(case["text"]))
    assert {
        "encoding": info.encoding,
        "parts": info.parts,
        "length": info.length,
        "characters": info.chars,
        "remaining": info.remaining,
    } == {
        key: case[key]
        for key in ("encoding", "parts", "length", "characters", "remaining")
    }


def test_shared_cases_cover_both_encodings_and_several_parts():
    assert {c["encoding"] for c in SHARED_CASES} == {GSM7, UCS2}
    assert max(c["parts"] for c in SHARED_CASES) >= 3
