"""Train one setting for many seeds: seeded, deterministic, and fast.

Two loops run the same arithmetic, Keras' own ``Model.train_step`` and ``test_step`` on the
same batches:

* ``fast`` (the default, ``train.loop`` in params.yaml): a ``Trainer`` runs each whole epoch
  (every optimizer step, then validation) inside one ``tf.function``, traced once per
  setting and reused for every seed: a new seed gets fresh initial weights and a reset
  optimizer instead of a new model. Keras callbacks get their epoch-level hooks
  (``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end``, ``on_train_end``), which is
  all that ``ReduceLROnPlateau``, DVCLive logging or early stopping need.
* ``fit``: ``keras.Model.fit`` on a ``tf.data`` pipeline of the same batches, for callbacks
  that need per-batch hooks (the fast loop refuses those: ``FIT_ONLY_HOOKS``). About 8 times
  slower than the fast loop (``make bench``).

Both feed the batches of ``epoch_orders`` (one seeded NumPy permutation of the train rows
per epoch), apply the schedule's rates from ``schedules.step_rates`` (the single source of
truth), and return the same per-epoch history: ``loss``, ``accuracy``, ``val_loss``,
``val_accuracy`` and ``learning_rate``, the rate the optimizer really used at the epoch's
first step (read from the optimizer, not recomputed from the schedule), plus the rate of
every optimizer step.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.clock import steps_per_epoch
from lrstudy.config import ModelConfig, PlateauSchedule, RunSpec
from lrstudy.data import Dataset
from lrstudy.model import build_model, compile_model
from lrstudy.runlog import HISTORY_KEYS
from lrstudy.runtime import import_keras
from lrstudy.schedules import keras_callbacks, step_rates

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

# Keras' metric names as fit logs them (validation ones get the prefix "val_").
_METRIC_KEYS = ("loss", "accuracy")

# Callback hooks ``Model.fit`` calls that the fast loop does not: each batch and the
# validation pass run inside the epoch's graph, out of Python's reach.
FIT_ONLY_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


def epoch_orders(n_rows: int, epochs: int, seed: int) -> np.ndarray:
    """The order in which each epoch visits the train rows: one permutation per epoch.

    Drawn from ``numpy.random.default_rng(seed)`` (PCG64, the same numbers on every
    platform), one ``permutation(n_rows)`` per epoch in turn, so a longer run starts with
    the same orders as a shorter one, and every setting trained with the same seed sees the
    same rows in the same order whatever its batch size or schedule.

    Returns:
        An int32 array of shape ``(epochs, n_rows)``.
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_rows) for _ in range(epochs)]).astype(np.int32)


@dataclass(frozen=True)
class TrainingResult:
    """One seed's trained model and what the optimizer did.

    Attributes:
        model: the trained ``keras.Model`` (for the fast loop, the ``Trainer``'s own model:
            save it before the trainer trains the next seed).
        history: per-epoch lists under ``HISTORY_KEYS``.
        step_rates: the rate used at every optimizer step, shape ``(epochs * steps_per_epoch,)``.
    """

    model: keras.Model
    history: dict[str, list[float]]
    step_rates: np.ndarray


def scheduled_rates(spec: RunSpec, n_train: int) -> np.ndarray | None:
    """The rate of every optimizer step, float32, or ``None`` for reduce-on-plateau.

    ``schedules.step_rates`` (the same rates ``keras_callbacks`` applies in the ``fit``
    loop) cast to the optimizer's float32; plateau's rate depends on training and is set by
    Keras' own ``ReduceLROnPlateau`` instead.
    """
    if isinstance(spec.schedule, PlateauSchedule):
        return None
    per_epoch = steps_per_epoch(n_train, spec.batch_size)
    return np.asarray(step_rates(spec.schedule, spec.lr, per_epoch, spec.epochs), np.float32)


