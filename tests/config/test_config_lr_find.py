"""Validation of the sweep, lr_find and suggested sections (issue 12)."""

from __future__ import annotations

import pytest

from lrstudy.config import ConfigError, parse_config


def problems_for(params: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(params)
    return caught.value.problems


def test_default_sections(config) -> None:
    assert (config.sweep.min_lr, config.sweep.max_lr, config.sweep.per_decade) == (1e-5, 1.0, 3)
    lr_find = config.lr_find
    assert (lr_find.start_lr, lr_find.end_lr, lr_find.steps) == (1e-7, 10.0, 100)
    assert lr_find.diverge_factor == 4.0
    assert config.suggested["lr_valley"].lr.suggestion == "valley"
    assert config.setting_names[-1] == "lr_valley"


def test_suggested_setting_resolves_from_the_suggestions(config) -> None:
    spec = config.with_suggestions({"minimum": 0.03, "steep": 0.5, "valley": 0.02}).run("lr_valley")
    assert spec.lr == 0.02
    # the train defaults, as every setting gets them
    train = config.train
    expected_seeds = tuple(range(train.seed, train.seed + train.seeds))
    assert (spec.batch_size, spec.epochs, spec.seeds) == (
        train.batch_size,
        train.epochs,
        expected_seeds,
    )
    assert spec.schedule.type == "constant"


def test_suggested_setting_without_suggestions_says_to_run_lr_find(config) -> None:
    with pytest.raises(ConfigError) as caught:
        config.run("lr_valley")
    assert caught.value.problems == [
        "suggested.lr_valley.lr: the rate comes from lr_find; run the lr_find stage (dvc repro)"
    ]


def test_suggestion_the_range_test_did_not_make(config) -> None:
    with pytest.raises(ConfigError) as caught:
        config.with_suggestions({"minimum": None, "steep": None, "valley": None}).run("lr_valley")
    (problem,) = caught.value.problems
    assert problem.startswith("suggested.lr_valley.lr.suggestion = 'valley': ")
    assert "no such suggestion" in problem


BAD = [
    # (section, key, value, fragments of the one message)
    ("sweep", "min_lr", 2.0, ["sweep", "max_lr (1.0) must be greater than min_lr (2.0)"]),
    ("sweep", "min_lr", 1.0, ["max_lr (1.0) must be greater than min_lr (1.0)"]),
    ("sweep", "per_decade", 0, ["sweep.per_decade = 0", "greater than or equal to 1"]),
    ("sweep", "max_lr", -1, ["sweep.max_lr = -1", ">= 1.17549e-38"]),
    ("lr_find", "end_lr", 1e-8, ["end_lr (1e-08) must be greater than start_lr (1e-07)"]),
    ("lr_find", "steps", 3, ["lr_find.steps = 3", "greater than or equal to 10"]),
    ("lr_find", "diverge_factor", 1, ["lr_find.diverge_factor = 1", "greater than 1"]),
    ("lr_find", "smoothing", 1.0, ["lr_find.smoothing = 1.0", "less than 1"]),
]


@pytest.mark.parametrize(("section", "key", "value", "fragments"), BAD)
def test_bad_sweep_and_lr_find_values(params, section, key, value, fragments) -> None:
    params[section][key] = value
    (problem,) = problems_for(params)
    for fragment in fragments:
        assert fragment in problem


def test_unknown_suggestion_name(params) -> None:
    params["suggested"]["lr_valley"]["lr"]["suggestion"] = "slope"
    assert problems_for(params) == [
        "suggested.lr_valley.lr.suggestion = 'slope': unknown suggestion; "
        "allowed: minimum, steep, valley"
    ]


def test_unknown_source(params) -> None:
    params["suggested"]["lr_valley"]["lr"]["from"] = "sweep"
    (problem,) = problems_for(params)
    assert problem.startswith("suggested.lr_valley.lr.from = 'sweep': ")
    assert "'lr_find'" in problem


def test_typo_in_the_lr_mapping_names_the_allowed_keys(params) -> None:
    params["suggested"]["lr_valley"]["lr"]["frm"] = "lr_find"
    assert (
        "suggested.lr_valley.lr: unknown key 'frm' (did you mean 'from'?); "
        "allowed keys: from, suggestion"
    ) in problems_for(params)


def test_from_lr_find_without_an_lr_find_section(params) -> None:
    del params["lr_find"]
    assert problems_for(params) == [
        "suggested.lr_valley.lr.from = 'lr_find': params.yaml has no lr_find section to run "
        "the range test with"
    ]


def test_range_test_rate_under_settings_points_to_suggested(params) -> None:
    params["settings"]["lr_medium"]["lr"] = {"from": "lr_find", "suggestion": "valley"}
    (problem,) = problems_for(params)
    assert problem.startswith("settings.lr_medium.lr = {'from': 'lr_find'")
    assert "goes under 'suggested'" in problem


def test_fixed_rate_under_suggested_points_to_settings(params) -> None:
    params["suggested"]["lr_valley"]["lr"] = 0.01
    assert problems_for(params) == [
        "suggested.lr_valley.lr = 0.01: must be {from: lr_find, suggestion: minimum | steep | "
        "valley}; a fixed rate goes under settings"
    ]


def test_suggested_name_taken_by_a_setting(params) -> None:
    params["suggested"]["lr_medium"] = params["suggested"].pop("lr_valley")
    assert problems_for(params) == ["suggested.lr_medium: the name is taken by settings.lr_medium"]


def test_every_problem_at_once(params) -> None:
    params["sweep"]["per_decade"] = 0
    params["lr_find"]["steps"] = 1
    params["suggested"]["lr_valley"]["lr"]["suggestion"] = "slope"
    assert len(problems_for(params)) == 3


def test_sections_are_optional_without_suggested_settings(params) -> None:
    for key in ("sweep", "lr_find", "suggested"):
        del params[key]
    config = parse_config(params)
    assert config.sweep is None and config.lr_find is None and config.suggested == {}


def test_schedule_is_checked_against_the_suggested_rate(params) -> None:
    params["suggested"]["lr_valley"]["schedule"] = {
        "type": "cyclic",
        "min_lr": 0.01,
        "step_size": 10,
    }
    config = parse_config(params)  # the rate is not known yet
    assert config.with_suggestions({"valley": 0.05}).run("lr_valley").schedule.min_lr == 0.01
    with pytest.raises(ConfigError) as caught:
        config.with_suggestions({"valley": 0.005}).run("lr_valley")
    (problem,) = caught.value.problems
    assert problem.startswith("suggested.lr_valley.schedule: min_lr = 0.01 must be below max_lr")
    assert "(0.005)" in problem
