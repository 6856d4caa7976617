"""End to end in one process: tuning rescues a setting whose fixed rate is far too small."""

from __future__ import annotations

import copy

import pytest

from lrstudy.config import parse_config
from lrstudy.data import generate, split
from lrstudy.sweep_training import train_grid
from lrstudy.tune_training import tune_setting
from lrstudy.tuned_comparison import tuned_table

pytestmark = pytest.mark.slow


def test_a_bad_fixed_rate_wins_after_tuning(default_params) -> None:
    params = copy.deepcopy(default_params)
    params["data"]["n_samples"] = 400
    params["train"].update({"epochs": 10, "seeds": 3})
    params["tune"].update({"min_lr": 1e-3, "max_lr": 0.1, "per_decade": 1, "seeds": 2})
    # "bad" is listed first: at equal validation accuracy the first setting is the best.
    params["settings"] = {"bad": {"lr": 1e-5}, "good": {"lr": 0.03}}
    config = parse_config(params)
    data = split(generate(config.data), config.split)
    fixed = {
        name: train_grid([config.run(name).lr], config, data, lambda _: None, config.run(name))
        for name in ("bad", "good")
    }
    # At its fixed rate the bad setting barely learns in 10 epochs.
    assert fixed["bad"]["test_accuracy"].mean() < fixed["good"]["test_accuracy"].mean() - 0.1
    tuned = {
        name: tune_setting(name, config, data, progress=lambda _: None) for name in ("bad", "good")
    }
    for result in tuned.values():
        assert result.selection["tuned_lr"] in (1e-3, 1e-2, 0.1)
        assert len(result.results) == 3 * 2 and list(result.evaluation["seed"]) == [0, 1, 2]
    bad = tuned["bad"].evaluation["test_accuracy"].mean()
    assert bad > fixed["bad"]["test_accuracy"].mean() + 0.1
    # Both are constant Adam: tuned on the same grid and seeds they pick the same rate and
    # train the same models, so the once-bad setting is the best, the other equivalent.
    entries = {
        name: {
            "selection": result.selection,
            "evaluation": result.evaluation,
            "curve": result.per_rate,
        }
        for name, result in tuned.items()
    }
    table = tuned_table(entries, config.compare.equivalence_margin).set_index("setting")
    assert table.loc["bad", "reference"]
    assert table.loc["good", "verdict"] == "equivalent"
