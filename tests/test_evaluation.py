from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrstudy.config import GridConfig
from lrstudy.evaluation import (
    divergence_epoch,
    grid_axes,
    grid_points,
    setting_metrics,
    summarize,
)


def test_summarize_against_hand_computed_values() -> None:
    # values 0.9, 0.95, 1.0: mean 0.95; sample variance ((0.05^2)*2)/2 = 0.0025 -> std 0.05;
    # t(0.975, df 2) = 4.302653 (t table) -> half-width 4.302653 * 0.05 / sqrt(3) = 0.124207
    result = summarize([0.9, 0.95, 1.0])
    assert result == {
        "mean": 0.95,
        "std": 0.05,
        "min": 0.9,
        "max": 1.0,
        "ci_low": pytest.approx(0.825793, abs=2e-6),
        "ci_high": pytest.approx(1.074207, abs=2e-6),
        "n": 3,
    }


def test_summarize_single_value_has_zero_std_and_no_interval() -> None:
    assert summarize([0.5]) == {
        "mean": 0.5,
        "std": 0.0,
        "min": 0.5,
        "max": 0.5,
        "ci_low": None,
        "ci_high": None,
        "n": 1,
    }


def test_summarize_leaves_out_non_finite_values_and_counts_the_rest() -> None:
    result = summarize([0.5, math.nan, None, 0.7, math.inf])
    assert result["mean"] == pytest.approx(0.6) and result["n"] == 2
    nothing = summarize([math.nan, None])
    assert nothing["n"] == 0
    assert all(nothing[key] is None for key in ("mean", "std", "min", "max", "ci_low"))


def test_summarize_rejects_empty() -> None:
    with pytest.raises(ValueError, match="at least one"):
        summarize([])


def test_setting_metrics_layout() -> None:
    result = setting_metrics({1: {"accuracy": 0.9, "loss": 0.3}, 0: {"accuracy": 0.8, "loss": 0.5}})
    assert result["test_accuracy"]["seeds"] == {"seed_0": 0.8, "seed_1": 0.9}
    assert list(result["test_accuracy"]["seeds"]) == ["seed_0", "seed_1"]
    assert result["test_accuracy"]["mean"] == pytest.approx(0.85)
    assert result["test_loss"]["max"] == 0.5


def test_setting_metrics_gives_a_diverged_seed_no_accuracy() -> None:
    # Keras scores NaN predictions as class 0: accuracy 0.5 beside a NaN loss.
    result = setting_metrics(
        {
            0: {"accuracy": 0.5, "loss": math.nan},
            1: {"accuracy": 0.9, "loss": 0.3},
            2: {"accuracy": 0.5, "loss": 0.7, "finite_predictions": False},
            3: {"accuracy": 0.8, "loss": 0.4},
        },
        diverged=[3],
    )
    accuracy = result["test_accuracy"]
    assert accuracy["seeds"] == {"seed_0": None, "seed_1": 0.9, "seed_2": None, "seed_3": None}
    assert accuracy["mean"] == 0.9 and accuracy["n"] == 1 and accuracy["ci_low"] is None
    assert result["test_loss"]["seeds"]["seed_0"] is None


def test_grid_spans_low_to_high_inclusive_like_mgrid_with_a_point_count() -> None:
    grid = GridConfig(low=-1.5, high=1.5, points=300)
    axis = grid_axes(grid)
    assert axis[0] == -1.5 and axis[-1] == 1.5 and len(axis) == 300
    points = grid_points(grid)
    assert points.shape == (90_000, 2) and points.dtype == np.float32
    # Independent reference: np.mgrid with a complex step counts points, ends included;
    # rows are ordered like the notebook's np.c_[xx.ravel(), yy.ravel()].
    xx, yy = np.mgrid[-1.5:1.5:300j, -1.5:1.5:300j]
    np.testing.assert_allclose(points, np.c_[xx.ravel(), yy.ravel()], rtol=0, atol=1e-7)


