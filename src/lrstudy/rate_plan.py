"""A run's learning rates, tabulated once, and the Keras callbacks that apply them.

``rate_plan(spec, n_train)`` computes, once per run, the rate of every optimizer step from
``schedules.rate_function`` (the single source of truth) and casts it to the optimizer's
float32: a ``RatePlan``. The population loop feeds each epoch's slice of it to its
compiled epoch; the ``fit`` loop's callbacks (``plan_callbacks``) set the optimizer's rate to its
values; the train stage writes ``learning_rate_steps.tsv`` with its ``steps_per_epoch``.
Reduce-on-plateau reacts to training, so its plan has no rates: Keras'
``ReduceLROnPlateau`` sets them.

Keras is imported inside the callback builders only, so the plan itself needs no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lrstudy.clock import Per, steps_per_epoch
from lrstudy.config import ConstantSchedule, PlateauSchedule, RunSpec
from lrstudy.runtime import import_keras
from lrstudy.schedules import rate_function

if TYPE_CHECKING:
    import keras

RateFunction = Callable[[int], float]


def step_rates(schedule: Any, lr: float, steps_per_epoch: int, epochs: int) -> list[float]:
    """The rate at every optimizer step of the run (constant within an epoch for ``per: epoch``).

    Returns:
        ``epochs * steps_per_epoch`` floats: step ``s`` has ``rate_function``'s value at
        ``t = s`` (``per: step``) or ``t = s // steps_per_epoch`` (``per: epoch``).

    Raises:
        TypeError, ValueError: as ``schedules.rate_function``.
    """
    rate = rate_function(schedule, lr, steps_per_epoch, epochs)
    if schedule.per == "step":
        return [rate(step) for step in range(epochs * steps_per_epoch)]
    return [rate(step // steps_per_epoch) for step in range(epochs * steps_per_epoch)]


@dataclass(frozen=True, eq=False)
class RatePlan:
    """The rates one run applies, computed once before it trains.

    Attributes:
        schedule: the run's schedule setting (plateau's options build its callback).
        lr: the run's base rate (the optimizer is compiled with it).
        epochs: the run's length in epochs.
        steps_per_epoch: optimizer steps per epoch (``clock.steps_per_epoch``).
        rates: the float32 rate of every optimizer step, shape
            ``(epochs * steps_per_epoch,)`` (``step_rates`` cast to float32, read-only), or
            ``None`` for reduce-on-plateau, whose rates depend on training.
    """

    schedule: Any
    lr: float
    epochs: int
    steps_per_epoch: int
    rates: np.ndarray | None

    @property
    def per(self) -> Per:
        """When the schedule changes the rate: each ``epoch`` or each optimizer ``step``."""
        return self.schedule.per

    def epoch_rates(self, epoch: int) -> np.ndarray | None:
        """Epoch ``epoch``'s float32 rates, shape ``(steps_per_epoch,)``; ``None`` for plateau."""
        if self.rates is None:
            return None
        return self.rates[epoch * self.steps_per_epoch : (epoch + 1) * self.steps_per_epoch]


def schedule_plan(schedule: Any, lr: float, steps_per_epoch: int, epochs: int) -> RatePlan:
    """The ``RatePlan`` of ``schedule`` at base rate ``lr`` over ``epochs`` epochs.

    Raises:
        TypeError, ValueError: as ``schedules.rate_function``.
    """
    rates = None
    if not isinstance(schedule, PlateauSchedule):
        rates = np.asarray(step_rates(schedule, lr, steps_per_epoch, epochs), np.float32)
        rates.flags.writeable = False
    return RatePlan(schedule, lr, epochs, steps_per_epoch, rates)


def rate_plan(spec: RunSpec, n_train: int) -> RatePlan:
    """The ``RatePlan`` of a run of ``spec`` on ``n_train`` training rows.

    ``steps_per_epoch`` is ``ceil(n_train / spec.batch_size)`` (``clock.steps_per_epoch``).

    Raises:
        ValueError: if ``n_train`` or the batch size is not positive; as
            ``schedules.rate_function``.
    """
    per_epoch = steps_per_epoch(n_train, spec.batch_size)
    return schedule_plan(spec.schedule, spec.lr, per_epoch, spec.epochs)


# --- Thin Keras wrappers. --------------------------------------------------------------------


def plan_callbacks(plan: RatePlan) -> list[keras.callbacks.Callback]:
    """Callbacks that apply ``plan`` during ``model.fit``, by setting the optimizer's rate.

    * plateau: ``keras.callbacks.ReduceLROnPlateau`` with the setting's options;
    * constant without a warmup: none (the optimizer is compiled with ``lr``);
    * ``per: epoch``: ``keras.callbacks.LearningRateScheduler`` setting the rate of the
      epoch's first step;
    * ``per: step``: a callback that, before every optimizer step, sets the rate of that
      global step (the optimizer's ``iterations``).

    The optimizer keeps a plain rate variable (no ``LearningRateSchedule`` object), so the
    rate it applies is the one it reports and a saved model loads without custom classes.
    """
    keras = import_keras()

    schedule = plan.schedule
    if plan.rates is None:
        return [
            keras.callbacks.ReduceLROnPlateau(
                monitor=schedule.monitor,
                mode=schedule.mode,
                factor=schedule.factor,
                patience=schedule.patience,
                min_delta=schedule.min_delta,
                cooldown=schedule.cooldown,
                min_lr=schedule.min_lr,
                verbose=0,
            )
        ]
    if isinstance(schedule, ConstantSchedule) and not schedule.warmup_epochs:
        return []
    rates, per_epoch = plan.rates, plan.steps_per_epoch
    if plan.per == "epoch":
        # Two arguments, so Keras never falls back to a one-argument call on a TypeError.
        return [
            keras.callbacks.LearningRateScheduler(
                lambda epoch, _current: float(rates[epoch * per_epoch])
            )
        ]
    return [step_scheduler(lambda step: float(rates[step]))]


def step_scheduler(rate: RateFunction) -> keras.callbacks.Callback:
    """A callback setting the optimizer's rate to ``rate(step)`` before every optimizer step.

    ``step`` is the optimizer's ``iterations`` (the 0-based global step about to run).
    """
    keras = import_keras()

    class StepScheduler(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            optimizer = self.model.optimizer
            step = int(keras.ops.convert_to_numpy(optimizer.iterations))
            optimizer.learning_rate = rate(step)

    return StepScheduler()
