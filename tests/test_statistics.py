"""statistics.py against published and hand-computed values, and the pairing of seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from lrstudy import statistics as st

# Fisher's (1935) Zea mays data, the paired differences (cross- minus self-fertilised
# height, eighths of an inch) in scipy.stats.wilcoxon's documentation example.
ZEA_MAYS = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


def test_t_interval_covers_the_mean_95_percent_of_the_time_on_normal_data() -> None:
    rng = np.random.default_rng(20240601)
    samples = rng.normal(0.9, 0.01, size=(2000, 5))
    covered = [low <= 0.9 <= high for low, high in map(st.mean_interval, samples)]
    # binomial sd of the coverage estimate: sqrt(0.95 * 0.05 / 2000) = 0.0049
    assert np.mean(covered) == pytest.approx(0.95, abs=0.015)


def test_percentile_bootstrap_undercovers_at_five_seeds_the_reason_for_the_t_interval() -> None:
    rng = np.random.default_rng(7)
    samples = rng.normal(0.0, 1.0, size=(300, 5))
    covered = []
    for sample in samples:
        interval = scipy_stats.bootstrap(
            (sample,), np.mean, n_resamples=999, method="percentile", rng=rng
        ).confidence_interval
        covered.append(interval.low <= 0.0 <= interval.high)
    t_covered = [low <= 0.0 <= high for low, high in map(st.mean_interval, samples)]
    assert np.mean(covered) < 0.9 < np.mean(t_covered)


def test_mean_interval_needs_two_values_and_handles_equal_ones() -> None:
    assert st.mean_interval([0.9]) is None
    assert st.mean_interval([0.9, None, math.nan]) is None
    assert st.mean_interval([0.9, 0.9, 0.9]) == (0.9, 0.9)
    assert st.mean_interval([1.0, 1.0], bounds=(0.0, 1.0)) == (1.0, 1.0)
    assert st.mean_interval([0.0, 0.0, None], bounds=(0.0, 1.0)) == (0.0, 0.0)


# The bounded intervals below are worked out by hand from t(0.975, 1) = 12.7062 and
# t(0.975, 2) = 4.3027 (any t table, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2) and the
# logistic function expit(x) = 1 / (1 + e^-x).


def test_bounded_interval_of_the_issues_two_seeds_stays_in_0_1() -> None:
    # Issue 21: 290/600 and 370/600, mean 0.55, plain t-interval -0.2971 to 1.3971.
    # se = (80/600) / 2 = 0.0666667; logit(0.55) = ln(0.55 / 0.45) = 0.2006707;
    # half-width on the logit scale 12.7062 * 0.0666667 / (0.55 * 0.45) = 3.4225467;
    # expit(0.2006707 -/+ 3.4225467) = 0.0383507, 0.9739975.
    sample = [290 / 600, 370 / 600]
    plain = scipy_stats.ttest_1samp(sample, 0.0).confidence_interval()
    assert (plain.low, plain.high) == pytest.approx((-0.2971, 1.3971), abs=5e-5)
    bounded = st.mean_interval(sample, bounds=st.ACCURACY_BOUNDS)
    assert bounded == pytest.approx((0.0383507, 0.9739975), abs=1e-7)
    # 0.5 and 0.6: se 0.05, half-width 12.7062 * 0.05 / 0.2475 = 2.5669100
    assert st.mean_interval([0.5, 0.6], bounds=(0.0, 1.0)) == pytest.approx(
        (0.0857836, 0.9408986), abs=1e-7
    )


def test_bounded_interval_is_the_t_interval_when_narrow_and_asymmetric_near_a_bound() -> None:
    # The delta method's limit: as the spread shrinks, the logit-scale interval becomes
    # scipy's Student-t interval (to second order in its half-width).
    rng = np.random.default_rng(11)
    sample = 0.9 + rng.normal(0.0, 1e-6, 5)
    plain = scipy_stats.ttest_1samp(sample, 0.0).confidence_interval()
    bounded = st.mean_interval(sample, bounds=(0.0, 1.0))
    assert bounded == pytest.approx((plain.low, plain.high), abs=1e-10)
    # Near 1 the interval leans away from the bound: shorter above the mean than below.
    low, high = st.mean_interval([0.97, 0.99, 1.0], bounds=(0.0, 1.0))
    assert 0.0 < low < high < 1.0
    assert high - np.mean([0.97, 0.99, 1.0]) < np.mean([0.97, 0.99, 1.0]) - low


def test_bounded_interval_refuses_values_outside_its_bounds() -> None:
    with pytest.raises(ValueError, match=r"values must lie in \(0.0, 1.0\)"):
        st.mean_interval([0.5, 1.2], bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="inside"):
        st.bounded_t_interval(1.0, 0.1, 3, (0.0, 1.0))
    assert st.bounded_t_interval(0.4, 0.0, 3, (0.0, 1.0)) == (0.4, 0.4)


def test_paired_difference_interval_is_fishers_z_scale_and_stays_in_minus_1_1() -> None:
    # d = -0.5, -0.4 (accuracies 0.5, 0.55 against 1.0, 0.95): mean -0.45, se 0.05;
    # plain t: -0.45 -/+ 12.7062 * 0.05 = -1.0853, 0.1853 (below -1).
    # atanh(-0.45) = -0.4847003, half-width 12.7062 * 0.05 / (1 - 0.45^2) = 0.7966273;
    # tanh(-0.4847003 -/+ 0.7966273) = -0.8568382, 0.3021891.
    n, difference, interval = st.difference_interval(
        [0.5, 0.55], [1.0, 0.95], paired=True, bounds=st.ACCURACY_BOUNDS
    )
    assert (n, difference) == (2, pytest.approx(-0.45))
    assert interval == pytest.approx((-0.8568382, 0.3021891), abs=1e-7)
    assert st.difference_interval([0.5, 0.55], [1.0, 0.95], paired=True)[2] == pytest.approx(
        (-1.0853102, 0.1853102), abs=1e-7
    )


def test_unpaired_difference_interval_uses_welch_on_fishers_z_scale() -> None:
    # {0.5, 0.6} - {0.9, 1.0} = -0.4; Welch se = sqrt(0.005/2 + 0.005/2) = 0.0707107,
    # df = se^4 / (2 * 0.0025^2 / 1) = 2, t(0.975, 2) = 4.3027;
    # plain: -0.4 -/+ 4.3027 * 0.0707107 = -0.7042, -0.0958 (scipy's ttest_ind agrees);
    # bounded: tanh(atanh(-0.4) -/+ 4.3027 * 0.0707107 / 0.84) = -0.6560480, -0.0613770.
    welch = scipy_stats.ttest_ind([0.5, 0.6], [0.9, 1.0], equal_var=False)
    assert welch.df == pytest.approx(2.0)
    low, high = welch.confidence_interval()
    assert (low, high) == pytest.approx((-0.7042435, -0.0957565), abs=1e-7)
    n, difference, interval = st.difference_interval(
        [0.5, 0.6], [0.9, 1.0], paired=False, bounds=(0.0, 1.0)
    )
    assert (n, difference) == (2, pytest.approx(-0.4))
    assert interval == pytest.approx((-0.6560480, -0.0613770), abs=1e-7)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(successes, trials, low, high) -> None:
    interval = st.wilson_interval(successes, trials)
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_edge_cases() -> None:
    assert st.wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="successes <= trials"):
        st.wilson_interval(3, 2)


def test_holm_against_hand_computed_values() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005 = 0.02, 3 x 0.01 = 0.03, 2 x 0.03 = 0.06,
    # max(0.06, 1 x 0.04) = 0.06; back in input order
    adjusted = st.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(st.holm([0.5, 0.9]), [1.0, 1.0])  # capped at 1
    assert st.holm([]).size == 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        st.holm([0.2, math.nan])


def test_paired_permutation_test_reproduces_fishers_zea_mays_result() -> None:
    # Fisher (1935), The Design of Experiments, section 21: 863 of the 2^15 = 32768 sign
    # patterns give a sum at least as large as observed; two-sided 1726 / 32768.
    assert st.paired_permutation_p(ZEA_MAYS) == pytest.approx(1726 / 32768)


def test_paired_permutation_test_hand_computed_and_against_exact_wilcoxon() -> None:
    # d = 1, 2, 3: of the 8 sign patterns only +++ and --- reach |mean| 2: p = 2/8
    assert st.paired_permutation_p([1, 2, 3]) == pytest.approx(0.25)
    # all differences of one sign: both exact tests give their smallest p, 2 / 2^n
    same_sign = [0.01, 0.02, 0.03, 0.04, 0.05]
    wilcoxon = scipy_stats.wilcoxon(same_sign, method="exact").pvalue
    assert st.paired_permutation_p(same_sign) == pytest.approx(wilcoxon) == pytest.approx(2 / 32)
    assert st.paired_permutation_p([0.0, 0.0, 0.0]) == 1.0
    assert st.paired_permutation_p([0.01]) is None


def test_unpaired_permutation_test_hand_computed() -> None:
    # {1, 2} vs {3, 4}: of the C(4, 2) = 6 splits, two reach |difference of means| 2
    assert st.unpaired_permutation_p([1, 2], [3, 4]) == pytest.approx(2 / 6)
    assert st.unpaired_permutation_p([1], [3, 4]) is None


def test_probability_of_improvement_paired_and_unpaired() -> None:
    # d = +1, 0, -1: (1 + 0.5 + 0) / 3
    assert st.probability_of_improvement([1, 2, 3], [0, 2, 4], paired=True) == 0.5
    # cross pairs (1, 2): loses, (3, 2): wins -> 1/2; ties count half
    assert st.probability_of_improvement([1, 3], [2], paired=False) == 0.5
    assert st.probability_of_improvement([2, 2], [2], paired=False) == 0.5
    assert st.probability_of_improvement([3, None], [1, 5], paired=True) == 1.0
    assert st.probability_of_improvement([None], [1], paired=True) is None


def test_t_test_power_matches_r_power_t_test_examples() -> None:
    # R, ?power.t.test examples (two-sample, sd 1, level 0.05):
    # power.t.test(n = 20, delta = 1) -> power 0.8689528
    assert st.t_test_power(1.0, 20, paired=False) == pytest.approx(0.8689528, abs=1e-6)
    # power.t.test(power = .90, delta = 1) -> n = 22.02110 per group: 23 seeds
    assert st.seeds_for_power(1.0, 1.0, power=0.9, paired=False) == 23


def test_seeds_for_power_edge_cases() -> None:
    assert st.seeds_for_power(0.0, 1.0) is None  # nothing to detect
    # no spread: only the permutation floor, 2 / 2^n <= 0.005 -> 2^n >= 400 -> n = 9
    assert st.seeds_for_power(0.01, 0.0, alpha=0.005) == 9
    assert st.seeds_for_power(1e-6, 1.0) is None  # beyond the limit
    # power grows with the seeds: the answer is the first n that reaches 80 %
    n = st.seeds_for_power(0.5, 1.0)
    assert st.t_test_power(0.5, n) >= 0.8 > st.t_test_power(0.5, n - 1)


def test_compare_to_reference_pairs_by_seed_and_falls_back_to_unpaired() -> None:
    values = {
        "best": [0.90, 0.92, 0.94],
        "worse": [0.80, 0.83, 0.85],
        "other_seeds": [0.91, 0.93],
        "single": [0.5],
    }
    result = st.compare_to_reference(
        values, "best", {"worse": True, "other_seeds": False, "single": False, "best": True}
    )
    assert list(result) == ["worse", "other_seeds", "single"]
    worse = result["worse"]
    # d = -0.10, -0.09, -0.09: mean -0.09333, s = 0.005774, t(0.975, 2) = 4.302653
    assert worse.difference == pytest.approx(-0.093333, abs=1e-6)
    assert (worse.ci_low, worse.ci_high) == pytest.approx((-0.107676, -0.078991), abs=2e-6)
    assert worse.p_value == pytest.approx(0.25) and worse.within_noise is False
    assert result["other_seeds"].paired is False and result["other_seeds"].n == 2
    single = result["single"]
    assert (single.ci_low, single.p_value, single.p_holm, single.seeds_for_power) == (None,) * 4
    # Holm over the two comparisons that have a p-value
    np.testing.assert_allclose(
        [result["worse"].p_holm, result["other_seeds"].p_holm],
        st.holm([result["worse"].p_value, result["other_seeds"].p_value]),
    )


def test_many_seeds_use_seeded_sampled_permutations_reproducibly() -> None:
    # 2^20 sign patterns exceed EXACT_PERMUTATIONS: sampled, with a fixed seed
    rng = np.random.default_rng(3)
    differences = rng.normal(0.01, 0.01, 20)
    first = st.paired_permutation_p(differences)
    assert first == st.paired_permutation_p(differences)
    # close to the paired t-test's p on near-normal data (a sanity check of the sampling)
    assert first == pytest.approx(scipy_stats.ttest_1samp(differences, 0).pvalue, abs=0.01)


def _interval_benchmark():
    """benchmarks/bench_intervals.py, whose scenarios the coverage test reuses."""
    import importlib.util

    from .conftest import PROJECT_ROOT

    path = PROJECT_ROOT / "benchmarks" / "bench_intervals.py"
    spec = importlib.util.spec_from_file_location("bench_intervals", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bounded_intervals_cover_at_least_90_percent_from_2_to_20_seeds() -> None:
    """The README's claim, on a smaller draw than benchmarks/intervals.md's.

    Unimodal per-seed accuracies (Beta success rates around 0.5 to 0.99, Binomial on 600
    test points), 1,500 samples per cell: the bounded interval of a mean and of a paired
    difference covers the true value at least 90 % of the time at every n in 2, 3, 5,
    10, 20 (nominal 95 %; the benchmark's lowest, at 2 seeds, is 0.916), and never leaves
    its range. Where seeds collapse the claim is not made (every interval of a mean
    undercovers there; the benchmark shows how much).
    """
    bench = _interval_benchmark()
    rng = np.random.default_rng(5)
    repetitions = 1500
    lowest = {}
    for name in bench.UNIMODAL:
        draw, truth = bench.MEANS[name]
        for n in bench.SEEDS:
            samples = [draw(rng, n) for _ in range(repetitions)]
            hit, out = bench.coverage(
                samples, truth, lambda x: st.mean_interval(x, bounds=st.ACCURACY_BOUNDS), (0, 1)
            )
            assert out == 0.0, (name, n)
            lowest[(name, n)] = hit
    for name, (first, second) in bench.DIFFERENCES.items():
        if first not in bench.UNIMODAL:
            continue
        truth = bench.MEANS[first][1] - bench.MEANS[second][1]
        for n in bench.SEEDS:
            samples = [
                np.stack([bench.MEANS[first][0](rng, n), bench.MEANS[second][0](rng, n)])
                for _ in range(repetitions)
            ]
            hit, out = bench.coverage(samples, truth, bench.bounded_difference, (-1, 1))
            assert out == 0.0, (name, n)
            lowest[(name, n)] = hit
    assert min(lowest.values()) >= 0.90, sorted(lowest.items(), key=lambda item: item[1])[:3]
