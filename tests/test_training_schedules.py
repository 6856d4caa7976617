"""Schedules inside Keras training: the rate the optimizer really uses, per epoch and step.

The reference for every logged rate is the pure schedule function (``lrstudy.schedules``),
itself checked against independent references in test_schedules.py; plateau's reductions
are checked against Keras' documented ReduceLROnPlateau semantics with scripted losses.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lrstudy.clock import steps_per_epoch
from lrstudy.config import Config, PlateauSchedule, parse_config
from lrstudy.data import generate, split, write_dataset
from lrstudy.fit_loop import current_learning_rate
from lrstudy.rate_plan import plan_callbacks, schedule_plan, step_rates
from lrstudy.runlog import step_rates_table
from lrstudy.schedules import rate_function
from lrstudy.training import train_setting

from .conftest import committed_params, tiny_params


def float32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


@pytest.fixture(scope="module")
def tiny(default_params):
    """The default settings and epochs on 200 samples (112 train rows: 2 steps per epoch at
    batch 100), one seed."""
    params = tiny_params(default_params)
    params["train"]["epochs"] = default_params["train"]["epochs"]
    config = parse_config(params)
    return params, config, split(generate(config.data), config.split)


# --- Plateau: scripted val_loss, Keras' semantics ------------------------------------------


def drive_plateau(
    config: Config, schedule: PlateauSchedule, lr: float, val_losses: list[float]
) -> list[float]:
    """Run the plateau callbacks over scripted epochs; return the logged rate per epoch."""
    from lrstudy.model import build_model, compile_model
    from lrstudy.runtime import import_keras

    import_keras()
    model = build_model(config.model, n_features=2, n_classes=config.data.n_classes)
    compile_model(model, config.model, lr)
    callbacks = plan_callbacks(schedule_plan(schedule, lr, 1, len(val_losses)))
    for callback in callbacks:
        callback.set_model(model)
        callback.on_train_begin()
    logged = []
    for epoch, val_loss in enumerate(val_losses):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        logged.append(current_learning_rate(model.optimizer))  # the rate the epoch trains at
        for callback in callbacks:
            callback.on_epoch_end(epoch, {"val_loss": val_loss})
    return logged


# Keras (3.x) per epoch end: if in cooldown, count it down and reset wait; then an
# improvement is val_loss + min_delta < best (best=None: the first value always is); else,
# outside cooldown, wait += 1 and at wait >= patience the rate becomes
# max(rate * factor, min_lr) (only if rate > min_lr), cooldown restarts and wait resets.
VAL_LOSSES = [1.0, 0.995, 0.99, 0.98, 0.985, 0.975, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
# patience 2, min_delta 0.01, factor 0.5, min_lr 0.02, lr 0.1:
# e0 best=1.0 | e1 0.995 not < 0.99: wait 1 | e2 wait 2 → cut to 0.05, cooldown
# e3 cooldown ends; 0.98 improves (0.99 < 1.0): best 0.98 | e4 wait 1 | e5 0.975 is within
# min_delta: wait 2 → cut to 0.025 | e6 cooldown ends ...
EXPECTED = {
    # cooldown 1: e6 counts the cooldown down and, no longer in it, waits (1); e7 → 0.02
    # (0.0125 floored at min_lr); e8 wait 1, e9 wait 2 but the rate is at min_lr: no cut.
    1: [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02],
    # cooldown 2: e6 still in cooldown (2 → 1), e7 cooldown ends and waits 1, e8 cuts.
    2: [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02],
}


@pytest.mark.parametrize("cooldown", [1, 2])
def test_plateau_reductions_land_on_keras_epochs(config, cooldown) -> None:
    schedule = PlateauSchedule(
        type="plateau", factor=0.5, patience=2, min_delta=0.01, cooldown=cooldown, min_lr=0.02
    )
    logged = drive_plateau(config, schedule, 0.1, VAL_LOSSES)
    np.testing.assert_array_equal(float32(logged), float32(EXPECTED[cooldown]))


def test_plateau_without_min_delta_counts_small_gains(config) -> None:
    # min_delta 0: 0.995 and 0.99 are improvements, so the first cut waits for e4.
    schedule = PlateauSchedule(type="plateau", factor=0.5, patience=2, min_delta=0, min_lr=0)
    logged = drive_plateau(config, schedule, 0.1, [1.0, 0.995, 0.99, 0.99, 0.99, 0.99, 0.99])
    np.testing.assert_array_equal(float32(logged), float32([0.1] * 5 + [0.05, 0.05]))


# --- Short real training runs: the logged rate is the schedule's ------------------------


def per_step(spec) -> bool:
    return spec.schedule.per == "step"


# Every default setting but plateau, which reacts to training (scripted tests above).
DEFAULT_SETTINGS = [
    name
    for name, setting in committed_params()["settings"].items()
    if setting.get("schedule", {}).get("type") != "plateau"
]


@pytest.mark.parametrize("loop", ["fast", "fit"])
@pytest.mark.parametrize("name", DEFAULT_SETTINGS)
def test_default_setting_logs_its_formula(tiny, name, loop) -> None:
    """Each default setting, trained for its full epochs on tiny data, logs its formula."""
    _, config, parts = tiny
    spec = replace(config.run(name), loop=loop)
    per_epoch = steps_per_epoch(len(parts["train"]), spec.batch_size)
    n_classes = config.data.n_classes
    result = next(
        train_setting(
            replace(spec, seeds=range(1)),
            config.model,
            parts["train"],
            parts["val"],
            n_classes=n_classes,
        )
    )
    history = result.history
    expected = step_rates(spec.schedule, spec.lr, per_epoch, spec.epochs)[::per_epoch]
    assert len(history["learning_rate"]) == spec.epochs
    # The optimizer holds float32: equal to the formula rounded to float32, every epoch.
    np.testing.assert_array_equal(float32(history["learning_rate"]), float32(expected))
    # Every optimizer step, read from the optimizer just before the step ran.
    used = result.step_rates
    steps = range(spec.epochs * per_epoch)
    assert len(used) == len(steps)
    rate = rate_function(spec.schedule, spec.lr, per_epoch, spec.epochs)
    ticks = [step if per_step(spec) else step // per_epoch for step in steps]
    np.testing.assert_array_equal(float32(used), float32([rate(t) for t in ticks]))
    assert np.isfinite(history["loss"]).all()


def test_per_step_schedule_changes_the_rate_within_epochs(tiny) -> None:
    _, config, parts = tiny
    spec = config.run("one_cycle")
    n_classes = config.data.n_classes
    result = next(
        train_setting(
            replace(spec, seeds=range(1)),
            config.model,
            parts["train"],
            parts["val"],
            n_classes=n_classes,
        )
    )
    history = result.history
    per_epoch = steps_per_epoch(len(parts["train"]), spec.batch_size)
    used = [float(rate) for rate in result.step_rates]
    # Within each epoch the steps' rates differ, and the epoch's logged rate is the first.
    assert all(used[e * per_epoch] != used[e * per_epoch + 1] for e in range(spec.epochs))
    assert history["learning_rate"] == [used[e * per_epoch] for e in range(spec.epochs)]


def test_steps_table_format() -> None:
    text = step_rates_table([0.5, 0.25, 0.125], 2)
    assert text == (
        "step\tepoch_fraction\tlearning_rate\n0\t0.0\t0.5\n1\t0.5\t0.25\n2\t1.0\t0.125\n"
    )


# --- The train stage: per-step file, and bad schedules stop it before training ------------


@pytest.fixture
def stage_inputs(tiny, tmp_path):
    params, _, parts = tiny
    data = tmp_path / "data"
    write_dataset(data / "train.csv", parts["train"])
    write_dataset(data / "val.csv", parts["val"])
    write_dataset(data / "test.csv", parts["test"])
    return copy.deepcopy(params), data, tmp_path


def run_stage(params: dict, setting: str, data: Path, root: Path) -> int:
    from lrstudy.stages.train import main

    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return main(
        [
            "--params",
            str(path),
            "--setting",
            setting,
            "--data",
            str(data),
            "--models",
            str(root / "models" / setting),
            "--logs",
            str(root / "logs" / setting),
            "--evaluation",
            str(root / "evaluation" / setting),
        ]
    )


def test_train_stage_writes_the_per_step_rates(stage_inputs) -> None:
    params, data, root = stage_inputs
    params["settings"] = {
        "cyclic": {**params["settings"]["cyclic"], "epochs": 4},
        "step": {**params["settings"]["step"], "epochs": 2},
    }
    params["settings"]["cyclic"]["schedule"] = {
        "type": "cyclic",
        "min_lr": 0.005,
        "step_size": 3,
    }
    assert run_stage(params, "cyclic", data, root) == 0
    table = pd.read_csv(root / "logs/cyclic/seed_0/learning_rate_steps.tsv", sep="\t")
    assert list(table.columns) == ["step", "epoch_fraction", "learning_rate"]
    per_epoch = 2  # 112 train rows, batch 100
    assert list(table["step"]) == list(range(4 * per_epoch))
    np.testing.assert_array_equal(table["epoch_fraction"], table["step"] / per_epoch)
    # 0.005 up to 0.05 in 3 steps and back: Smith's triangle, as the optimizer used it.
    expected = [0.005, 0.02, 0.035, 0.05, 0.035, 0.02, 0.005, 0.02]
    np.testing.assert_array_equal(float32(table["learning_rate"]), float32(expected))
    # A per-epoch schedule writes no per-step file.
    assert run_stage(params, "step", data, root) == 0
    assert (root / "logs/step/seed_0").is_dir()
    assert not (root / "logs/step/seed_0/learning_rate_steps.tsv").exists()


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"type": "one_cycle", "pct_start": 1.5}, "settings.bad.schedule.pct_start = 1.5"),
        ({"type": "step", "every": 5, "factor": -0.5}, "settings.bad.schedule.factor = -0.5"),
        (
            {"type": "cyclic", "min_lr": 0.1, "max_lr": 0.01, "step_size": 4},
            "settings.bad.schedule.max_lr = 0.01",
        ),
        ({"type": "cosinus"}, "settings.bad.schedule.type = 'cosinus'"),
    ],
    ids=["pct_start", "factor", "max_lr", "type"],
)
def test_bad_schedule_stops_the_stage_before_training(
    stage_inputs, monkeypatch, capsys, schedule, fragment
) -> None:
    import lrstudy.stages.train as stage

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(stage, "train_and_evaluate", no_training)
    params, data, root = stage_inputs
    params["settings"]["bad"] = {"lr": 0.05, "epochs": 3, "schedule": schedule}
    assert run_stage(params, "bad", data, root) == 2
    assert fragment in capsys.readouterr().err
    assert not any((root / part).exists() for part in ("models", "logs", "evaluation"))


def test_ctrl_c_stops_the_stage_with_one_line_and_status_130(
    stage_inputs, monkeypatch, capsys
) -> None:
    import lrstudy.stages.train as stage

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "train_and_evaluate", interrupted)
    params, data, root = stage_inputs
    assert run_stage(params, "lr_medium", data, root) == 130
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("interrupted: ")
    assert "Traceback" not in error
    # Nothing half-written: no output folder and nothing staged beside where it would go.
    for folder in (root / part for part in ("models", "logs", "evaluation")):
        assert not folder.exists() or list(folder.iterdir()) == []
