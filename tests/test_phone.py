"""E.164 normalisation (sms_mailing/tools/phone.py, no database)."""

import doctest

import pytest

from odoo.addons.sms_mailing.tools import phone
from odoo.addons.sms_mailing.tools.phone import INVALID, MISSING, digits, normalize


def test_doctests():
    failures, tried = doctest.testmod(phone)
    assert tried > 0
    assert failures == 0


def test_error_codes_are_odoo_failure_types():
    assert MISSING == "sms_number_missing"
    assert INVALID == "sms_number_format"


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06.12.34.56.78", "fr", "+33612345678"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("0033612345678", None, "+33612345678"),
        ("+33612345678", "RU", "+33612345678"),  # explicit prefix beats the region
        ("8 (925) 123-45-67", "RU", "+79251234567"),
        ("+7 925 123-45-67", None, "+79251234567"),
        ("  +7 925 123 45 67  ", "", "+79251234567"),
        ("+375 29 123-45-67", None, "+375291234567"),
        ("+1 650 253 0000", None, "+16502530000"),
    ],
)
def test_normalize_valid(number, region, expected):
    e164, error = normalize(number, region)
    if expected is None:
        assert (e164, error) == (None, INVALID)
    else:
        assert (e164, error) == (expected, None)


@pytest.mark.parametrize("number", [None, "", "   ", "\t\n"])
def test_normalize_missing(number):
    assert normalize(number, "FR") == (None, MISSING)


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("12", "FR"),
        ("abc", "FR"),
        ("06 12 34 56 78", None),  # national number without a country
        ("+33 1", None),
        ("+999 123456789", None),  # no such country code
        ("+33 6 12 34 56 78 90 12", None),  # too long
    ],
)
def test_normalize_invalid(number, region):
    assert normalize(number, region) == (None, INVALID)


def test_normalize_accepts_non_string():
    assert normalize(33612345678, None) == (None, INVALID)  # no "+": no country
    assert normalize("+" + str(33612345678)) == ("+33612345678", None)


def test_digits():
    assert digits("+7 925 123-45-67") == "79251234567"
    assert digits("+33612345678") == "33612345678"
    assert digits("") == ""
    assert digits(None) == ""


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("25000000000000", "DE"),  # phonenumbers: valid; 16 digits with +49
        ("+49 25000000000000", None),
        ("0049 25000000000000", "FR"),
    ],
)
def test_normalize_refuses_more_than_15_digits(number, region):
    assert normalize(number, region) == (None, INVALID)


def test_normalize_keeps_15_digits():
    # The longest E.164 number: 15 digits, country code included.
    assert normalize("2500000000000", "DE") == ("+492500000000000", None)