class Trainer:
    """The fast loop: one setting's model and its compiled epoch, reused for every seed.

    ``train(seed)`` gives the same result as a fresh ``build_model`` + ``compile_model`` +
    ``fit`` on the same batches (tests check the losses agree), at a fraction of the cost:
    one ``tf.function`` runs a whole epoch (every optimizer step through Keras'
    ``train_step``, then ``test_step`` on the validation rows in one batch), and it is
    traced once for the setting.

    Args:
        spec: the setting's resolved run (lr, schedule, batch size, epochs).
        model_config: the network and optimizer.
        train: training rows; ``val``: validation rows (features float32).
    """

    def __init__(
        self, spec: RunSpec, model_config: ModelConfig, train: Dataset, val: Dataset
    ) -> None:
        keras = import_keras()
        import tensorflow as tf

        self.spec = spec
        self.model_config = model_config
        self.n_train = len(train)
        self.steps_per_epoch = steps_per_epoch(self.n_train, spec.batch_size)
        self.rates = scheduled_rates(spec, self.n_train)
        self.n_features = train.x.shape[1]
        self.model = build_model(model_config, n_features=self.n_features)
        compile_model(self.model, model_config, spec.lr)
        self._keras = keras
        self._build_state(train)

        x = tf.constant(train.x, tf.float32)
        y = tf.constant(train.y.astype(np.float32))
        val_x = tf.constant(val.x, tf.float32)
        val_y = tf.constant(val.y.astype(np.float32))
        model, optimizer = self.model, self.model.optimizer
        batch_size, n_steps, scheduled = (
            spec.batch_size,
            self.steps_per_epoch,
            self.rates is not None,
        )

        # A fixed signature: traced once, whatever the seed, epoch or schedule values.
        signature = [
            tf.TensorSpec([self.n_train], tf.int32, name="order"),
            tf.TensorSpec([n_steps], tf.float32, name="rates"),
        ]

        # autograph=False: the loop is written as a tf.while_loop, so AutoGraph need not
        # convert Keras' own train_step (Keras' make_train_function skips it too).
        @tf.function(input_signature=signature, jit_compile=False, autograph=False)
        def run_epoch(order: tf.Tensor, rates: tf.Tensor) -> tuple[dict, dict, tf.Tensor]:
            def train_step(step: tf.Tensor, used: tf.TensorArray) -> tuple:
                if scheduled:
                    optimizer.learning_rate = rates[step]
                used = used.write(step, tf.convert_to_tensor(optimizer.learning_rate))
                rows = order[step * batch_size : (step + 1) * batch_size]
                model.train_step((tf.gather(x, rows), tf.gather(y, rows)))
                return step + 1, used

            model.reset_metrics()
            _, used = tf.while_loop(
                lambda step, _: step < n_steps,
                train_step,
                (tf.constant(0), tf.TensorArray(tf.float32, size=n_steps)),
            )
            train_logs = model.get_metrics_result()
            model.reset_metrics()
            val_logs = model.test_step((val_x, val_y))
            return train_logs, val_logs, used.stack()

        self._run_epoch = run_epoch

    def _build_state(self, train: Dataset) -> None:
        """Create every variable training needs (optimizer, loss, metrics) before tracing.

        Keras creates them lazily on first use; inside the epoch function that would make
        ``tf.function`` trace it twice. Built here, eagerly, on one row.
        """
        model = self.model
        model.optimizer.build(model.trainable_variables)
        x, y = train.x[:1], train.y[:1].astype(np.float32)
        y_pred = model(x)
        model.compute_loss(x=x, y=y, y_pred=y_pred)
        model.compute_metrics(x, y, y_pred, sample_weight=None)
        model.reset_metrics()

    def _reset(self, seed: int, lr: float) -> None:
        """Fresh initial weights for ``seed`` (those ``build_model`` draws) and optimizer state."""
        self._keras.utils.set_random_seed(seed)
        fresh = build_model(self.model_config, n_features=self.n_features)
        self.model.set_weights(fresh.get_weights())
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        optimizer.learning_rate = lr
        self.model.stop_training = False

    def train(
        self,
        seed: int,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        lr: float | None = None,
    ) -> TrainingResult:
        """Train the setting from scratch for ``seed``; epoch-level ``callbacks`` are called.

        Callbacks run in order after the epoch's logs are complete, so a
        ``ReduceLROnPlateau`` cut at an epoch's end shows from the next epoch. ``lr``
        replaces the setting's base rate for this run (the LR sweep trains every rate of
        its grid with one trainer); the schedule's shape stays.

        Raises:
            ValueError: if a callback overrides a hook of ``FIT_ONLY_HOOKS`` (for example
                ``keras.callbacks.TerminateOnNaN``, which acts per batch): the fast loop
                would never call it; train such a setting with ``train.loop: fit``.
        """
        keras = self._keras
        reject_fit_only_callbacks(callbacks, keras.callbacks.Callback)
        spec = self.spec if lr is None else replace(self.spec, lr=lr)
        rates = self.rates if lr is None else scheduled_rates(spec, self.n_train)
        self._reset(seed, spec.lr)
        orders = epoch_orders(self.n_train, spec.epochs, seed)
        callback_list = keras.callbacks.CallbackList(
            [*keras_callbacks_for_fast_loop(spec), *callbacks], model=self.model
        )
        no_rates = np.zeros(self.steps_per_epoch, np.float32)
        history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        used_rates = []
        callback_list.on_train_begin()
        for epoch in range(spec.epochs):
            callback_list.on_epoch_begin(epoch)
            epoch_rates = (
                no_rates
                if rates is None
                else rates[epoch * self.steps_per_epoch : (epoch + 1) * self.steps_per_epoch]
            )
            train_logs, val_logs, used = self._run_epoch(orders[epoch], epoch_rates)
            used = used.numpy()
            used_rates.append(used)
            logs = {key: float(train_logs[key]) for key in _METRIC_KEYS}
            logs |= {f"val_{key}": float(val_logs[key]) for key in _METRIC_KEYS}
            logs["learning_rate"] = float(used[0])
            for key in HISTORY_KEYS:
                history[key].append(logs[key])
            callback_list.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
        callback_list.on_train_end()
        return TrainingResult(self.model, history, np.concatenate(used_rates))


