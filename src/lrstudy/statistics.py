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
from dataclasses import dataclass, replace

import numpy as np
from scipy import special, stats

from lrstudy.sample_size import smallest_sample_size

CONFIDENCE = 0.95
ACCURACY_BOUNDS = (0.0, 1.0)  # an accuracy's range: its intervals stay inside it
ALPHA = 0.05  # family-wise error rate of the comparisons against the best
POWER = 0.8
EXACT_PERMUTATIONS = 100_000  # enumerate every permutation up to this many, else sample
RESAMPLING_SEED = 0  # sampled permutation tests stay reproducible (byte-identical reports)


def _as_array(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.asarray(values, dtype=object)], float)


def _constant(values: np.ndarray) -> bool:
    """All values equal up to rounding (a t-statistic of such data is noise)."""
    return bool(np.ptp(values) <= 1e-12 * max(1.0, float(np.max(np.abs(values)))))


def _check_bounds(values: np.ndarray, bounds: tuple[float, float] | None) -> np.ndarray:
    """``values``, after checking that the finite ones lie within ``bounds`` (if any)."""
    inside = values[np.isfinite(values)]
    if bounds is not None and np.any((inside < bounds[0]) | (inside > bounds[1])):
        raise ValueError(f"values must lie in {bounds}, got {inside.min()} to {inside.max()}")
    return values


