"""Statistics over seeds: intervals, paired tests, multiplicity, power; arrays in, numbers out.

Every function is pure (NumPy in, floats out) and uses ``scipy.stats`` where it has the
method. Conventions:

- Intervals are two-sided, 95 % by default (``CONFIDENCE``).
- A statistic that needs two values and gets fewer returns ``None`` (never NaN), so
  callers print "n/a (1 seed)" instead of a number that is not one.
- Seeds are matched pairs across settings: a seed gives every setting with the same
  architecture the same initial weights and the same per-epoch batch order (see
  ``lrstudy.training``), so the difference between two settings on the same seed
  removes the seed's own luck. Arrays of per-seed values are aligned by seed; NaN marks
  a seed without a value (a diverged run).

No TensorFlow here (tests/project/test_imports.py checks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05  # family-wise error rate of the comparisons against the best
POWER = 0.8
EXACT_PERMUTATIONS = 100_000  # enumerate every permutation up to this many, else sample
RESAMPLING_SEED = 0  # sampled permutation tests stay reproducible (byte-identical reports)


def _as_array(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.asarray(values, dtype=object)], float)


def _constant(values: np.ndarray) -> bool:
    """All values equal up to rounding (a t-statistic of such data is noise)."""
    return bool(np.ptp(values) <= 1e-12 * max(1.0, float(np.max(np.abs(values)))))


def finite(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """The finite values, in order (``None``, NaN and ±inf dropped)."""
    array = _as_array(values)
    return array[np.isfinite(array)]


def mean_interval(
    values: Sequence[float | None] | np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Student-t confidence interval of the mean over seeds.

    ``mean ± t_{(1+c)/2, n−1} · s / √n`` (Student 1908; any statistics textbook), through
    ``scipy.stats.ttest_1samp(...).confidence_interval``. Chosen over the bootstrap
    because the study has a handful of seeds: percentile and BCa bootstrap intervals
    cover well below their nominal level at n ≈ 5 (they cannot be wider than the
    sample's own range), while the t-interval is exact for normal data and widens with
    the t quantile as n shrinks.

    Args:
        values: One value per seed; non-finite values and ``None`` are left out.
        confidence: Coverage, in (0, 1).

    Returns:
        ``(low, high)`` in the values' units; ``(mean, mean)`` when every value is equal;
        ``None`` with fewer than two finite values.
    """
    sample = finite(values)
    if sample.size < 2:
        return None
    if _constant(sample):
        return float(sample.mean()), float(sample.mean())
    interval = stats.ttest_1samp(sample, 0.0).confidence_interval(confidence)
    return float(interval.low), float(interval.high)


