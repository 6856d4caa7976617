"""What both training loops share: each epoch's batch order and one seed's result.

The population loop (``lrstudy.training``) and the ``fit`` loop (``lrstudy.fit_loop``)
visit the train rows in the order ``order_stream`` draws and return a ``TrainingResult``;
the history's keys are ``runlog.HISTORY_KEYS``. NumPy only: no TensorFlow at import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from lrstudy.rate_plan import RatePlan

# Keras' metric names as fit logs them (validation ones get the prefix "val_").
METRIC_KEYS = ("loss", "accuracy")


def order_stream(n_rows: int, seed: int) -> Iterator[np.ndarray]:
    """The order in which each epoch visits the train rows, one permutation per epoch.

    Drawn from ``numpy.random.default_rng(seed)`` (PCG64, the same numbers on every
    platform), one ``permutation(n_rows)`` per epoch in turn, so a longer run starts with
    the same orders as a shorter one, and every setting trained with the same seed sees the
    same rows in the same order whatever its batch size or schedule. Drawn as the epochs
    come, so a long run never holds every epoch's order at once.

    Yields:
        Endlessly, an int32 array of shape ``(n_rows,)`` per epoch.
    """
    rng = np.random.default_rng(seed)
    while True:
        yield rng.permutation(n_rows).astype(np.int32)


def epoch_orders(n_rows: int, epochs: int, seed: int) -> np.ndarray:
    """The first ``epochs`` orders of ``order_stream(n_rows, seed)``, shape ``(epochs, n_rows)``."""
    stream = order_stream(n_rows, seed)
    return np.stack([next(stream) for _ in range(epochs)]).reshape(epochs, n_rows)


@dataclass(frozen=True)
class TrainingResult:
    """One seed's trained model and what the optimizer did.

    Attributes:
        weights: the trained weights in Keras' ``get_weights`` order (a model of
            ``model.build_model`` takes them with ``set_weights``).
        history: per-epoch lists under ``HISTORY_KEYS``, then under its optimizer's
            ``runlog.OPTIMIZER_KEYS`` (Prodigy's ``effective_lr``, Schedule-Free's
            ``averaging_weight``; none for other optimizers).
        step_rates: the rate used at every optimizer step, shape ``(epochs * steps_per_epoch,)``.
        plan: the run's ``RatePlan`` (its ``steps_per_epoch`` and ``per`` for the logs).
        optimizer_state: the optimizer's variables after training, in the order of Keras'
            built ``optimizer.variables`` (steps taken, the rate it would apply next, then
            each weight's slots: Adam's momentum and velocity), so a saved model resumes
            where training stopped (``model.set_trained_state``).
        initial_loss: the loss on the whole train split before the first step (the
            untrained model's), the reference ``evaluation.divergence_epoch`` judges the
            run against.
    """

    weights: list[np.ndarray]
    history: dict[str, list[float]]
    step_rates: np.ndarray
    plan: RatePlan
    optimizer_state: list[np.ndarray]
    initial_loss: float
