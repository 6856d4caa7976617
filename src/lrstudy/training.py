"""Train one setting for one seed: seeded, deterministic, fed by ``tf.data``.

The per-epoch history carries ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and
``learning_rate``, the rate the optimizer really used in that epoch (read from the
optimizer, not recomputed from the schedule).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.config import ModelConfig, RunSpec
from lrstudy.data import Dataset
from lrstudy.model import build_model, compile_model, import_keras
from lrstudy.schedules import keras_callbacks

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


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


def learning_rate_recorder() -> keras.callbacks.Callback:
    """A callback that puts the rate used during each epoch into the epoch's logs.

    The rate is read when the epoch begins (after any scheduler callback placed before it
    has set it), so a reduce-on-plateau cut at an epoch's end shows from the next epoch.
    """
    import keras

    class LearningRateRecorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.rate = current_learning_rate(self.model.optimizer)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is not None:
                logs["learning_rate"] = self.rate

    return LearningRateRecorder()


def train_seed(
    spec: RunSpec,
    model_config: ModelConfig,
    seed: int,
    train: Dataset,
    val: Dataset,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train a fresh model for one setting and seed; return it and its per-epoch history."""
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    train_ds, val_ds = make_datasets(train, val, spec.batch_size, seed)
    model = build_model(model_config, n_features=train.x.shape[1])
    compile_model(model, model_config, spec.lr)
    callbacks = [*keras_callbacks(spec.schedule), learning_rate_recorder(), *extra_callbacks]
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