def wilson_interval(
    successes: int, trials: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (Wilson 1927; Newcombe 1998, method 3).

    Used for the fraction of seeds that collapsed to chance: unlike the normal
    approximation it stays inside [0, 1] and is not degenerate at 0 or n successes.

    Args:
        successes: Count, 0 ≤ successes ≤ trials.
        trials: Number of seeds; ``None`` is returned for 0.
        confidence: Coverage, in (0, 1).

    Raises:
        ValueError: If the counts are negative or successes exceed trials.
    """
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return None
    interval = stats.binomtest(successes, trials).proportion_ci(confidence, method="wilson")
    return float(interval.low), float(interval.high)


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order.

    With p sorted ascending, ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) · p_(j))``; reject
    where ``p̃ ≤ α``. Controls the family-wise error rate under any dependence (the
    comparisons against one best setting share it). ``scipy.stats.false_discovery_control``
    offers Benjamini–Hochberg/Yekutieli only, which control the false discovery rate.

    Args:
        p_values: Raw p-values in [0, 1], shape (m,).

    Returns:
        Adjusted p-values, shape (m,).
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p.copy()
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")
    factors = p.size - np.arange(p.size)
    stepped = np.minimum(1.0, np.maximum.accumulate(factors * p[order]))
    adjusted = np.empty_like(p)
    adjusted[order] = stepped
    return adjusted


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _permutation_p(samples: tuple[np.ndarray, np.ndarray], kind: str, count: int) -> float:
    """Two-sided ``scipy.stats.permutation_test`` of the difference of means.

    Exact (every one of the ``count`` permutations) up to ``EXACT_PERMUTATIONS``, else
    that many permutations drawn with a fixed seed, so reports stay byte-identical.
    """
    exact = count <= EXACT_PERMUTATIONS
    result = stats.permutation_test(
        samples,
        _mean_difference,
        permutation_type=kind,
        vectorized=True,
        n_resamples=np.inf if exact else EXACT_PERMUTATIONS - 1,
        alternative="two-sided",
        rng=None if exact else np.random.default_rng(RESAMPLING_SEED),
    )
    return float(min(1.0, result.pvalue))


def paired_permutation_p(differences: Sequence[float] | np.ndarray) -> float | None:
    """Two-sided paired permutation (sign-flip) test of a zero mean difference.

    Under the null hypothesis each seed's two results are exchangeable, so each
    difference's sign is ±1 with equal chance; the p-value is the share of the 2ⁿ sign
    patterns whose mean is at least as far from 0 as the observed one (Fisher 1935;
    ``scipy.stats.permutation_test``, ``permutation_type="samples"``; exact enumeration up
    to ``EXACT_PERMUTATIONS``, else that many seeded samples). Ties and zero differences
    need no special rule, unlike the Wilcoxon signed-rank test, and accuracies measured
    on 600 test points tie often. The smallest p-value n seeds can give is 2 / 2ⁿ.

    Returns:
        The p-value, or ``None`` with fewer than two differences.
    """
    d = finite(differences)
    if d.size < 2:
        return None
    if _constant(np.append(d, 0.0)):
        return 1.0
    return _permutation_p((d, np.zeros_like(d)), "samples", 2**d.size)


def unpaired_permutation_p(
    first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray
) -> float | None:
    """Two-sided two-sample permutation test of equal means (seeds not matched).

    The fallback where two settings' seeds are not pairs (different seed lists, or a
    different architecture). ``scipy.stats.permutation_test``,
    ``permutation_type="independent"``, statistic: difference of means.

    Returns:
        The p-value, or ``None`` if either side has fewer than two values.
    """
    a, b = finite(first), finite(second)
    if a.size < 2 or b.size < 2:
        return None
    if _constant(np.concatenate([a, b])):
        return 1.0
    return _permutation_p((a, b), "independent", math.comb(a.size + b.size, a.size))


def probability_of_improvement(
    first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray, paired: bool
) -> float | None:
    """P(first beats second on a random seed), ties counting one half.

    Paired: the share of seeds with ``first > second`` (+ ½ per tie). Unpaired: the
    Mann–Whitney estimate ``U / (n·m)`` over every cross pair (as rliable's probability
    of improvement, Agarwal et al. 2021). Non-finite values drop their seed (paired)
    or themselves (unpaired).

    Returns:
        A probability in [0, 1], or ``None`` without a value to compare.
    """
    a, b = _as_array(first), _as_array(second)
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
        keep = np.isfinite(a) & np.isfinite(b)
        if not keep.any():
            return None
        d = a[keep] - b[keep]
        return float(np.mean((d > 0) + 0.5 * (d == 0)))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return None
    return float(stats.mannwhitneyu(a, b).statistic / (a.size * b.size))


def t_test_power(effect_size: float, n: int, alpha: float = ALPHA, paired: bool = True) -> float:
    """Power of a two-sided t-test: paired/one-sample with n pairs, or two-sample n per group.

    The noncentral t distribution with noncentrality ``d·√n`` (paired) or ``d·√(n/2)``
    (two groups of n), ``d`` the standardised effect (difference / standard deviation),
    both tails counted (Cohen 1988, ch. 2; as R's ``power.t.test(strict = TRUE)``).
    """
    if n < 2:
        return 0.0
    df = n - 1 if paired else 2 * n - 2
    noncentrality = effect_size * math.sqrt(n if paired else n / 2)
    critical = stats.t.ppf(1 - alpha / 2, df)
    return float(
        stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    )


def seeds_for_power(
    difference: float,
    spread: float,
    alpha: float = ALPHA,
    power: float = POWER,
    paired: bool = True,
    limit: int = 100_000,
) -> int | None:
    """Seeds needed to detect ``difference`` at level ``alpha`` with the given power.

    The smallest n whose t-test power (``t_test_power``) reaches ``power``, and at least
    the smallest n at which the exact permutation test can reach ``alpha`` at all
    (2 / 2ⁿ ≤ alpha paired; 2 / C(2n, n) ≤ alpha unpaired). The t-test power is the
    usual planning approximation for the permutation test used in the report.

    Args:
        difference: The mean difference to detect (units of the values).
        spread: Standard deviation of the paired differences (paired) or of one
            setting's values (unpaired), same units.
        power: Probability of detecting the difference, in (0, 1).
        alpha: Per-comparison level (for Holm over m comparisons, ``ALPHA / m`` is the
            level the most significant comparison must reach).
        paired: Paired design (n pairs) or two groups of n.
        limit: Give up above this many seeds.

    Returns:
        Seeds per setting, or ``None`` if there is no difference to detect or it needs
        more than ``limit`` seeds.
    """
    if not (math.isfinite(difference) and math.isfinite(spread)) or difference == 0:
        return None
    floor = 2
    while (2 / 2**floor if paired else 2 / math.comb(2 * floor, floor)) > alpha and floor < limit:
        floor += 1
    if spread <= 0:
        return floor
    effect = abs(difference) / spread
    high = 2  # power grows with n: double until it is reached, then bisect
    while t_test_power(effect, high, alpha, paired) < power:
        if high >= limit:
            return None
        high = min(2 * high, limit)
    low = max(2, high // 2)
    while low < high:
        middle = (low + high) // 2
        if t_test_power(effect, middle, alpha, paired) >= power:
            high = middle
        else:
            low = middle + 1
    return max(low, floor)


def decimals_for(half_width: float | None, default: int = 4) -> int:
    """Decimals that show a value to the precision its interval supports.

    The Particle Data Group's rounding rule (Review of Particle Physics, Introduction,
    "Rounding"): take the interval half-width's three leading digits; 100–354 keep two
    significant digits, 355–949 one, 950–999 round up to 1000 and keep two. Bounded to
    1–6 decimals; ``default`` without an interval. Half-width 0.127 → 2 decimals,
    0.0062 → 3, 0.0025 → 4.
    """
    if half_width is None or not math.isfinite(half_width) or half_width <= 0:
        return default
    exponent = math.floor(math.log10(half_width))
    leading = int(half_width / 10 ** (exponent - 2))
    decimals = 1 - exponent if leading <= 354 else -exponent
    return int(min(6, max(1, decimals)))


@dataclass(frozen=True)
class Comparison:
    """One setting against the reference (the best on validation accuracy).

    ``difference`` is setting − reference in the values' units (test accuracy), over
    the seeds both have (paired) or of the two means (unpaired). Fields are ``None``
    where there are too few seeds for them.
    """

    setting: str
    reference: str
    paired: bool
    n: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_holm: float | None
    probability_of_improvement: float | None
    spread: float | None
    seeds_for_power: int | None

    @property
    def within_noise(self) -> bool | None:
        """Whether the 95 % interval of the difference contains 0 (``None``: no interval)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low <= 0 <= self.ci_high


