"""Provider routing and retry timing (sms_mailing/tools/routing.py, no database)."""

import pytest

from odoo.addons.sms_mailing.tools.routing import (
    backoff_seconds,
    invalid_prefixes,
    match_length,
    order_candidates,
    parse_prefixes,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, []),
        ("", []),
        ("   ", []),
        ("+7", ["+7"]),
        ("+7 +375", ["+7", "+375"]),
        ("+7,+375;+44", ["+7", "+375", "+44"]),
        ("7\n375\t 44", ["+7", "+375", "+44"]),
        ("+7, , ;", ["+7"]),
    ],
)
def test_parse_prefixes(text, expected):
    assert parse_prefixes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, []),
        ("", []),
        ("+7 +375, 44;", []),
        ("abc", ["abc"]),
        ("+7 +3a75 abc", ["+3a75", "abc"]),
        ("++7", ["++7"]),
        ("+1234567", ["+1234567"]),  # longer than any country code + area
        ("+", ["+"]),
    ],
)
def test_invalid_prefixes(text, expected):
    assert invalid_prefixes(text) == expected


def test_match_length():
    assert match_length("+79251234567", []) == 0
    assert match_length("+79251234567", ["+7"]) == 2
    assert match_length("+79251234567", ["+792", "+7"]) == 4
    assert match_length("+79251234567", ["+33"]) is None
    # A prefix matches digits from the start, not anywhere in the number.
    assert match_length("+33679251234", ["+7"]) is None
    assert match_length("+375291234567", ["+37", "+3752", "+3753"]) == 5


def test_longest_prefix_wins_over_sequence():
    providers = [
        ("any", [], 1),
        ("russia", ["+7"], 50),
        ("moscow", ["+7495", "+7499"], 99),
    ]
    assert order_candidates("+74951234567", providers) == ["moscow", "russia", "any"]
    assert order_candidates("+79251234567", providers) == ["russia", "any"]
    assert order_candidates("+33612345678", providers) == ["any"]


def test_equal_prefixes_ordered_by_sequence_then_key():
    providers = [(3, ["+7"], 20), (1, ["+7"], 20), (2, ["+7"], 10), (4, [], 1)]
    assert order_candidates("+79251234567", providers) == [2, 1, 3, 4]


def test_no_candidate():
    assert order_candidates("+33612345678", [(1, ["+7"], 1), (2, ["+375"], 1)]) == []
    assert order_candidates("+33612345678", []) == []


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(0, 60), (1, 60), (2, 120), (3, 240), (4, 480), (5, 960), (9, 15360), (10, 21600)],
)
def test_backoff_doubles_from_base_and_is_capped(attempt, expected):
    assert backoff_seconds(attempt) == expected


def test_backoff_custom_base_factor_cap():
    assert backoff_seconds(1, base=10) == 10
    assert backoff_seconds(3, base=10, factor=3) == 90
    assert backoff_seconds(20, base=10, cap=100) == 100
    assert backoff_seconds(1000) == 6 * 3600  # no overflow with huge attempts