def finite(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """The finite values, in order (``None``, NaN and ±inf dropped)."""
    array = _as_array(values)
    return array[np.isfinite(array)]


def bounded_t_interval(
    estimate: float,
    standard_error: float,
    df: float,
    bounds: tuple[float, float],
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """A t-interval built on the logit scale of ``bounds``, so it lies inside them.

    With ``p = (estimate − a) / (b − a)`` for bounds ``(a, b)``: ``logit(p) ± t_{(1+c)/2,
    df} · se / ((b − a) · p(1 − p))``, mapped back through the logistic function. The
    standard error on the logit scale comes from the delta method (Casella & Berger,
    Statistical Inference, 2nd ed., Theorem 5.5.24); for a proportion this is the logit
    interval of Brown, Cai & DasGupta (2001, Statistical Science 16:101-133), here with
    the sample's own standard error and Student's t. Where the interval
    is narrow next to its distance from the bounds it is the plain t-interval
    ``estimate ± t · se``; toward a bound it is asymmetric and never reaches it. For
    bounds (−1, 1) the transform is 2·atanh (Fisher's z). ``ValueError`` for an
    estimate outside the bounds, or on one with ``se > 0`` (values inside cannot give it).
    """
    low, high = bounds
    p = (estimate - low) / (high - low)
    if standard_error == 0:
        return estimate, estimate
    if not 0 < p < 1:
        raise ValueError(f"estimate {estimate} with spread needs to lie inside {bounds}")
    half = stats.t.ppf((1 + confidence) / 2, df) * standard_error / ((high - low) * p * (1 - p))
    center = math.log(p / (1 - p))
    ends = (low + (high - low) * float(special.expit(center + side * half)) for side in (-1, 1))
    return tuple(ends)  # type: ignore[return-value]


def mean_interval(
    values: Sequence[float | None] | np.ndarray,
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float] | None:
    """Confidence interval of the mean over seeds: Student's t, bounded when values are.

    Unbounded values (a loss): ``mean ± t_{(1+c)/2, n−1} · s / √n`` (Student 1908),
    through ``scipy.stats.ttest_1samp(...).confidence_interval``. Values with ``bounds``
    (an accuracy, in [0, 1]): the same t and standard error on the logit scale of the
    bounds (``bounded_t_interval``), so the interval stays inside them; at 2 seeds the
    plain t-interval of 0.5 and 0.6 is −0.09 to 1.19, this one 0.086 to 0.941. Chosen
    over the bootstrap because the study has a handful of seeds: percentile and BCa
    bootstrap intervals cover well below their nominal level at n ≈ 5 (they cannot be
    wider than the sample's own range). Coverage measured by
    ``benchmarks/bench_intervals.py`` (results in ``benchmarks/intervals.md``).

    Args:
        values: One value per seed; non-finite values and ``None`` are left out.
        confidence: Coverage, in (0, 1).
        bounds: ``(low, high)`` every value lies in, or ``None`` for unbounded values.

    Returns:
        ``(low, high)`` in the values' units; ``(mean, mean)`` when every value is equal;
        ``None`` with fewer than two finite values. ``ValueError`` for a value outside
        ``bounds``.
    """
    sample = _check_bounds(finite(values), bounds)
    if sample.size < 2:
        return None
    if _constant(sample):
        return float(sample.mean()), float(sample.mean())
    if bounds is not None:
        error = float(np.std(sample, ddof=1)) / math.sqrt(sample.size)
        return bounded_t_interval(float(sample.mean()), error, sample.size - 1, bounds, confidence)
    interval = stats.ttest_1samp(sample, 0.0).confidence_interval(confidence)
    return float(interval.low), float(interval.high)


def wilson_interval(
    successes: int, trials: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (Wilson 1927; Newcombe 1998, method 3).

    Used for the fraction of seeds that collapsed to chance: unlike the normal
    approximation it stays inside [0, 1] and is not degenerate at 0 or n successes.
    ``None`` for 0 trials; ``ValueError`` unless 0 ≤ successes ≤ trials.
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
    Raw p-values in [0, 1], shape (m,), in; adjusted ones, shape (m,), out.
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p.copy()
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(
        1.0, np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    )
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

    ``None`` with fewer than two differences.
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
    ``permutation_type="independent"``, statistic: difference of means. ``None`` if
    either side has fewer than two values.
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
    or themselves (unpaired). ``None`` without a value to compare.
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
    ``spread`` is the standard deviation of the paired differences (paired) or of one
    setting's values (two groups of n), in the units of ``difference``; ``alpha`` the
    per-comparison level (for Holm over m comparisons, ``ALPHA / m`` is the level the
    most significant comparison must reach). Returns seeds per setting, or ``None`` if
    there is no difference to detect or it needs more than ``limit`` seeds.
    """
    if not (math.isfinite(difference) and math.isfinite(spread)) or difference == 0:
        return None
    floor = 2
    while (2 / 2**floor if paired else 2 / math.comb(2 * floor, floor)) > alpha and floor < limit:
        floor += 1
    if spread <= 0:
        return floor
    effect = abs(difference) / spread
    needed = smallest_sample_size(lambda n: t_test_power(effect, n, alpha, paired) >= power, limit)
    return None if needed is None else max(needed, floor)


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
    bounds: tuple[float, float] | None = None,
) -> tuple[int, float | None, tuple[float, float] | None]:
    """The difference first − second, its confidence interval and the seeds it rests on.

    Paired: the t-interval of the per-seed differences (``mean_interval``), over the
    seeds where both values are finite. Unpaired: Welch's interval of the difference of
    means (Welch 1947; ``scipy.stats.ttest_ind(equal_var=False)``'s standard error and
    degrees of freedom). With ``bounds`` (a, b) of the values, a difference lies in
    (a − b, b − a) and its interval is built on that range's logit scale
    (``bounded_t_interval``; 2·atanh of the difference for accuracies), so it stays in it.

    Returns:
        ``(n, difference, interval)``: n is the number of pairs (paired) or the smaller
        group; difference ``None`` without values; interval ``None`` with fewer than two.
    """
    a, b = _as_array(first), _as_array(second)
    spread = None if bounds is None else (bounds[0] - bounds[1], bounds[1] - bounds[0])
    _check_bounds(np.concatenate([a, b]), bounds)
    if paired:
        keep = np.isfinite(a) & np.isfinite(b)
        d = a[keep] - b[keep]
        interval = mean_interval(d, confidence, spread)
        return int(d.size), (float(d.mean()) if d.size else None), interval
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    n = int(min(a.size, b.size))
    if n < 2 or (_constant(a) and _constant(b)):
        difference = float(a.mean() - b.mean()) if n else None
        return n, difference, None if n < 2 else (difference, difference)  # type: ignore[return-value]
    welch = stats.ttest_ind(a, b, equal_var=False)
    difference = float(a.mean() - b.mean())
    if spread is None:
        interval = welch.confidence_interval(confidence)
        return n, difference, (float(interval.low), float(interval.high))
    error = math.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    return n, difference, bounded_t_interval(difference, error, welch.df, spread, confidence)


def _compare(
    name: str, values: np.ndarray, base: np.ndarray, reference: str, pairs: bool, bounds
) -> Comparison:
    """One setting against the reference, before Holm and the seeds-needed estimate."""
    n, difference, interval = difference_interval(values, base, pairs, bounds=bounds)
    if pairs:
        d = (values - base)[np.isfinite(values) & np.isfinite(base)]
        p, spread = paired_permutation_p(d), float(np.std(d, ddof=1)) if d.size > 1 else None
    else:
        p, groups = unpaired_permutation_p(values, base), [finite(values), finite(base)]
        variances = [np.var(g, ddof=1) for g in groups] if min(map(len, groups)) > 1 else None
        spread = None if variances is None else float(np.sqrt(np.mean(variances)))
    low, high = interval if interval is not None else (None, None)
    improvement = probability_of_improvement(values, base, pairs) if n else None
    return Comparison(
        name, reference, pairs, n, difference, low, high, p, None, improvement, spread, None
    )


def compare_to_reference(
    values: Mapping[str, Sequence[float | None] | np.ndarray],
    reference: str,
    paired: Mapping[str, bool],
    alpha: float = ALPHA,
    power: float = POWER,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Comparison]:
    """Every other setting against ``reference``: difference, interval, test, Holm, power.

    Args:
        values: Per setting, one value per seed (test accuracy), aligned by seed where
            ``paired`` is true for that setting (same length as the reference's).
        reference: The setting the others are compared with.
        paired: Per setting, whether its seeds are matched pairs of the reference's.
        alpha: Family-wise level for Holm and for the seeds-needed estimate.
        power: Power for the seeds-needed estimate.
        bounds: The range of the values (``ACCURACY_BOUNDS``), which bounds the
            differences' intervals (``difference_interval``); ``None``: unbounded.

    Returns:
        One ``Comparison`` per setting other than ``reference``, in the input order.
        p-values are Holm-adjusted over the comparisons that have one.
    """
    base = _as_array(values[reference])
    raw = {
        name: _compare(name, _as_array(seeds), base, reference, paired[name], bounds)
        for name, seeds in values.items()
        if name != reference
    }
    tested = [name for name, item in raw.items() if item.p_value is not None]
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
        result[name] = replace(
            item, p_holm=None if p_holm is None else float(p_holm), seeds_for_power=needed
        )
    return result