def difference_interval(
    first: Sequence[float | None] | np.ndarray,
    second: Sequence[float | None] | np.ndarray,
    paired: bool,
    confidence: float = CONFIDENCE,
) -> tuple[int, float | None, tuple[float, float] | None]:
    """The difference first − second, its confidence interval and the seeds it rests on.

    Paired: the t-interval of the per-seed differences (``mean_interval``), over the
    seeds where both values are finite. Unpaired: Welch's interval of the difference of
    means (``scipy.stats.ttest_ind(equal_var=False)``; Welch 1947).

    Returns:
        ``(n, difference, interval)``: n is the number of pairs (paired) or the smaller
        group; difference ``None`` without values; interval ``None`` with fewer than two.
    """
    a, b = _as_array(first), _as_array(second)
    if paired:
        keep = np.isfinite(a) & np.isfinite(b)
        d = a[keep] - b[keep]
        return int(d.size), (float(d.mean()) if d.size else None), mean_interval(d, confidence)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    n = int(min(a.size, b.size))
    if n == 0:
        return 0, None, None
    difference = float(a.mean() - b.mean())
    if n < 2:
        return n, difference, None
    if _constant(a) and _constant(b):
        return n, difference, (difference, difference)
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence)
    return n, difference, (float(interval.low), float(interval.high))


def compare_to_reference(
    values: Mapping[str, Sequence[float | None] | np.ndarray],
    reference: str,
    paired: Mapping[str, bool],
    alpha: float = ALPHA,
    power: float = POWER,
) -> dict[str, Comparison]:
    """Every other setting against ``reference``: difference, interval, test, Holm, power.

    Args:
        values: Per setting, one value per seed (test accuracy), aligned by seed where
            ``paired`` is true for that setting (same length as the reference's).
        reference: The setting the others are compared with.
        paired: Per setting, whether its seeds are matched pairs of the reference's.
        alpha: Family-wise level for Holm and for the seeds-needed estimate.
        power: Power for the seeds-needed estimate.

    Returns:
        One ``Comparison`` per setting other than ``reference``, in the input order.
        p-values are Holm-adjusted over the comparisons that have one.
    """
    base = values[reference]
    others = [name for name in values if name != reference]
    raw: dict[str, Comparison] = {}
    for name in others:
        pairs = paired[name]
        n, difference, interval = difference_interval(values[name], base, pairs)
        if pairs:
            a, b = _as_array(values[name]), _as_array(base)
            d = (a - b)[np.isfinite(a) & np.isfinite(b)]
            p = paired_permutation_p(d)
            spread = float(np.std(d, ddof=1)) if d.size > 1 else None
        else:
            p = unpaired_permutation_p(values[name], base)
            groups = [finite(values[name]), finite(base)]
            spread = (
                float(np.sqrt(np.mean([np.var(g, ddof=1) for g in groups])))
                if min(g.size for g in groups) > 1
                else None
            )
        raw[name] = Comparison(
            setting=name,
            reference=reference,
            paired=pairs,
            n=n,
            difference=difference,
            ci_low=None if interval is None else interval[0],
            ci_high=None if interval is None else interval[1],
            p_value=p,
            p_holm=None,
            probability_of_improvement=probability_of_improvement(values[name], base, pairs)
            if n
            else None,
            spread=spread,
            seeds_for_power=None,
        )
    tested = [name for name in others if raw[name].p_value is not None]
    adjusted = dict(zip(tested, holm([raw[name].p_value for name in tested]), strict=True))
    family = max(1, len(tested))
    result = {}
    for name, item in raw.items():
        needed = (
            seeds_for_power(item.difference, item.spread, alpha / family, power, item.paired)
            if item.difference is not None and item.spread is not None
            else None
        )
        p_holm = adjusted.get(name)
        result[name] = Comparison(
            **{
                **item.__dict__,
                "p_holm": None if p_holm is None else float(p_holm),
                "seeds_for_power": needed,
            }
        )
    return result
