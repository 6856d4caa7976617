"""A setting's training and evaluation, as the train stage runs them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lrstudy.config import parse_config
from lrstudy.data import generate, split
from lrstudy.evaluation import evaluate_model, predict_grid
from lrstudy.model import load_model
from lrstudy.runlog import (
    STEP_RATES_FILE,
    model_path,
    read_evaluation,
    read_live_history,
    seed_log_dir,
)
from lrstudy.setting_training import train_and_evaluate

from .conftest import tiny_params


def test_each_saved_model_is_the_one_evaluated(default_params, tmp_path) -> None:
    """The evaluation written equals a fresh load of each saved model, evaluated anew."""
    config = parse_config(tiny_params(default_params))
    data = split(generate(config.data), config.split)
    spec = replace(config.run("one_cycle"), seeds=range(3, 5))  # per step: a rates table
    folders = {part: tmp_path / part for part in ("models", "logs", "evaluation")}
    for folder in folders.values():
        folder.mkdir()
    lines: list[str] = []
    metrics = train_and_evaluate(spec, config, data, folders, progress=lines.append)
    assert len(lines) == 2
    written, boundaries = read_evaluation(folders["evaluation"])
    assert written == metrics
    points = config.evaluate.grid.points
    assert boundaries.shape == (2, points, points)
    for layer, seed in enumerate(spec.seeds):
        model = load_model(model_path(folders["models"], seed))
        fresh = evaluate_model(model, data["test"])
        assert written["test_accuracy"]["seeds"][f"seed_{seed}"] == round(fresh["accuracy"], 6)
        np.testing.assert_array_equal(boundaries[layer], predict_grid(model, config.evaluate.grid))
        log_dir = seed_log_dir(folders["logs"], seed)
        assert len(read_live_history(log_dir)) == spec.epochs
        assert (log_dir / STEP_RATES_FILE).is_file()
