"""Property tests of smart encoding (sms_mailing/tools/smart_encoding.py), measured
with tools/segments.py: it never costs a part, never touches a letter, and only
swaps look-alikes in a text that then is GSM-7."""

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from odoo.addons.sms_mailing.tools import segments, smart_encoding

# Seeded: the same examples on every run of the default profile.
seeded = settings(derandomize=True)

LOOKALIKE_CHARS = sorted(smart_encoding.LOOKALIKES)
# Texts as people write them: GSM-7 characters, look-alikes, €, letters of
# other alphabets (ç, ã, ê, Cyrillic), emoji, anything.
texts = st.lists(
    st.one_of(
        st.sampled_from(segments.GSM7_BASIC.replace("\x1b", "")),
        st.sampled_from(sorted(segments.GSM7_EXTENSION)),
        st.sampled_from(LOOKALIKE_CHARS),
        st.just("€"),
        st.sampled_from("çãêôœЖжЯяшЫ"),
        st.sampled_from(["👍", "✓"]),
        st.characters(),
    ),
    max_size=400,
).map("".join)


def letters(text):
    return [char for char in text if unicodedata.category(char).startswith("L")]


@seeded
@given(texts)
@example("x" * 157 + " 5€")
@example("’" + "x" * 200)
@example("Скидка «20 %» – только сегодня…")
def test_never_costs_more(text):
    result = smart_encoding.compare(text)
    assert result.after.parts <= result.before.parts
    assert result.text == smart_encoding.smart_encode(text)
    if result.changed:
        # a change is made for a cheaper encoding or fewer parts, never for nothing
        assert result.after.encoding == segments.GSM7
        assert (
            result.before.encoding == segments.UCS2
            or result.after.parts < result.before.parts
        )


@seeded
@given(texts)
def test_letters_are_never_changed(text):
    smart = smart_encoding.smart_encode(text)
    if "€" in text and "€" not in smart:
        # the only letters added are those of "EUR"/"E" in place of "€"
        for replacement in smart_encoding.EURO_REPLACEMENTS:
            if letters(text.replace("€", replacement)) == letters(smart):
                break
        else:
            raise AssertionError(f"letters changed: {text!r} -> {smart!r}")
    else:
        assert letters(smart) == letters(text)


@seeded
@given(texts)
def test_text_with_non_gsm_letter_stays_as_written(text):
    if any(not segments.is_gsm7(char) for char in letters(text)):
        assert smart_encoding.smart_encode(text) == text


@seeded
@given(texts)
def test_idempotent(text):
    once = smart_encoding.smart_encode(text)
    assert smart_encoding.smart_encode(once) == once


@seeded
@given(texts)
def test_only_lookalikes_and_euro_are_replaced(text):
    smart = smart_encoding.smart_encode(text)
    if smart == text:
        return
    # every character that disappeared is a look-alike, "€" or a space inside « »
    removed = set(text) - set(smart)
    assert removed <= set(LOOKALIKE_CHARS) | {"€", " "}


def test_french_text_saves_parts():
    text = (
        "Bonjour Lucie, les soldes d’été commencent : –50 % sur une sélection "
        "« Plage » jusqu’à dimanche… Réservez votre créneau en boutique "
        "ou sur notre site, l’équipe vous attend !"
    )
    result = smart_encoding.compare(text)
    assert (result.before.encoding, result.before.parts) == ("UCS-2", 3)
    assert (result.after.encoding, result.after.parts) == ("GSM-7", 2)
    assert "l'équipe" in result.text and '"Plage"' in result.text
    assert "..." in result.text and "-50 %" in result.text


def test_russian_text_stays_russian():
    text = "Здравствуйте! Скидка «20 %» – только сегодня…"
    assert smart_encoding.smart_encode(text) == text


def test_no_lookalike_is_a_letter():
    assert not letters("".join(smart_encoding.LOOKALIKES))
    assert all(segments.is_gsm7(r) for r in smart_encoding.LOOKALIKES.values())
