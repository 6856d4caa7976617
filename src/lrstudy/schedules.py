"""Learning-rate schedules as pure arithmetic, plus thin Keras wrappers.

Each schedule is a function of the epoch (or optimizer step) index that returns the
rate; it needs no model and no TensorFlow, so it is tested against independent
references on its own. ``keras_callbacks`` turns a validated schedule config into the
Keras callbacks that apply it during ``fit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lrstudy.config import ConstantSchedule, PlateauSchedule

if TYPE_CHECKING:
    import keras


def constant(t: int, lr: float) -> float:
    """The same rate at every step: ``lr``."""
    del t
    return float(lr)


def keras_callbacks(schedule: ConstantSchedule | PlateauSchedule) -> list[keras.callbacks.Callback]:
    """Callbacks that apply ``schedule`` during ``model.fit``.

    The initial rate is the optimizer's; these callbacks change it as training goes.
    """
    import keras

    if isinstance(schedule, PlateauSchedule):
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
    return []


def describe(schedule: Any) -> str:
    """A short description of a schedule config for tables.

    Its type, and every parameter set to something other than its default.
    """
    fields = schedule.model_dump(exclude={"type"}, exclude_defaults=True)
    if not fields:
        return schedule.type
    parts = [
        f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in fields.items()
    ]
    return f"{schedule.type} ({', '.join(parts)})"
