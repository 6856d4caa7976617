"""What both training loops share: each epoch's batch order and one seed's result.

The fast loop (``lrstudy.training.Trainer``) and the ``fit`` loop (``lrstudy.fit_loop``)
visit the train rows in the order ``epoch_orders`` draws and return a ``TrainingResult``;
the history's keys are ``runlog.HISTORY_KEYS``. NumPy only: no TensorFlow at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.rate_plan import RatePlan

if TYPE_CHECKING:
    import keras

# Keras' metric names as fit logs them (validation ones get the prefix "val_").
METRIC_KEYS = ("loss", "accuracy")


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
        plan: the run's ``RatePlan`` (its ``steps_per_epoch`` and ``per`` for the logs).
    """

    model: keras.Model
    history: dict[str, list[float]]
    step_rates: np.ndarray
    plan: RatePlan