def reject_fit_only_callbacks(callbacks: Sequence[object], base: type) -> None:
    """Raise ``ValueError`` naming each callback that overrides a hook of ``FIT_ONLY_HOOKS``.

    ``base`` is ``keras.callbacks.Callback``: a hook a callback inherits from it unchanged
    does nothing, so only overridden ones count, in its class or set on the instance
    (``keras.callbacks.LambdaCallback(on_batch_end=...)``).
    """
    problems = [
        f"{type(callback).__name__} ({', '.join(hooks)})"
        for callback in callbacks
        if (
            hooks := [
                hook
                for hook in FIT_ONLY_HOOKS
                if getattr(getattr(callback, hook, None), "__func__", None)
                is not getattr(base, hook)
            ]
        )
    ]
    if problems:
        raise ValueError(
            "the fast training loop calls only epoch-level callback hooks, but "
            + "; ".join(problems)
            + " act per batch or per validation pass; set train.loop: fit to use them"
        )


def keras_callbacks_for_fast_loop(spec: RunSpec) -> list[keras.callbacks.Callback]:
    """The schedule's Keras callbacks the fast loop needs: ``ReduceLROnPlateau`` only.

    Every other schedule's rates are applied inside the compiled epoch from
    ``scheduled_rates``.
    """
    if not isinstance(spec.schedule, PlateauSchedule):
        return []
    return keras_callbacks(spec.schedule, spec.lr, 1, spec.epochs)


# --- The fit loop: keras.Model.fit on the same batches. ---------------------------------


