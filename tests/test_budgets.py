"""Budgets: a run cut to a fraction of its epochs, and the table, metrics and reading of them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrstudy.budgets import budget_entries, budget_reading, budget_table
from lrstudy.config import ConfigError, parse_config
from lrstudy.config.tuning import budget_epochs
from lrstudy.rate_plan import rate_plan
from lrstudy.tune_training import budget_run

N_TRAIN = 1120  # the default split's train rows: ceil(1120 / 100) = 12 steps per epoch


def cosine(lr: float, alpha: float, t: float, decay: float) -> float:
    """Keras CosineDecay (SGDR without restarts, Loshchilov & Hutter 2017), as published:
    lr * ((1 - alpha) * (1 + cos(pi * min(t, decay) / decay)) / 2 + alpha)."""
    t = min(t, decay)
    return lr * ((1 - alpha) * (1 + math.cos(math.pi * t / decay)) / 2 + alpha)


def test_half_the_budget_puts_the_cosine_minimum_at_half_the_epochs(params) -> None:
    params["settings"] = {
        "cos": {"lr": 0.1, "schedule": {"type": "cosine", "alpha": 0.01, "per": "step"}}
    }
    config = parse_config(params)
    full = config.run("cos")
    half = budget_run(full, 0.5)
    assert (full.epochs, half.epochs) == (50, 25)
    rates = rate_plan(half, N_TRAIN).rates
    assert rates.shape == (25 * 12,)
    # Hand-computed from the formula above, horizon 25 epochs = 300 steps:
    # step 0: 0.1; step 150 (half way): 0.1 * (0.99 * 0.5 + 0.01) = 0.0505;
    # step 299: cos(299 pi / 300) = -0.9999451694, so 0.1 * (0.99 * 2.74153e-5 + 0.01).
    assert rates[0] == pytest.approx(0.1, rel=1e-6)
    assert rates[150] == pytest.approx(0.0505, rel=1e-6)
    assert rates[299] == pytest.approx(0.1 * (0.99 * 2.741532e-5 + 0.01), rel=1e-5)
    # The cut run reaches alpha * lr where the full run is only half way down.
    full_rates = rate_plan(full, N_TRAIN).rates
    assert full_rates[299] == pytest.approx(cosine(0.1, 0.01, 299, 600), rel=1e-6)
    assert full_rates[299] > 0.05 > 0.0011 > rates[299]
    # float32 rates: 1e-6 relative is a few float32 ulps (2**-23 = 1.2e-7).
    expected = [cosine(0.1, 0.01, step, 300) for step in range(300)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)


def test_a_budget_cuts_the_wsd_cooldown_and_one_cycle_to_its_end(config) -> None:
    wsd = budget_run(config.run("wsd"), 0.5)  # 25 epochs: cooldown the last 20 %, 5 epochs
    rates = rate_plan(wsd, N_TRAIN).rates
    assert rates.shape == (300,)
    assert rates[20 * 12 - 1] == pytest.approx(0.05, rel=1e-6)  # stable until epoch 20
    assert rates[20 * 12 + 1] < 0.05 and rates[-1] < 0.05 * (1 - math.sqrt(59 / 60)) + 1e-6
    one_cycle = rate_plan(budget_run(config.run("one_cycle"), 0.5), N_TRAIN).rates
    # PyTorch OneCycleLR: the peak at pct_start 0.3 of the 300 steps, step 89 (= 0.3 * 300 - 1)
    assert int(np.argmax(one_cycle)) == 89


@pytest.mark.parametrize(
    ("budget", "epochs", "expected"), [(0.25, 50, 12), (0.3, 50, 15), (0.5, 25, 12), (1, 7, 7)]
)
def test_budget_epochs_round_down_exactly(budget, epochs, expected) -> None:
    assert budget_epochs(budget, epochs) == expected


def problems_for(params: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(params)
    return caught.value.problems


@pytest.mark.parametrize(
    ("budgets", "fragment"),
    [
        ([0.5, 0.25], "tune.budgets = [0.5, 0.25]: budgets must be strictly increasing"),
        ([0.5, 0.5], "tune.budgets = [0.5, 0.5]: budgets must be strictly increasing"),
        ([0, 1], "tune.budgets.0 = 0: Input should be greater than 0"),
        ([0.5, 1.5], "tune.budgets.1 = 1.5: Input should be less than or equal to 1"),
        ([True], "tune.budgets.0 = true: expected a finite number > 0 and <= 1"),
        ([], "tune.budgets = []: List should have at least 1 item"),
        (0.5, "tune.budgets = 0.5: Input should be a valid list"),
        (
            [0.01, 1],
            "tune.budgets.0 = 0.01: settings.lr_large trains 50 epochs, and floor(0.01 * 50)"
            " = 0; each budget must give every setting at least 1 epoch: at least 1/50 = 0.02",
        ),
    ],
)
def test_bad_budgets_are_one_line_naming_key_value_and_rule(params, budgets, fragment) -> None:
    params["tune"]["budgets"] = budgets
    (problem,) = problems_for(params)
    assert problem.startswith(fragment)


def test_a_suggested_setting_is_not_cut_to_budgets(params) -> None:
    """train_suggested@ trains once, untuned: 0.25 of its 3 epochs (0) is no problem."""
    params["suggested"]["lr_valley"]["epochs"] = 3
    assert parse_config(params).suggested["lr_valley"].epochs == 3


def test_a_budget_run_the_schedule_does_not_fit_is_refused(params) -> None:
    params["settings"]["wsd"]["schedule"] = {"type": "wsd", "decay_epochs": 10}
    params["tune"]["budgets"] = [0.1, 1]  # 5 epochs: shorter than the 10-epoch cooldown
    (problem,) = problems_for(params)
    assert problem == (
        "tune.budgets.0 = 0.1: settings.wsd.schedule.decay_epochs = 10: longer than the "
        "run; the cooldown lasts at most its 5 epochs (the budget's run: 5 of 50 epochs; "
        "raise the budget or leave it out of tune.budgets)"
    )


def budgets_csv(full: list[float], cut: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "budget": [0.5] * len(cut) + [1.0] * len(full),
            "epochs": [5] * len(cut) + [10] * len(full),
            "seed": list(range(len(cut))) + list(range(len(full))),
            "test_accuracy": cut + full,
        }
    )


def test_budget_table_means_intervals_and_the_paired_change() -> None:
    frames = {
        "steady": budgets_csv([0.9, 0.92, 0.94], [0.9, 0.92, 0.94]),
        "fragile": budgets_csv([0.9, 0.92, 0.94], [0.8, 0.81, 0.85]),
    }
    table = budget_table(frames)
    assert list(table["setting"]) == ["steady", "steady", "fragile", "fragile"]
    assert list(table["budget"]) == [0.5, 1.0, 0.5, 1.0]
    fragile = table.set_index(["setting", "budget"]).loc["fragile"]
    assert fragile.loc[0.5, "test_accuracy"] == pytest.approx(0.82)
    # per-seed changes -0.1, -0.11, -0.09: mean -0.1, an interval around it
    assert fragile.loc[0.5, "change"] == pytest.approx(-0.1)
    assert fragile.loc[0.5, "change_low"] < -0.1 < fragile.loc[0.5, "change_high"] < 0
    assert fragile.loc[1.0, "change"] == 0 and fragile.loc[1.0, "epochs"] == 10
    low, high = fragile.loc[1.0, ["test_accuracy_low", "test_accuracy_high"]]
    assert low < 0.92 < high
    entries = budget_entries(table)
    assert set(entries["fragile"]) == {"0.5", "1"}
    assert entries["fragile"]["0.5"]["vs_full"]["difference"] == pytest.approx(-0.1)
    assert entries["steady"]["0.5"]["vs_full"] == {
        "difference": 0.0,
        "ci_low": 0.0,
        "ci_high": 0.0,
    }
    reading = budget_reading(table, {"steady": None, "fragile": None})
    assert reading is not None and "to 0.5 of its epochs" in reading
    # least lost first
    assert reading.index("steady +0.0000") < reading.index("fragile -0.1000")


def test_no_budget_below_one_means_no_reading() -> None:
    table = budget_table({"a": budgets_csv([0.9, 0.92], [])})
    assert list(table["budget"]) == [1.0]
    assert budget_reading(table, {"a": None}) is None
