"""TOST against hand-computed t statistics read in a printed t table, and the verdicts.

Reference: the critical values of Student's t, NIST/SEMATECH e-Handbook of Statistical
Methods, §1.3.6.7.2 (df 9: one-sided 0.05 -> 1.833, 0.025 -> 2.262). The differences
+1, -1 repeated five times have mean 0 and sample standard deviation sqrt(10/9), so the
standard error is sqrt(10/9) / sqrt(10) = 1/3 exactly and each one-sided t statistic is
3 * (distance of the margin from the mean) by hand. The table's three decimals put the
p-value within 5e-5 of the tabulated level (|dp/dt| <= the t density, < 0.09 there).
"""

from __future__ import annotations

import numpy as np
import pytest

from lrstudy.equivalence import tost_p, tost_power, tost_seeds, verdict, verdict_text

DIFFERENCES = np.array([1.0, -1.0] * 5)
TOLERANCE = 5e-5


def test_symmetric_tost_matches_the_t_table() -> None:
    # t = 3 * margin = 1.833 for both tests: p = 0.05 (df 9, one-sided).
    margin = 1.833 / 3
    p = tost_p(DIFFERENCES, np.zeros(10), margin, paired=True)
    assert p == pytest.approx(0.05, abs=TOLERANCE)


def test_shifted_tost_takes_the_larger_one_sided_p() -> None:
    # Mean 0.2: the upper test's t = 3 * (0.2 - margin) = -2.262 (p = 0.025); the lower
    # test's t = 3 * (0.2 + margin) = 3.462 has a far smaller p, so TOST p = 0.025.
    margin = 0.2 + 2.262 / 3
    p = tost_p(DIFFERENCES + 0.2, np.zeros(10), margin, paired=True)
    assert p == pytest.approx(0.025, abs=TOLERANCE)


def test_unpaired_equal_groups_match_the_pooled_t_by_hand() -> None:
    # Two groups of 5 with equal variance: Welch = pooled t. a = 0.2 + (1, -1, 1, -1, 0),
    # b = (1, -1, 1, -1, 0): variances 1 each, standard error sqrt(1/5 + 1/5) = 0.6325.
    # Welch's df with equal variances and sizes is 8 (table: one-sided 0.05 -> 1.860).
    base = np.array([1.0, -1.0, 1.0, -1.0, 0.0])
    margin = 0.2 + 1.860 * np.sqrt(0.4)
    p = tost_p(base + 0.2, base, margin, paired=False)
    assert p == pytest.approx(0.05, abs=TOLERANCE)


def test_constant_differences_are_decided_by_the_margin() -> None:
    same = np.full(5, 0.9)
    assert tost_p(same, same, 0.005, paired=True) == 0.0
    assert tost_p(same + 0.01, same, 0.005, paired=True) == 1.0


def test_tost_rejects_a_bad_margin_and_too_few_seeds() -> None:
    with pytest.raises(ValueError, match="margin"):
        tost_p([0.1, 0.2], [0.1, 0.2], 0.0, paired=True)
    assert tost_p([0.9], [0.8], 0.005, paired=True) is None


def test_tost_power_reaches_the_target_at_the_seeds_it_asks_for() -> None:
    n = tost_seeds(0.0, 0.01, 0.005)
    assert n is not None and n > 2
    assert tost_power(0.0, 0.01, n, 0.005, 0.05) >= 0.8 > tost_power(0.0, 0.01, n - 1, 0.005, 0.05)
    assert tost_seeds(0.006, 0.01, 0.005) is None  # outside the margin: never equivalent


@pytest.mark.parametrize(
    ("difference", "p_holm", "tost", "expected"),
    [
        (0.001, 0.9, 0.01, "equivalent"),
        (-0.03, 0.001, 0.9, "worse"),
        (0.03, 0.001, 0.9, "better"),
        (-0.003, 0.4, 0.2, "inconclusive"),
        (None, None, None, "inconclusive"),
    ],
)
def test_verdicts(difference, p_holm, tost, expected) -> None:
    assert verdict(difference, p_holm, tost) == expected


def test_verdict_texts_carry_their_numbers() -> None:
    assert verdict_text("equivalent", 0.012, 0.9, 20, 0.005) == (
        "equivalent to the best within ±0.005 (TOST p = 0.012)"
    )
    assert verdict_text("worse", 0.9, 0.0004, 20, 0.005) == "worse than the best (p = 0.0004)"
    assert verdict_text("inconclusive", 0.3, 0.4, 20, 0.005) == "inconclusive at 20 seeds"
