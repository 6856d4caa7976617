"""The previous fast loop, kept as the benchmark's baseline: one model at a time.

lrstudy's stages used it until the population trainer (``lrstudy.population``) replaced it;
``make bench`` times it side by side with the population. Its original docstring:

Train one setting for many seeds: seeded, deterministic, and fast.

Two loops run the same arithmetic, Keras' own ``Model.train_step`` and ``test_step`` on the
same batches:

* ``fast`` (the default, ``train.loop`` in params.yaml): a ``Trainer`` runs each whole epoch
  (every optimizer step, then validation) inside one ``tf.function``, traced once per
  setting and reused for every seed: a new seed gets fresh initial weights and a reset
  optimizer instead of a new model. Keras callbacks get their epoch-level hooks
  (``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end``, ``on_train_end``), which is
  all that ``ReduceLROnPlateau``, DVCLive logging or early stopping need.
* ``fit`` (``lrstudy.fit_loop``): ``keras.Model.fit`` on a ``tf.data`` pipeline of the
  same batches, for callbacks that need per-batch hooks. About 8 times slower than the
  fast loop (``make bench``).

Both feed the batches of ``training_run.epoch_orders`` (one seeded NumPy permutation of the
train rows per epoch), apply the rates of the run's ``rate_plan.RatePlan`` (tabulated once
from ``schedules.rate_function``, the single source of truth), and return the same
``TrainingResult``: the per-epoch history ``loss``, ``accuracy``, ``val_loss``,
``val_accuracy`` and ``learning_rate``, the rate the optimizer really used at the epoch's
first step (read from the optimizer, not recomputed from the schedule), plus the rate of
every optimizer step. ``seed_trainer`` picks the loop ``train.loop`` names.

Extended since, so that it can train today's study as the baseline of ``bench_repro``
(``fast_loop_stages``): ``train`` takes a whole ``RatePlan`` (another base rate with its
schedule's rate keys scaled, another epoch count), a new seed starts from the optimizer's
state as built (Prodigy's ``d`` is ``d0``, not zero; Schedule-Free's ``z`` the seed's
weights) instead of zeros, the history carries the optimizer's own values
(``fit_loop.optimizer_logs``) and the result the untrained model's train loss. For Adam,
SGD and RMSprop (every optimizer of its day) the first two change nothing: their built
state is zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.config import ModelConfig, RunSpec
from lrstudy.data import Dataset
from lrstudy.fit_loop import optimizer_logs
from lrstudy.model import build_model, compile_model
from lrstudy.rate_plan import RatePlan, plan_callbacks, rate_plan
from lrstudy.runlog import HISTORY_KEYS
from lrstudy.runtime import import_keras
from lrstudy.training_run import METRIC_KEYS, TrainingResult, epoch_orders

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


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
        n_classes: classes the output layer predicts (``data.n_classes``).

    Attributes:
        plan: the setting's ``RatePlan``, computed once (``rate_plan(spec, len(train))``).
        steps_per_epoch: ``plan.steps_per_epoch``, the length of the compiled epoch.
    """

    def __init__(
        self,
        spec: RunSpec,
        model_config: ModelConfig,
        train: Dataset,
        val: Dataset,
        *,
        n_classes: int,
    ) -> None:
        keras = import_keras()
        import tensorflow as tf

        self.spec = spec
        self.model_config = model_config
        self.n_train = len(train)
        self.plan = rate_plan(spec, self.n_train)
        self.steps_per_epoch = self.plan.steps_per_epoch
        self.n_features = train.x.shape[1]
        self.n_classes = n_classes
        self.model = self._fresh_model()
        compile_model(self.model, model_config, spec.lr)
        self._keras = keras
        self._build_state(train)
        self._built_optimizer = [np.asarray(v) for v in self.model.optimizer.variables]
        self._train_rows = (train.x, train.y.astype(np.float32))

        x = tf.constant(train.x, tf.float32)
        y = tf.constant(train.y.astype(np.float32))
        val_x = tf.constant(val.x, tf.float32)
        val_y = tf.constant(val.y.astype(np.float32))
        model, optimizer = self.model, self.model.optimizer
        batch_size, n_steps = spec.batch_size, self.steps_per_epoch
        scheduled = self.plan.rates is not None

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

    def _fresh_model(self) -> keras.Model:
        """An uncompiled model of the setting, with the initial weights the seed draws."""
        return build_model(self.model_config, self.n_features, self.n_classes)

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
        fresh = self._fresh_model()
        self.model.set_weights(fresh.get_weights())
        optimizer = self.model.optimizer
        for variable, built in zip(optimizer.variables, self._built_optimizer, strict=True):
            variable.assign(built)
        if isinstance(optimizer, self._keras.optimizers.ScheduleFreeAdamW):
            # Keras' build sets z (its ``_momentums``) to the weights it was built on.
            for z, weight in zip(optimizer._momentums, self.model.trainable_variables, strict=True):
                z.assign(weight)
        optimizer.learning_rate = lr
        self.model.stop_training = False

    def train(
        self,
        seed: int,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        lr: float | None = None,
        plan: RatePlan | None = None,
    ) -> TrainingResult:
        """Train the setting from scratch for ``seed``; epoch-level ``callbacks`` are called.

        Callbacks run in order after the epoch's logs are complete, so a
        ``ReduceLROnPlateau`` cut at an epoch's end shows from the next epoch. ``lr``
        replaces the setting's base rate for this run (the LR sweep trains every rate of
        its grid with one trainer); the schedule's shape stays. ``plan`` replaces the
        setting's whole plan (its steps per epoch must be the setting's). As a benchmark
        baseline it does not check callbacks for per-batch hooks (it never calls them).
        """
        keras = self._keras
        if plan is None:
            plan = self.plan if lr is None else rate_plan(replace(self.spec, lr=lr), self.n_train)
        self._reset(seed, plan.lr)
        x, y = self._train_rows
        initial_loss = float(self.model.compute_loss(x=x, y=y, y_pred=self.model(x)))
        orders = epoch_orders(self.n_train, plan.epochs, seed)
        callback_list = keras.callbacks.CallbackList(
            [*fast_loop_callbacks(plan), *callbacks], model=self.model
        )
        no_rates = np.zeros(self.steps_per_epoch, np.float32)
        history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        used_rates = []
        callback_list.on_train_begin()
        for epoch in range(plan.epochs):
            callback_list.on_epoch_begin(epoch)
            epoch_rates = plan.epoch_rates(epoch)
            train_logs, val_logs, used = self._run_epoch(
                orders[epoch], no_rates if epoch_rates is None else epoch_rates
            )
            used = used.numpy()
            used_rates.append(used)
            logs = {key: float(train_logs[key]) for key in METRIC_KEYS}
            logs |= {f"val_{key}": float(val_logs[key]) for key in METRIC_KEYS}
            logs["learning_rate"] = float(used[0])
            logs |= optimizer_logs(self.model.optimizer, float(used[-1]))
            for key in logs.keys() - history.keys():
                history[key] = []
            for key in history:
                history[key].append(logs[key])
            callback_list.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
        callback_list.on_train_end()
        state = [np.asarray(variable) for variable in self.model.optimizer.variables]
        return TrainingResult(
            self.model.get_weights(),
            history,
            np.concatenate(used_rates),
            plan,
            state,
            initial_loss,
        )


def fast_loop_callbacks(plan: RatePlan) -> list[keras.callbacks.Callback]:
    """The schedule's Keras callbacks the fast loop needs: ``ReduceLROnPlateau`` only.

    Every other schedule's rates are applied inside the compiled epoch from ``plan.rates``.
    """
    return plan_callbacks(plan) if plan.rates is None else []
