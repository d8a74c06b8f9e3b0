"""Property tests of the A/B test split and winner (sms_mailing/tools/ab_test.py)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.sms_mailing.tools import ab_test

seeded = settings(derandomize=True)
shares = st.integers(min_value=1, max_value=100)


@seeded
@given(st.integers(min_value=0, max_value=5000), shares)
def test_test_share_is_the_percentage(recipients, pc):
    tested = sum(ab_test.in_test(k, pc) for k in range(recipients))
    assert tested == ab_test.test_size(recipients, pc)
    # within one recipient of the exact share, and never empty
    assert abs(tested - recipients * pc / 100) < 1
    assert tested >= 1 or recipients == 0


@seeded
@given(
    st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8),
    shares,
    st.integers(min_value=2, max_value=3),
)
def test_batches_split_like_one_audience(batch_sizes, pc, variants):
    """Any cut into launch batches gives the same split as the whole audience,
    every recipient is tested or held once, and variants differ by one at most."""
    audience = list(range(1, sum(batch_sizes) + 1))
    whole = ab_test.assign(audience, 0, pc, variants)
    tested, held, counter, start = {}, [], 0, 0
    for size in batch_sizes:
        part = ab_test.assign(audience[start : start + size], counter, pc, variants)
        tested.update(part.tested)
        held.extend(part.held)
        counter, start = part.counter, start + size
    assert (tested, held) == (whole.tested, whole.held)
    assert sorted([*tested, *held]) == audience
    per_variant = [list(tested.values()).count(v) for v in range(variants)]
    assert max(per_variant) - min(per_variant) <= 1
    assert per_variant == sorted(per_variant, reverse=True)  # first ones first


stats = st.builds(
    lambda sent, clicked, optouts: (sent, min(clicked, sent), min(optouts, sent)),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=200),
)


@seeded
@given(st.lists(stats, min_size=2, max_size=3))
def test_winner_has_the_best_share(rows):
    variants = [ab_test.VariantStats(i, *row) for i, row in enumerate(rows)]
    best = variants[ab_test.winner(variants, ab_test.CLICKS)]
    assert all(best.ratio(best.clicked) >= v.ratio(v.clicked) for v in variants)
    best = variants[ab_test.winner(variants, ab_test.OPTOUTS)]
    assert all(best.ratio(best.optouts) <= v.ratio(v.optouts) for v in variants)
    assert ab_test.winner(variants, ab_test.MANUAL) is None
