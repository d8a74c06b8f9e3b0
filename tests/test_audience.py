"""Exclusions in a launch batch (sms_mailing/tools/audience.py, no database)."""

import doctest

from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.sms_mailing.tools import audience
from odoo.addons.sms_mailing.tools.audience import (
    EXCLUSIONS,
    exclusion_reason,
    plan_batch,
)


def test_doctests():
    failures, tried = doctest.testmod(audience)
    assert tried > 0
    assert failures == 0


def test_reasons_are_the_exclusions_in_priority_order():
    assert EXCLUSIONS == (
        "sms_number_missing",
        "sms_number_format",
        "sms_optout",
        "sms_blacklist",
        "sms_duplicate",
    )
    # every flag set: the missing or invalid number wins, then opt-out, blacklist
    assert exclusion_reason(None, "abc", True, True, {None}) == "sms_number_format"
    assert exclusion_reason("+1", "+1", True, True, {"+1"}) == "sms_optout"
    assert exclusion_reason("+1", "+1", False, True, {"+1"}) == "sms_blacklist"


def test_a_blacklisted_or_opted_out_contact_does_not_take_the_number():
    rows = [
        (1, "+33612345601", "0612345601", True, False),
        (2, "+33612345601", "0612345601", False, True),
        (3, "+33612345601", "0612345601", False, False),
        (4, "+33612345601", "0612345601", False, False),
    ]
    plan, to_render = plan_batch(rows, set())
    assert [reason for _pid, _n, reason in plan] == [
        "sms_optout",
        "sms_blacklist",
        None,
        "sms_duplicate",
    ]
    assert to_render == [3]


numbers = st.one_of(st.none(), st.sampled_from(["+33612345601", "+33612345602"]))
rows_strategy = st.lists(
    st.tuples(
        numbers,
        st.one_of(st.none(), st.sampled_from(["", " ", "12", "06 12"])),
        st.booleans(),
        st.booleans(),
    ),
    max_size=30,
)


@given(rows_strategy, st.booleans())
def test_one_message_per_number_across_batches(raw_rows, split):
    """Cutting the audience in batches (``seen`` carried over, as the database
    does between batches) changes no decision, and each number gets at most
    one message."""
    rows = [(pid, *row) for pid, row in enumerate(raw_rows, 1)]
    whole, _ = plan_batch(rows, set())
    seen = set()
    middle = len(rows) // 2 if split else 0
    first, _ = plan_batch(rows[:middle], seen)
    second, _ = plan_batch(rows[middle:], seen)
    assert first + second == whole
    sent = [number for _pid, number, reason in whole if reason is None]
    assert len(sent) == len(set(sent))
    assert all(reason in (None, *EXCLUSIONS) for _pid, _n, reason in whole)
