"""The sweep's grid and its reading: best rate, one-standard-error range, edge flag."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrstudy.sweep import curve, edge_warning, log_grid, summary


def test_default_grid_is_16_rates_three_per_decade() -> None:
    grid = log_grid(1e-5, 1.0, 3)
    assert len(grid) == 16
    assert grid[0] == pytest.approx(1e-5) and grid[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(grid[1:3], [2.15443469e-5, 4.64158883e-5])
    assert grid[3] == pytest.approx(1e-4)


def test_grid_stops_at_max_lr_even_off_the_grid() -> None:
    assert len(log_grid(1e-5, 1e-3, 3)) == 7
    grid = log_grid(1e-3, 5e-2, 1)  # 1e-3, 1e-2; 1e-1 would pass max_lr
    np.testing.assert_allclose(grid, [1e-3, 1e-2])


@pytest.mark.parametrize("bad", [(1.0, 1.0, 3), (1.0, 0.1, 3), (0.0, 1.0, 3), (1e-3, 1.0, 0)])
def test_grid_rejects_bad_bounds(bad: tuple[float, float, int]) -> None:
    with pytest.raises(ValueError, match="min_lr < max_lr"):
        log_grid(*bad)


def results(val: dict[float, list[float]], test: dict[float, list[float]]) -> pd.DataFrame:
    rows = [
        {
            "lr": rate,
            "seed": seed,
            "val_accuracy": value,
            "test_accuracy": test[rate][seed],
            "diverged": rate >= 1.0,
        }
        for rate, values in val.items()
        for seed, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


VAL = {1e-3: [0.70, 0.72], 1e-2: [0.90, 0.92], 1e-1: [0.905, 0.905], 1.0: [0.5, 0.5]}
TEST = {1e-3: [0.71, 0.71], 1e-2: [0.96, 0.95], 1e-1: [0.95, 0.97], 1.0: [0.49, 0.51]}


def test_curve_mean_band_and_standard_error_by_hand() -> None:
    per_rate = curve(results(VAL, TEST))
    assert per_rate["lr"].tolist() == [1e-3, 1e-2, 1e-1, 1.0]
    row = per_rate.iloc[1]
    assert row["val_accuracy"] == pytest.approx(0.91)
    assert (row["val_accuracy_min"], row["val_accuracy_max"]) == (0.90, 0.92)
    # Two values 0.02 apart: std (ddof 1) = 0.02 / sqrt(2), sem = std / sqrt(2) = 0.01.
    assert row["val_accuracy_sem"] == pytest.approx(0.01)
    assert per_rate["diverged"].tolist() == [0, 0, 0, 2]


def test_summary_best_one_se_range_and_good_region() -> None:
    result = summary(curve(results(VAL, TEST)))
    assert result["best_lr"] == pytest.approx(1e-2)
    assert result["best_val_accuracy"] == pytest.approx(0.91)
    assert result["best_test_accuracy"] == pytest.approx(0.955)
    # 1e-1 (mean 0.905) is within 0.01 of 0.91; 1e-3 (0.71) is not.
    assert result["one_se_range"] == {"low": pytest.approx(1e-2), "high": pytest.approx(1e-1)}
    assert result["at_edge"] is False and result["edge"] is None
    assert result["good_test_range"]["low"] == pytest.approx(1e-2)
    assert result["good_test_range"]["high"] == pytest.approx(1e-1)
    assert result["diverged_runs"] == 2
    assert edge_warning(result) is None


def test_edge_flag_when_the_best_is_the_highest_rate() -> None:
    # Stop the grid at 1e-2: accuracy still rising at the top edge.
    cut = {rate: values for rate, values in VAL.items() if rate <= 1e-2}
    result = summary(curve(results(cut, TEST)))
    assert result["best_lr"] == pytest.approx(1e-2)
    assert result["at_edge"] is True and result["edge"] == "high"
    assert "sweep.max_lr" in edge_warning(result)


def test_edge_flag_when_the_best_is_the_lowest_rate() -> None:
    val = {1e-3: [0.9, 0.9], 1e-2: [0.8, 0.8]}
    result = summary(curve(results(val, TEST)))
    assert result["edge"] == "low"
    assert "sweep.min_lr" in edge_warning(result)


def test_a_rate_with_a_nan_seed_cannot_be_best() -> None:
    val = {1e-3: [0.8, 0.8], 1e-2: [0.99, math.nan]}
    result = summary(curve(results(val, TEST)))
    assert result["best_lr"] == pytest.approx(1e-3)


def test_no_finite_accuracy_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rate"):
        summary(curve(results({1e-3: [math.nan]}, {1e-3: [0.5]})))