def test_sample_std_hand_computed() -> None:
    from lrstudy.evaluation import sample_std

    # (1 - 2)^2 + (3 - 2)^2 = 2, over n - 1 = 1 -> sqrt(2)
    assert sample_std([1.0, 3.0]) == pytest.approx(math.sqrt(2))
    assert sample_std([0.7]) == 0.0


def test_grid_for_more_features_is_the_slice_through_zero() -> None:
    grid = GridConfig(low=-1.0, high=1.0, points=3)
    points = grid_points(grid, n_features=4)
    assert points.shape == (9, 4)
    np.testing.assert_array_equal(points[:, :2], grid_points(grid))
    assert not points[:, 2:].any()
    with pytest.raises(ValueError, match="at least 2 features"):
        grid_points(grid, n_features=1)


def losses(values: list[float]) -> pd.DataFrame:
    """A history whose training loss is ``values`` and validation loss 1.1 times it."""
    loss = np.asarray(values, dtype=float)
    return pd.DataFrame(
        {"epoch": np.arange(1, loss.size + 1), "loss": loss, "val_loss": loss * 1.1}
    )


def test_divergence_epoch_non_finite_far_above_the_untrained_loss_and_healthy_runs() -> None:
    untrained = 0.69
    assert divergence_epoch(losses([0.7, 0.5, np.nan, np.inf]), untrained) == 3
    # ends at 3.0 > 1.25 x 0.69 = 0.8625: diverged from the first epoch above it (epoch 2)
    assert divergence_epoch(losses([0.7, 1.2, 1.5, 3.0]), untrained) == 2
    # a healthy 3-epoch warm-up (loss creeping up a little), a run that never learns and a
    # bouncing run that recovers are not divergence
    assert divergence_epoch(losses([0.693, 0.695, 0.699]), untrained) is None
    assert divergence_epoch(losses([0.69, 0.70, 0.69]), untrained) is None
    assert divergence_epoch(losses([0.7, 5.0, 0.3]), untrained) is None


def test_a_run_that_blew_up_in_its_first_epoch_is_judged_against_the_untrained_model() -> None:
    """Issue 21's Adam-at-10 seeds: first epoch 12-22, last 1.0-3.4, untrained 0.69.
    Against the first epoch (the old rule) they looked like learning; they diverged."""
    for first, last in ((12.0, 1.0), (22.0, 3.4)):
        history = losses([first, 5.0, last])
        assert divergence_epoch(history, 0.69) == 1
        assert divergence_epoch(history, float("nan")) is None  # no reference: first epoch


def test_setting_accuracy_interval_stays_inside_zero_and_one() -> None:
    """2 seeds at 0.5 and 0.6: the plain t-interval is 0.55 ± 12.706 · 0.05 = -0.085 to 1.185."""
    from lrstudy.evaluation import setting_metrics

    per_seed = {0: {"loss": 0.5, "accuracy": 0.5}, 1: {"loss": 0.4, "accuracy": 0.6}}
    accuracy = setting_metrics(per_seed)["test_accuracy"]
    assert 0 < accuracy["ci_low"] < 0.5 and 0.6 < accuracy["ci_high"] < 1
    loss = setting_metrics(per_seed)["test_loss"]
    assert loss["ci_low"] < 0  # a loss keeps the plain t-interval: 0.45 ± 12.7 * 0.05


def test_a_training_history_reads_as_a_frame_divergence_epoch_accepts() -> None:
    """The sweep judges each member's history dict: a run that blows up is flagged at the
    first epoch past 1.25 x its untrained loss (before, the dict had no epoch column and a
    diverging sweep member raised KeyError)."""
    from lrstudy.evaluation import history_frame

    history = {"loss": [0.7, 0.9, 1.5, 3.0], "val_loss": [0.7, 0.8, 1.0, 2.0]}
    frame = history_frame(history)
    assert list(frame["epoch"]) == [1, 2, 3, 4]
    assert divergence_epoch(frame, 0.69) == 2  # 0.9 > 1.25 x 0.69 = 0.8625
    healthy = history_frame({"loss": [0.7, 0.5], "val_loss": [0.7, 0.6]})
    assert divergence_epoch(healthy, 0.69) is None
