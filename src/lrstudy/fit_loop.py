"""The ``fit`` loop: ``keras.Model.fit`` on the population's batches, for per-batch callbacks.

A fresh model per seed, trained by Keras' own ``fit`` on a ``tf.data`` pipeline of the
batches of ``order_stream`` (each epoch's order drawn as it comes); the run's
``RatePlan`` sets the optimizer's rate through Keras callbacks
(``rate_plan.plan_callbacks``) and a recorder reads back the rate of every optimizer step.
Far slower than the population loop (``make bench``), but every Keras callback hook is
called. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.config import ModelConfig, RunSpec
from lrstudy.data import Dataset
from lrstudy.keras_optimizers import prodigy_class
from lrstudy.model import build_model, compile_model
from lrstudy.prodigy import STATE, effective_rate
from lrstudy.rate_plan import plan_callbacks, rate_plan
from lrstudy.runlog import AVERAGING_WEIGHT, EFFECTIVE_LR, HISTORY_KEYS, OPTIONAL_KEYS
from lrstudy.runtime import import_keras
from lrstudy.schedule_free import (
    averaging_weight,
    evaluated_weights,
    evaluation_callbacks,
    is_schedule_free,
)
from lrstudy.training_run import TrainingResult, order_stream

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


def make_datasets(
    train: Dataset, val: Dataset, batch_size: int, *, epochs: int, seed: int
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """``tf.data`` pipelines of ``epochs`` epochs of train batches, and of val.

    Epoch ``e`` visits the ``train`` rows in the order of ``order_stream(len(train), seed)``'s
    ``e``-th permutation (the numbers ``training_run.epoch_orders`` stacks, and the
    population loop uses), cut into batches of ``batch_size`` (the last one may be short).
    Each order is drawn when the pipeline reaches its epoch, so memory does not grow with
    ``epochs`` (all orders up front took 5.4 GB at 300,000 epochs). Validation is one batch.
    """
    import_keras()
    import tensorflow as tf

    n_rows = len(train)
    x = tf.constant(train.x, tf.float32)
    y = tf.constant(train.y.astype(np.float32))
    orders = tf.data.Dataset.from_generator(
        lambda: itertools.islice(order_stream(n_rows, seed), epochs),
        output_signature=tf.TensorSpec(shape=(n_rows,), dtype=tf.int32),
    )
    train_ds = (
        orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        .map(lambda rows: (tf.gather(x, rows), tf.gather(y, rows)))
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = tf.data.Dataset.from_tensors((val.x.astype(np.float32), val.y.astype(np.float32)))
    return train_ds, val_ds.cache()


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the optimizer applies at its next step."""
    keras = import_keras()

    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def optimizer_logs(optimizer: keras.optimizers.Optimizer, rate: float) -> dict[str, float]:
    """The optimizer's own per-epoch values (``runlog.OPTIMIZER_KEYS``), read from its state.

    Prodigy (``keras_optimizers.prodigy_class``): ``effective_lr``, its ``d`` variable
    times ``rate`` (``prodigy.effective_rate``); Keras' ``ScheduleFreeAdamW``:
    ``averaging_weight``, ``1/t`` of its step count ``iterations``
    (``schedule_free.averaging_weight``); any other optimizer: none.

    Args:
        optimizer: a built optimizer, after the step the values describe.
        rate: the rate that step applied (float32-exact).
    """
    keras = import_keras()

    if is_schedule_free(optimizer):
        steps = int(keras.ops.convert_to_numpy(optimizer.iterations))
        return {AVERAGING_WEIGHT: float(averaging_weight(steps))}
    if isinstance(optimizer, prodigy_class()):
        d = keras.ops.convert_to_numpy(optimizer._prodigy_state[STATE.index("d")])
        return {EFFECTIVE_LR: float(effective_rate(np.float32(d), np.float32(rate)))}
    return {}


def learning_rate_recorder() -> keras.callbacks.Callback:
    """A callback keeping the rate of every optimizer step (``rates``) and each epoch's first.

    The rate is read from the optimizer just before each step, after any scheduler callback
    placed before it has set it; the epoch's first one goes into its logs as
    ``learning_rate``. A reduce-on-plateau cut at an epoch's end therefore shows from the
    next epoch. The optimizer's own values after the epoch's last step (``optimizer_logs``
    at that step's rate: Prodigy's ``effective_lr``, Schedule-Free's ``averaging_weight``)
    go into the logs beside it.
    """
    keras = import_keras()

    class LearningRateRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.rates: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_start = len(self.rates)

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            self.rates.append(current_learning_rate(self.model.optimizer))

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is not None:
                logs["learning_rate"] = self.rates[self.epoch_start]
                logs |= optimizer_logs(self.model.optimizer, self.rates[-1])

    return LearningRateRecorder()


def fit_seed(
    spec: RunSpec,
    model_config: ModelConfig,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    *,
    train: Dataset,
    val: Dataset,
    n_classes: int,
) -> TrainingResult:
    """The ``fit`` loop: a fresh model trained with ``keras.Model.fit``, the reference loop.

    The run's rates are planned once (``rate_plan(spec, len(train))``). The schedule's
    callbacks come first, then the learning-rate recorder, then ``callbacks`` (any Keras
    callback, per-batch hooks included), so every callback after the scheduler sees the
    rate it set.

    Args:
        spec: the run (lr, schedule, batch size, epochs).
        model_config: the network and optimizer.
        seed: seeds the initial weights (``keras.utils.set_random_seed``) and batch order.
        callbacks: more Keras callbacks, called after the scheduler and the recorder.
        train: training rows.
        val: validation rows.
        n_classes: classes the output layer predicts (``data.n_classes``).
    """
    keras = import_keras()
    plan = rate_plan(spec, len(train))
    keras.utils.set_random_seed(seed)
    model = build_model(model_config, n_features=train.x.shape[1], n_classes=n_classes)
    compile_model(model, model_config, spec.lr)
    initial = model.test_on_batch(train.x, train.y.astype(np.float32), return_dict=True)
    train_ds, val_ds = make_datasets(train, val, spec.batch_size, epochs=spec.epochs, seed=seed)
    recorder = learning_rate_recorder()
    with warnings.catch_warnings():
        # Keras warns that fit's default shuffle=True is ignored for a tf.data input; the
        # batches come in order_stream's order by design.
        warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
        fitted = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=spec.epochs,
            steps_per_epoch=plan.steps_per_epoch,
            callbacks=[*plan_callbacks(plan), recorder, *evaluation_callbacks(model), *callbacks],
            verbose=0,
        )
    keys = [*HISTORY_KEYS, *(key for key in OPTIONAL_KEYS if key in fitted.history)]
    history = {key: [float(value) for value in fitted.history[key]] for key in keys}
    rates = np.asarray(recorder.rates, np.float32)
    state = [np.asarray(variable) for variable in model.optimizer.variables]
    weights = evaluated_weights(model)  # Schedule-Free's average x, the model's otherwise
    return TrainingResult(weights, history, rates, plan, state, float(initial["loss"]))
