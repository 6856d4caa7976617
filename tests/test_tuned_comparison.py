"""The tuned comparison on synthetic evaluation tables, and ``at_rate``'s scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lrstudy.config import parse_config
from lrstudy.training import at_rate
from lrstudy.tuned_comparison import tuned_entries, tuned_markdown, tuned_table

SEEDS = list(range(20))


def tuned_entry(test: np.ndarray, val: float, lr: float, decades: float) -> dict:
    """What ``read_tuned`` gives for one setting."""
    evaluation = pd.DataFrame(
        {"seed": SEEDS, "lr": lr, "val_accuracy": val, "test_accuracy": test, "diverged": False}
    )
    selection = {
        "given_lr": 0.05,
        "tuned_lr": lr,
        "edge": None,
        "sensitivity": {"low": lr, "high": lr * 10**decades, "decades": decades},
    }
    return {"selection": selection, "evaluation": evaluation, "curve": None}


def test_verdicts_against_the_best_tuned_setting() -> None:
    noise = np.random.default_rng(0).normal(0, 0.001, 20)
    base = 0.95 + noise
    tuned = {
        "best": tuned_entry(base, 0.97, 0.01, 1.0),
        "twin": tuned_entry(base + 0.0005, 0.96, 0.02, 2.0),  # inside ±0.005
        "bad": tuned_entry(base - 0.05, 0.90, 0.1, 0.5),  # far below
        "noisy": tuned_entry(base + np.random.default_rng(1).normal(0, 0.02, 20), 0.95, 0.1, 0),
    }
    table = tuned_table(tuned, margin=0.005).set_index("setting")
    assert table.loc["best", "reference"]
    assert table.loc["twin", "verdict"] == "equivalent"
    assert table.loc["bad", "verdict"] == "worse"
    assert table.loc["noisy", "verdict"] == "inconclusive"
    assert table.loc["noisy", "seeds_needed"] > 20
    text = tuned_markdown(table.reset_index(), 0.005)
    assert "**best** at base rate 0.01" in text
    assert "- Equivalent within ±0.005 (two one-sided tests, Holm-adjusted): twin +0.0005" in text
    assert "- Worse (paired permutation test, Holm-adjusted): bad -0.0500" in text
    assert "- Inconclusive at 20 seeds: noisy" in text and "seeds for a verdict)" in text
    assert "least fussy first" in text and "2 decades: twin; 1 decade: best" in text
    entries = tuned_entries(table.reset_index(), 0.005)
    assert entries["best"]["vs_best"] == {"is_best": True}
    assert entries["bad"]["vs_best"]["verdict"] == "worse"
    assert entries["noisy"]["vs_best"]["seeds_needed"] == table.loc["noisy", "seeds_needed"]
    assert entries["twin"]["good_rates"] == {"low": 0.02, "high": 2.0, "decades": 2.0}


def test_the_reference_is_chosen_on_validation_not_test() -> None:
    tuned = {
        "val_best": tuned_entry(np.full(20, 0.90), 0.99, 0.01, 1.0),
        "test_best": tuned_entry(np.full(20, 0.95), 0.90, 0.01, 1.0),
    }
    table = tuned_table(tuned, margin=0.005).set_index("setting")
    assert table.loc["val_best", "reference"] and not table.loc["test_best", "reference"]


def test_at_rate_scales_rate_valued_schedule_keys(default_params) -> None:
    config = parse_config(default_params)
    cyclic = at_rate(config.run("cyclic"), 0.005)  # given 0.05, min_lr 0.005
    assert cyclic.lr == 0.005 and cyclic.schedule.min_lr == pytest.approx(0.0005)
    assert cyclic.schedule.step_size_epochs == 5  # durations stay
    linear = at_rate(config.run("linear_decay"), 0.5)  # end_lr 0.0005 -> 0.005
    assert linear.schedule.end_lr == pytest.approx(0.005)
    constant = at_rate(config.run("lr_medium"), 0.1)
    assert constant.lr == 0.1 and constant.schedule == config.run("lr_medium").schedule


def test_identical_tuned_runs_are_compared_once() -> None:
    """Constant settings that differ only in the rate tuning replaces end as one run."""
    base = 0.95 + np.random.default_rng(2).normal(0, 0.002, 20)
    tuned = {
        "large": tuned_entry(base - 0.01, 0.95, 0.01, 0.5),
        "best": tuned_entry(base, 0.97, 0.03, 1.0),
        "small": tuned_entry(base - 0.01, 0.95, 0.01, 0.5),
        "medium": tuned_entry(base - 0.01, 0.95, 0.01, 0.5),
    }
    table = tuned_table(tuned, margin=0.005).set_index("setting")
    assert table["same_as"].dropna().to_dict() == {"small": "large", "medium": "large"}
    assert table.loc["small", "verdict"] == table.loc["large", "verdict"] == "worse"
    # one comparison, not three: Holm over a family of 1 leaves its p as it is
    alone = tuned_table({"large": tuned["large"], "best": tuned["best"]}, 0.005)
    assert table.loc["large", "p_holm"] == alone.set_index("setting").loc["large", "p_holm"]
    text = tuned_markdown(table.reset_index(), 0.005)
    assert "large (= small, medium: the same run once tuned) -0.0100" in text
    assert "0.5 decades: large, medium, small" in text
    entries = tuned_entries(table.reset_index(), 0.005)
    assert entries["medium"]["same_as"] == "large" and entries["large"]["same_as"] is None


def test_summary_and_metrics_write_the_same_rounded_mean() -> None:
    """A mean that is a tie at the fifth decimal (0.98875) but whose float sum falls just
    below it: the summary's table and metrics.json both show the same four decimals (the
    README quotes metrics.json; before, the summary rounded the raw mean down)."""
    test = np.array([0.9875, 0.99] * 10)
    assert float(np.mean(test)) < 0.98875  # the float sum lands below the tie
    tuned = {
        "a": tuned_entry(test, 0.99, 0.1, 1.0),
        "b": tuned_entry(np.full(20, 0.99), 0.995, 0.03, 1.0),
    }
    table = tuned_table(tuned, margin=0.005)
    entries = tuned_entries(table, 0.005)
    shown = f"{entries['a']['test_accuracy']:.4f}"
    text = tuned_markdown(table, 0.005)
    assert f"| {shown} |" in text
    # the TOST p (about 1e-11 here) keeps its digits: rounded to 6 places it would read 0
    assert 0 < table["tost_p_holm"].min() < 1e-6
    assert "(p = 0)" not in text and "| 0 |" not in text
