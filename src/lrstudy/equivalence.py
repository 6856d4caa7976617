"""Practical equivalence: two one-sided tests (TOST) and the verdict against the best.

TOST (Schuirmann 1987; Lakens 2017, "Equivalence tests: a practical primer for t tests,
correlations, and meta-analyses", Soc. Psychol. Personal. Sci. 8(4)): a difference is
*equivalent* within ±m when both one-sided t-tests reject, H0 d ≤ −m (against d > −m)
and H0 d ≥ m (against d < m); the TOST p-value is the larger of the two. Paired: the
one-sample t-test of the per-seed differences (``scipy.stats.ttest_1samp``); unpaired:
Welch's test (``scipy.stats.ttest_ind(equal_var=False)``) with one group shifted by m.

The verdict of a setting against the best: ``equivalent`` (TOST p < alpha, Holm-adjusted
over the family), else ``better`` / ``worse`` (the difference test's Holm-adjusted p
< alpha, by its sign), else ``inconclusive``. Seeds needed for a conclusive verdict: the
fewer of the difference test's (``statistics.seeds_for_power``) and TOST's
(``tost_seeds``), at 80 % power, taking the observed difference and spread as true.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from lrstudy.sample_size import smallest_sample_size
from lrstudy.statistics import ALPHA, POWER

# Paired differences that differ by less than this (relative) have no spread: float noise
# of equal accuracies (a t statistic over them is noise over noise; scipy warns).
SAME = 1e-9


def tost_p(
    first: Sequence[float] | np.ndarray,
    second: Sequence[float] | np.ndarray,
    margin: float,
    paired: bool,
) -> float | None:
    """TOST p-value that first − second lies within (−margin, margin).

    Non-finite values drop their seed (paired) or themselves. ``None`` with fewer than
    two values (per group). A difference with no spread (``SAME``) gives 0 if it lies strictly
    inside the margin, else 1.

    Raises:
        ValueError: if margin ≤ 0, or paired values differ in shape.
    """
    if margin <= 0:
        raise ValueError(f"margin must be > 0, got {margin}")
    a, b = np.asarray(first, np.float64), np.asarray(second, np.float64)
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
        d = (a - b)[np.isfinite(a) & np.isfinite(b)]
        if d.size < 2:
            return None
        if np.ptp(d) <= SAME * max(1.0, float(np.abs(d).max())):  # no spread to test
            return 0.0 if abs(d[0]) < margin else 1.0
        lower = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
        upper = stats.ttest_1samp(d, margin, alternative="less").pvalue
        return float(max(lower, upper))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if min(a.size, b.size) < 2:
        return None
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 0.0 if abs(a[0] - b[0]) < margin else 1.0
    lower = stats.ttest_ind(a + margin, b, equal_var=False, alternative="greater").pvalue
    upper = stats.ttest_ind(a - margin, b, equal_var=False, alternative="less").pvalue
    return float(max(lower, upper))


def tost_power(difference: float, spread: float, n: int, margin: float, alpha: float) -> float:
    """Approximate power of the paired TOST with n pairs (true mean ``difference``, sd ``spread``).

    P(T_low > t_c) − P(T_high ≥ −t_c), clipped at 0, with T_low and T_high noncentral t
    (df n − 1, noncentrality (difference ± margin)·√n / spread) and t_c the one-sided
    critical value: the usual approximation that ignores the two statistics' correlation
    (Chow, Shao & Wang, *Sample Size Calculations in Clinical Research*, 2nd ed., §3.2).
    """
    if n < 2 or spread <= 0:
        return float(n >= 2 and abs(difference) < margin)
    df, scale = n - 1, math.sqrt(n) / spread
    critical = stats.t.ppf(1 - alpha, df)
    low = stats.nct.sf(critical, df, (difference + margin) * scale)
    high = stats.nct.sf(-critical, df, (difference - margin) * scale)
    return float(max(0.0, low - high))


def tost_seeds(
    difference: float,
    spread: float,
    margin: float,
    alpha: float = ALPHA,
    power: float = POWER,
    limit: int = 100_000,
) -> int | None:
    """Pairs the paired TOST needs to show equivalence with ``power`` (``tost_power``).

    ``None`` if |difference| ≥ margin (equivalence cannot be shown) or more than ``limit``.
    """
    if not (math.isfinite(difference) and math.isfinite(spread)) or abs(difference) >= margin:
        return None
    return smallest_sample_size(
        lambda n: tost_power(difference, spread, n, margin, alpha) >= power, limit
    )


def verdict(
    difference: float | None,
    p_holm: float | None,
    tost_p_holm: float | None,
    alpha: float = ALPHA,
) -> str:
    """One of ``equivalent``, ``better``, ``worse``, ``inconclusive`` (see the module)."""
    if tost_p_holm is not None and tost_p_holm < alpha:
        return "equivalent"
    if difference is not None and p_holm is not None and p_holm < alpha and difference != 0:
        return "better" if difference > 0 else "worse"
    return "inconclusive"


def verdict_text(
    verdict_name: str, tost_p_holm: float | None, p_holm: float | None, n: int, margin: float
) -> str:
    """The verdict as the summary writes it, e.g. ``equivalent within ±0.005 (p = 0.012)``."""
    if verdict_name == "equivalent" and tost_p_holm is not None:
        return f"equivalent to the best within ±{margin:g} (TOST p = {tost_p_holm:.2g})"
    if verdict_name in ("better", "worse") and p_holm is not None:
        return f"{verdict_name} than the best (p = {p_holm:.2g})"
    return f"inconclusive at {n} seeds"