def make_datasets(
    train: Dataset, val: Dataset, batch_size: int, orders: np.ndarray
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """``tf.data`` pipelines of the train batches in ``orders`` (all epochs, in turn) and of val.

    ``orders`` is ``epoch_orders(...)``: epoch ``e`` visits ``train`` rows in the order of
    row ``e``, cut into batches of ``batch_size`` (the last one may be short). Validation is
    one batch.
    """
    import_keras()
    import tensorflow as tf

    x = tf.constant(train.x, tf.float32)
    y = tf.constant(train.y.astype(np.float32))
    train_ds = (
        tf.data.Dataset.from_tensor_slices(orders)
        .flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        .map(lambda rows: (tf.gather(x, rows), tf.gather(y, rows)))
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = tf.data.Dataset.from_tensors((val.x.astype(np.float32), val.y.astype(np.float32)))
    return train_ds, val_ds.cache()


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the optimizer applies at its next step."""
    import keras

    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def learning_rate_recorder() -> keras.callbacks.Callback:
    """A callback keeping the rate of every optimizer step (``rates``) and each epoch's first.

    The rate is read from the optimizer just before each step, after any scheduler callback
    placed before it has set it; the epoch's first one goes into its logs as
    ``learning_rate``. A reduce-on-plateau cut at an epoch's end therefore shows from the
    next epoch.
    """
    import keras

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

    return LearningRateRecorder()


def fit_seed(
    spec: RunSpec,
    model_config: ModelConfig,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    *,
    train: Dataset,
    val: Dataset,
) -> TrainingResult:
    """The ``fit`` loop: a fresh model trained with ``keras.Model.fit`` on ``Trainer``'s batches.

    The schedule's callbacks come first, then the learning-rate recorder, then
    ``callbacks`` (any Keras callback, per-batch hooks included), so every callback after
    the scheduler sees the rate it set.
    """
    keras = import_keras()
    per_epoch = steps_per_epoch(len(train), spec.batch_size)
    keras.utils.set_random_seed(seed)
    model = build_model(model_config, n_features=train.x.shape[1])
    compile_model(model, model_config, spec.lr)
    train_ds, val_ds = make_datasets(
        train, val, spec.batch_size, epoch_orders(len(train), spec.epochs, seed)
    )
    recorder = learning_rate_recorder()
    schedule_callbacks = keras_callbacks(spec.schedule, spec.lr, per_epoch, spec.epochs)
    with warnings.catch_warnings():
        # Keras warns that fit's default shuffle=True is ignored for a tf.data input; the
        # batches come in epoch_orders' order by design.
        warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
        fitted = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=spec.epochs,
            steps_per_epoch=per_epoch,
            callbacks=[*schedule_callbacks, recorder, *callbacks],
            verbose=0,
        )
    history = {key: [float(value) for value in fitted.history[key]] for key in HISTORY_KEYS}
    return TrainingResult(model, history, np.asarray(recorder.rates, np.float32))


def train_seed(
    spec: RunSpec,
    model_config: ModelConfig,
    seed: int,
    train: Dataset,
    val: Dataset,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainingResult:
    """Train one seed of a setting with the loop ``spec.loop`` names (a new trainer each call).

    To train several seeds use ``seed_trainer``: the fast loop's compiled epoch is then
    traced once for all of them.
    """
    return seed_trainer(spec, model_config, train, val)(seed, callbacks)


def seed_trainer(
    spec: RunSpec, model_config: ModelConfig, train: Dataset, val: Dataset
) -> Callable[..., TrainingResult]:
    """``f(seed, callbacks=(), lr=None) -> TrainingResult`` for the loop ``spec.loop`` names.

    For ``fast`` this is one ``Trainer``'s ``train``: call it once per seed (and rate, for
    ``lr``), saving or evaluating each result's model before the next call (the trainer
    reuses it).
    """
    if spec.loop == "fast":
        return Trainer(spec, model_config, train, val).train

    def fit(
        seed: int, callbacks: Sequence[keras.callbacks.Callback] = (), lr: float | None = None
    ) -> TrainingResult:
        run = spec if lr is None else replace(spec, lr=lr)
        return fit_seed(run, model_config, seed, callbacks, train=train, val=val)

    return fit
