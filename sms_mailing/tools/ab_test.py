"""A/B tests of a mailing: who gets which variant, and which variant wins (pure).

During the test, ``pc`` percent of the recipients get a variant, split evenly
between the variants; the others are held until a winner is chosen, then get
the winning text. Recipients are taken in audience order (ascending contact id)
and counted across launch batches: recipient number ``k`` (from 0) is in the
test when ``k * pc % 100 < pc``, which spreads the test share evenly over the
audience, and the test's recipients take the variants in turn.

>>> assignment = assign(list(range(1, 11)), counter=0, pc=50, variants=2)
>>> assignment.tested, assignment.held, assignment.counter
({1: 0, 3: 1, 5: 0, 7: 1, 9: 0}, [2, 4, 6, 8, 10], 10)
"""

import math
from dataclasses import dataclass

CLICKS = "clicks"
OPTOUTS = "optouts"
MANUAL = "manual"
RULES = (CLICKS, OPTOUTS, MANUAL)


@dataclass(frozen=True)
class Assignment:
    """``tested``: ``{recipient: variant index}``; ``held``: the others, in
    order; ``counter``: the count of recipients seen, for the next batch."""

    tested: dict
    held: list
    counter: int


def in_test(position, pc):
    """Whether recipient number ``position`` (from 0) is in the test share.

    >>> [in_test(k, 10) for k in range(1000)].count(True)
    100
    >>> [in_test(k, 33) for k in range(100)].count(True)
    33
    >>> in_test(0, 1), in_test(1, 1), in_test(5, 100)
    (True, False, True)
    """
    return position * pc % 100 < pc


def test_position(position, pc):
    """How many recipients before ``position`` were in the test share (the
    test's own numbering, which gives the variant in turn).

    >>> [test_position(k, 50) for k in range(6)]
    [0, 1, 1, 2, 2, 3]
    >>> all(test_position(k, 100) == k for k in range(50))
    True
    """
    # recipient j < position is in the test when j * pc % 100 < pc: the
    # pattern repeats every `period` recipients, `per_period` of them tested
    period = 100 // math.gcd(pc, 100)
    per_period = pc * period // 100
    cycles, rest = divmod(position, period)
    return cycles * per_period + sum(1 for j in range(rest) if in_test(j, pc))


def assign(recipients, counter, pc, variants):
    """Split ``recipients`` (one launch batch, in audience order) into the test
    share, each with a variant index, and the held ones.

    >>> a = assign([11, 12, 13], counter=0, pc=100, variants=3)
    >>> a.tested, a.held
    ({11: 0, 12: 1, 13: 2}, [])
    >>> b = assign([21, 22, 23, 24], counter=3, pc=100, variants=3)
    >>> b.tested  # the turn goes on from the previous batch
    {21: 0, 22: 1, 23: 2, 24: 0}
    """
    if not 1 <= pc <= 100:
        raise ValueError(f"the test share must be 1 to 100 percent, not {pc!r}")
    if variants < 1:
        raise ValueError("an A/B test needs variants")
    tested = {}
    held = []
    turn = test_position(counter, pc)
    for offset, recipient in enumerate(recipients):
        if in_test(counter + offset, pc):
            tested[recipient] = turn % variants
            turn += 1
        else:
            held.append(recipient)
    return Assignment(tested, held, counter + len(recipients))


def test_size(recipients, pc):
    """How many of ``recipients`` the test takes (about ``pc`` percent).

    >>> test_size(1000, 10), test_size(5, 10), test_size(0, 50), test_size(7, 50)
    (100, 1, 0, 4)
    """
    return test_position(recipients, pc)


@dataclass(frozen=True)
class VariantStats:
    """What one variant achieved during the test."""

    index: int
    sent: int
    clicked: int
    optouts: int

    def ratio(self, count):
        return count / self.sent if self.sent else 0.0


def winner(stats, rule):
    """Index of the winning variant, or ``None`` (chosen by hand).

    ``clicks``: the highest share of recipients who clicked a tracked link,
    then the fewest opt-outs; ``optouts``: the lowest share of opt-outs, then
    the most clicks. A tie goes to the first variant. Shares, not counts: a
    variant sent to one recipient more is not favoured.

    >>> a, b = VariantStats(0, 50, 5, 2), VariantStats(1, 50, 9, 4)
    >>> winner([a, b], "clicks"), winner([a, b], "optouts"), winner([a, b], "manual")
    (1, 0, None)
    >>> winner([VariantStats(0, 10, 0, 0), VariantStats(1, 10, 0, 0)], "clicks")
    0
    """
    if rule == MANUAL or not stats:
        return None
    if rule == CLICKS:

        def key(s):
            return (-s.ratio(s.clicked), s.ratio(s.optouts), s.index)
    elif rule == OPTOUTS:

        def key(s):
            return (s.ratio(s.optouts), -s.ratio(s.clicked), s.index)
    else:
        raise ValueError(f"unknown winner rule {rule!r}")
    return min(stats, key=key).index
