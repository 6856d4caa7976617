from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lrstudy.config import parse_config
from lrstudy.contract import HISTORY_KEYS
from lrstudy.data import generate, split
from lrstudy.report import read_live_history
from lrstudy.training import make_datasets, train_seed

from .conftest import tiny_params


@pytest.fixture(scope="module")
def small(default_params):
    params = tiny_params(default_params)
    params["data"]["n_samples"] = 400
    config = parse_config(params)
    return config, split(generate(config.data), config.split)


def test_short_training_run_lowers_the_loss(small) -> None:
    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=40, lr=0.05, batch_size=32)
    _, history = train_seed(spec, config.model, 0, parts["train"], parts["val"])
    assert set(history) == set(HISTORY_KEYS)
    assert all(len(values) == 40 for values in history.values())
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_same_seed_gives_identical_history_and_weights(small) -> None:
    config, parts = small
    spec = config.run("lr_medium")
    model_a, history_a = train_seed(spec, config.model, 3, parts["train"], parts["val"])
    model_b, history_b = train_seed(spec, config.model, 3, parts["train"], parts["val"])
    _, history_c = train_seed(spec, config.model, 4, parts["train"], parts["val"])
    assert history_a == history_b
    for weight_a, weight_b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(weight_a, weight_b)
    assert history_a["loss"] != history_c["loss"]


def test_logged_learning_rate_is_the_optimizers(small) -> None:
    config, parts = small
    spec = config.run("lr_medium")
    model, history = train_seed(spec, config.model, 0, parts["train"], parts["val"])
    assert history["learning_rate"] == [pytest.approx(0.005, rel=1e-7)] * spec.epochs
    assert float(model.optimizer.learning_rate) == pytest.approx(history["learning_rate"][-1])


def test_input_pipeline_is_seeded_and_reshuffles_each_epoch(small) -> None:
    _, parts = small
    train_a, _ = make_datasets(parts["train"], parts["val"], batch_size=8, seed=1)
    train_b, _ = make_datasets(parts["train"], parts["val"], batch_size=8, seed=1)
    first_epoch = np.concatenate([x.numpy() for x, _ in train_a])
    second_epoch = np.concatenate([x.numpy() for x, _ in train_a])
    np.testing.assert_array_equal(first_epoch, np.concatenate([x.numpy() for x, _ in train_b]))
    assert not np.array_equal(first_epoch, second_epoch)
    # Every row appears exactly once per epoch.
    assert sorted(map(tuple, first_epoch)) == sorted(map(tuple, parts["train"].x))


def test_dvclive_logs_hold_the_history(small, tmp_path) -> None:
    from lrstudy.training import live_logger

    config, parts = small
    spec = config.run("lr_medium")
    _, history = train_seed(
        spec, config.model, 0, parts["train"], parts["val"], [live_logger(tmp_path / "seed_0")]
    )
    logged = read_live_history(tmp_path / "seed_0")
    assert list(logged["epoch"]) == list(range(1, spec.epochs + 1))
    for key in HISTORY_KEYS:
        np.testing.assert_allclose(logged[key], history[key], rtol=1e-12)
    assert not (tmp_path / "seed_0" / "dvc.yaml").exists()
