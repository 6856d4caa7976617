"""The LR range test's arithmetic against hand-computed values and synthetic curves.

Each suggestion rule gets a curve whose answer is known by construction; the expected
indices follow fastai's published rules (fastai/callback/schedule.py), worked by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrstudy.lr_finder import (
    divergence_step,
    exponential_rates,
    median_suggestions,
    minimum_rule,
    smooth,
    steep_rule,
    suggest,
    valley_rule,
)


def test_exponential_rates_span_the_range_at_a_constant_ratio() -> None:
    rates = exponential_rates(1e-7, 10.0, 100)
    assert rates.shape == (100,)
    assert rates[0] == pytest.approx(1e-7) and rates[-1] == pytest.approx(10.0)
    # 8 decades over 99 intervals: each step multiplies by 10 ** (8 / 99).
    np.testing.assert_allclose(rates[1:] / rates[:-1], 10 ** (8 / 99))


@pytest.mark.parametrize("bounds", [(1.0, 1.0, 10), (1.0, 0.1, 10), (0.0, 1.0, 10), (1e-3, 1.0, 1)])
def test_exponential_rates_reject_bad_bounds(bounds: tuple[float, float, int]) -> None:
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        exponential_rates(*bounds)


def test_smoothing_bias_correction_by_hand() -> None:
    # beta 0.5: avg = 0.5, 0.25 + 1 = 1.25; corrected by 1 - 0.5 and 1 - 0.25.
    np.testing.assert_allclose(smooth([1.0, 2.0], beta=0.5), [1.0, 1.25 / 0.75])
    # beta 0.9: avg = 0.3, 0.37, 0.533; corrected by 0.1, 0.19, 0.271.
    np.testing.assert_allclose(smooth([3.0, 1.0, 2.0], beta=0.9), [3.0, 0.37 / 0.19, 0.533 / 0.271])


def test_smoothing_of_a_constant_is_the_constant_and_beta_zero_is_identity() -> None:
    # Without the bias correction the first values would be pulled toward zero.
    np.testing.assert_allclose(smooth([0.7] * 5, beta=0.98), [0.7] * 5)
    np.testing.assert_array_equal(smooth([3.0, 1.0, 2.0], beta=0.0), [3.0, 1.0, 2.0])


def test_smoothing_rejects_beta_of_one() -> None:
    with pytest.raises(ValueError, match="beta"):
        smooth([1.0], beta=1.0)


@pytest.mark.parametrize(
    ("smoothed", "expected"),
    [
        ([1.0, 0.5, 1.9, 2.1], 3),  # 2.1 > 4 × 0.5, 1.9 is not
        ([1.0, 0.9, 0.8, 0.85], None),  # never diverges
        ([1.0, 0.9, math.nan, 0.1], 2),  # a NaN loss is divergence
        ([1.0, math.inf], 1),
    ],
)
def test_divergence_step(smoothed: list[float], expected: int | None) -> None:
    assert divergence_step(smoothed, diverge_factor=4.0) == expected


RATES = 10.0 ** np.linspace(-5, 0, 11)  # half a decade apart: 1e-5, 3.16e-5, ..., 1


def test_steep_finds_the_known_steepest_segment() -> None:
    # Loss falls by 0.01 per point except a drop of 0.5 from point 6 (1e-2) to point 7.
    losses = 2.0 - 0.01 * np.arange(11)
    losses[7:] -= 0.5
    assert steep_rule(RATES, losses) == pytest.approx(1e-2)


def test_steep_on_a_smooth_curve_is_at_its_inflection() -> None:
    # L = 1 - 0.4 tanh((log10 r + 2) / 0.3): steepest against log r at r = 1e-2.
    rates = 10.0 ** np.linspace(-5, 0, 201)
    losses = 1 - 0.4 * np.tanh((np.log10(rates) + 2) / 0.3)
    # The finite difference is steepest on the segment that straddles 1e-2.
    assert abs(np.log10(steep_rule(rates, losses)) + 2) <= 5 / 200


def test_minimum_is_a_tenth_of_the_rate_at_the_lowest_loss() -> None:
    losses = np.array([1.0, 0.9, 0.7, 0.4, 0.3, 0.2, 0.35, 0.9, 2.0, 3.0, 4.0])
    assert minimum_rule(RATES, losses) == pytest.approx(RATES[5] / 10)


def test_valley_by_hand() -> None:
    # Longest strictly decreasing run: 3, 2.5, 2, 1.5, 1 (length 5) ends at index 5.
    # fastai: start = 5 - 5 = 0, third = 5 / 3 -> index 0 + int(1.67) + int(0.83) = 1.
    losses = np.array([3.0, 3.0, 2.5, 2.0, 1.5, 1.0, 1.2, 2.0, 5.0])
    assert valley_rule(RATES[:9], losses) == pytest.approx(RATES[1])
    # Strictly decreasing throughout (7 points): start = 6 - 7 = -1, third = 7 / 3 ->
    # index -1 + 2 + 1 = 2.
    assert valley_rule(RATES[:7], np.linspace(2.0, 1.0, 7)) == pytest.approx(RATES[2])


def test_a_curve_that_never_diverges_still_gets_every_suggestion() -> None:
    # Falls and levels off; never rises: minimum at the last kept point.
    rates = exponential_rates(1e-6, 1.0, 60)
    losses = 0.3 + 0.4 / (1 + (rates / 1e-3) ** 2)
    assert divergence_step(losses, 4.0) is None
    found = suggest(rates, losses, steps=60)
    assert found.reason == ""
    kept = rates[6:55]  # fastai's trimming: the first 60 // 10, the last 5
    assert found.minimum == pytest.approx(kept[-1] / 10)
    assert 1e-4 < found.steep < 1e-2  # the fall is centred on 1e-3
    assert kept[0] < found.valley < kept[-1]


def test_a_flat_curve_gets_no_suggestion_and_a_reason() -> None:
    found = suggest(RATES, np.full(11, 0.693), steps=11)
    assert found.as_dict() == {"minimum": None, "steep": None, "valley": None}
    assert "flat" in found.reason


def test_a_rising_curve_gets_no_suggestion() -> None:
    rates = exponential_rates(1e-6, 1.0, 40)
    found = suggest(rates, np.linspace(0.5, 3.0, 40), steps=40)
    assert found.as_dict() == {"minimum": None, "steep": None, "valley": None}
    assert found.reason.startswith("no minimum or steep or valley suggestion")


def test_a_curve_that_only_rises_after_its_start_has_no_minimum() -> None:
    # Dips once (a steepest fall and a valley exist) but never below the first point.
    # steps=9 trims nothing at the start (9 // 10 = 0); the last 5 points are left out.
    rates = 10.0 ** np.linspace(-5, 0, 16)
    losses = np.array([1.0, 1.5, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6] + [3.0] * 5)
    found = suggest(rates, losses, steps=9)
    assert found.minimum is None
    # The only fall is from point 1 to 2; the longest valley (1.5, 1.2) gives index 0.
    assert found.steep == pytest.approx(rates[1]) and found.valley == pytest.approx(rates[0])
    assert found.reason == "no minimum suggestion: the loss never falls enough"


def test_too_few_points_get_no_suggestion() -> None:
    found = suggest(RATES[:6], np.linspace(1.0, 0.5, 6), steps=6)
    assert found.minimum is None and "usable steps" in found.reason


def test_median_over_seeds_is_log_scale_and_skips_missing() -> None:
    per_seed = {
        0: {"minimum": 1e-3, "steep": None, "valley": 1e-2},
        1: {"minimum": 1e-1, "steep": None, "valley": 3e-2},
        2: {"minimum": None, "steep": None, "valley": 2e-2},
    }
    medians = median_suggestions(per_seed)
    assert medians["minimum"] == pytest.approx(1e-2)  # geometric mean of 1e-3 and 1e-1
    assert medians["steep"] is None
    assert medians["valley"] == pytest.approx(2e-2)


def test_range_test_trains_and_stops_once_the_loss_diverges() -> None:
    """A real Keras run: plain SGD up to a rate of 1e4 blows the loss up well before."""
    from lrstudy.config import ModelConfig
    from lrstudy.data import Dataset
    from lrstudy.lr_finder import range_test

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    train = Dataset(x, (np.sum(x**2, axis=1) > 1.4).astype(np.int64))
    model = ModelConfig(hidden_units=[10, 10], activation="tanh", optimizer="sgd")
    rates = exponential_rates(1e-4, 1e4, 60)
    losses = range_test(model, train, 50, 0, rates, diverge_factor=4.0, beta=0.9, n_classes=2)
    stopped = divergence_step(smooth(losses, 0.9), 4.0)
    assert stopped is not None and len(losses) == stopped + 1 < 60
    assert np.isfinite(losses[:10]).all()
    # Same seed, same losses.
    again = range_test(model, train, 50, 0, rates, diverge_factor=4.0, beta=0.9, n_classes=2)
    np.testing.assert_array_equal(losses, again)


def test_rules_never_read_past_the_blow_up() -> None:
    """With the stop effectively off, a curve falls, blows up to 1e6 and falls again from
    there: the steepest fall is after the blow-up, but no rule may suggest a rate there."""
    rates = np.geomspace(1e-4, 1e4, 60)
    losses = np.concatenate([np.linspace(1.0, 0.3, 30), [1e6], np.geomspace(1e6, 1e3, 29)])
    found = suggest(rates, losses, steps=60)
    for rate in found.as_dict().values():
        assert rate is None or rate <= rates[29]


def test_a_loss_that_blows_up_at_once_is_named_as_such() -> None:
    rates = np.geomspace(1e-4, 1e4, 60)
    losses = np.concatenate([[0.7, 0.7, 50.0], np.full(57, 1e3)])
    found = suggest(rates, losses, steps=60)
    assert found.as_dict() == {"minimum": None, "steep": None, "valley": None}
    assert "blew up at step 2" in found.reason and "never fell" not in found.reason


@pytest.mark.parametrize("optimizer", ["adam", "schedule_free_adamw"])
def test_the_range_tests_two_loops_agree(optimizer) -> None:
    """``train.loop: fit`` (``range_test``: Keras' ``train_on_batch``) against the
    population (``population_range_tests``), seed 0 of two, 30 steps up to a rate of 0.1.

    The same float32 terms summed in another order (``tests/test_population.py``'s
    tolerance, 5e-6; measured 1.7e-7). Schedule-Free's ``z`` must start at the weights in
    both (Keras' ``build`` inside ``train_on_batch``'s trace left it at 0)."""
    from lrstudy.config import ModelConfig
    from lrstudy.data import Dataset
    from lrstudy.lr_finder import population_range_tests, range_test

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    train = Dataset(x, (np.sum(x**2, axis=1) > 1.4).astype(np.int64))
    model = ModelConfig(hidden_units=[10, 10], activation="tanh", optimizer=optimizer)
    rates = exponential_rates(1e-4, 0.1, 30)
    alone = range_test(model, train, 50, 0, rates, diverge_factor=4.0, beta=0.9, n_classes=2)
    together = population_range_tests(model, train, 50, [0, 1], rates, n_classes=2)[0]
    assert len(alone) == 30
    np.testing.assert_allclose(alone, together, rtol=5e-6)
