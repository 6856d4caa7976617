"""Train one setting for one seed: seeded, deterministic, fed by ``tf.data``.

The per-epoch history carries ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and
``learning_rate``, the rate the optimizer really used in that epoch (read from the
optimizer, not recomputed from the schedule). For a schedule that changes the rate every
optimizer step (``per: step``) that is the rate of the epoch's first step, and
``learning_rate_step_recorder`` keeps the rate of every step.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.config import ModelConfig, RunSpec
from lrstudy.contract import HISTORY_KEYS
from lrstudy.data import Dataset
from lrstudy.model import build_model, compile_model, import_keras
from lrstudy.schedules import keras_callbacks, steps_per_epoch

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


def make_datasets(
    train: Dataset, val: Dataset, batch_size: int, seed: int
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Cached, per-epoch reshuffled (seeded), batched, prefetched train and val pipelines."""
    import_keras()
    import tensorflow as tf

    train_ds = (
        tf.data.Dataset.from_tensor_slices((train.x, train.y.astype(np.float32)))
        .cache()
        .shuffle(len(train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = (
        tf.data.Dataset.from_tensor_slices((val.x, val.y.astype(np.float32)))
        .batch(max(batch_size, 1024))
        .cache()
        .prefetch(tf.data.AUTOTUNE)
    )
    return train_ds, val_ds


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the optimizer applies at its next step."""
    import keras

    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def learning_rate_recorder(per_step: bool = False) -> keras.callbacks.Callback:
    """A callback that puts the rate used during each epoch into the epoch's logs.

    The rate is read from the optimizer after any scheduler callback placed before it has
    set it: when the epoch begins, or, with ``per_step``, just before the epoch's first
    optimizer step (a per-step scheduler sets the rate there). A reduce-on-plateau cut at an
    epoch's end therefore shows from the next epoch.
    """
    import keras

    class LearningRateRecorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.rate = current_learning_rate(self.model.optimizer)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is not None:
                logs["learning_rate"] = self.rate

    class FirstStepLearningRateRecorder(LearningRateRecorder):
        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            if batch == 0:
                self.rate = current_learning_rate(self.model.optimizer)

    return FirstStepLearningRateRecorder() if per_step else LearningRateRecorder()


def learning_rate_step_recorder() -> keras.callbacks.Callback:
    """A callback keeping ``(step, rate)`` for every optimizer step in its ``steps`` list.

    Both are read from the optimizer just before the step runs (``iterations``, the 0-based
    global step, and ``learning_rate``), after any scheduler callback placed before it. Pass
    it to ``train_seed`` in ``extra_callbacks``.
    """
    import keras

    class LearningRateStepRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.steps: list[tuple[int, float]] = []

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            optimizer = self.model.optimizer
            step = int(keras.ops.convert_to_numpy(optimizer.iterations))
            self.steps.append((step, current_learning_rate(optimizer)))

    return LearningRateStepRecorder()


def learning_rate_steps_table(steps: Sequence[tuple[int, float]], steps_per_epoch: int) -> str:
    """The per-step rates as a tab-separated table: ``step``, ``epoch_fraction``, ``learning_rate``.

    ``step`` is the 0-based global optimizer step and ``epoch_fraction`` is
    ``step / steps_per_epoch`` (0 at the first step of epoch 1); floats are written with
    ``repr`` so they read back exactly. The text depends only on its inputs.
    """
    lines = ["step\tepoch_fraction\tlearning_rate"]
    lines += [f"{step}\t{step / steps_per_epoch!r}\t{float(rate)!r}" for step, rate in steps]
    return "\n".join(lines) + "\n"


def train_seed(
    spec: RunSpec,
    model_config: ModelConfig,
    seed: int,
    train: Dataset,
    val: Dataset,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train a fresh model for one setting and seed; return it and its per-epoch history.

    The schedule's callbacks come first, then the learning-rate recorder, then
    ``extra_callbacks``, so every callback after the scheduler sees the rate it set. The
    schedule runs on ``ceil(len(train) / spec.batch_size)`` steps per epoch.
    """
    keras = import_keras()
    per_epoch = steps_per_epoch(len(train), spec.batch_size)
    schedule_callbacks = keras_callbacks(spec.schedule, spec.lr, per_epoch, spec.epochs)
    keras.utils.set_random_seed(seed)
    train_ds, val_ds = make_datasets(train, val, spec.batch_size, seed)
    model = build_model(model_config, n_features=train.x.shape[1])
    compile_model(model, model_config, spec.lr)
    recorder = learning_rate_recorder(per_step=spec.schedule.per == "step")
    callbacks = [*schedule_callbacks, recorder, *extra_callbacks]
    with warnings.catch_warnings():
        # Keras warns that fit's default shuffle=True is ignored for a tf.data input; the
        # pipeline shuffles itself (seeded, reshuffled every epoch).
        warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
        fitted = model.fit(
            train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=callbacks, verbose=0
        )
    history = {key: [float(value) for value in fitted.history[key]] for key in HISTORY_KEYS}
    return model, history


def live_logger(directory: str | Path) -> keras.callbacks.Callback:
    """A callback logging every history key per epoch with DVCLive under ``directory``.

    DVCLive's own Keras callback renames metrics (``val_loss`` → ``eval/loss``); this one
    keeps Keras' names so logs, history and reports agree.
    """
    import keras
    from dvclive import Live

    class LiveLogger(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.live = Live(dir=str(directory), dvcyaml=False, save_dvc_exp=False, report=None)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            for key in HISTORY_KEYS:
                self.live.log_metric(key, float((logs or {}).get(key, np.nan)))
            self.live.next_step()

        def on_train_end(self, logs: dict | None = None) -> None:
            self.live.end()

    return LiveLogger()
