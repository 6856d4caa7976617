"""The ``tune`` and ``compare`` sections: defaults valid, tuning seeds disjoint, bounds."""

from __future__ import annotations

import pytest

from lrstudy.config import ConfigError, parse_config


def problems_for(params: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(params)
    return caught.value.problems


def test_default_tuning_seeds_miss_the_evaluation_seeds(config) -> None:
    tuning = set(config.tune.tuning_seeds)
    assert tuning and not tuning & set(config.train_seeds)
    assert config.compare.equivalence_margin == 0.005


@pytest.mark.parametrize("seed", [0, 19, 16])
def test_overlapping_tuning_seeds_are_one_clear_line(params, seed) -> None:
    params["tune"].update({"seed": seed, "seeds": 4})
    (problem,) = problems_for(params)
    assert problem.startswith(f"tune.seed = {seed}: the tuning seeds ")
    assert "overlap the evaluation seeds 0..19" in problem


def test_a_setting_with_more_seeds_widens_the_evaluation_block(params) -> None:
    params["tune"].update({"seed": 25, "seeds": 2})
    parse_config(params)
    params["settings"]["lr_medium"]["seeds"] = 30
    (problem,) = problems_for(params)
    assert "evaluation seeds 0..29" in problem


def test_tuning_seeds_just_past_the_evaluation_block_are_fine(params) -> None:
    params["tune"].update({"seed": 20, "seeds": 1})
    parse_config(params)


def test_tune_grid_bounds_must_increase(params) -> None:
    params["tune"].update({"min_lr": 0.1, "max_lr": 0.01})
    (problem,) = problems_for(params)
    assert (
        problem.startswith("tune: ")
        and "max_lr (0.01) must be greater than min_lr (0.1)" in problem
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("per_decade", 0), ("seeds", 0), ("margin", -0.1), ("margin", True), ("seed", -1)],
)
def test_bad_tune_values_name_the_key(params, key, value) -> None:
    params["tune"][key] = value
    problems = problems_for(params)
    assert len(problems) == 1 and problems[0].startswith(f"tune.{key}")


@pytest.mark.parametrize("value", [0, 1, -0.01, "0.005"])
def test_bad_equivalence_margin_names_the_key(params, value) -> None:
    params["compare"]["equivalence_margin"] = value
    (problem,) = problems_for(params)
    assert problem.startswith("compare.equivalence_margin")
