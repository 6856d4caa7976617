"""Schedule-Free AdamW's evaluation weights: the average ``x``, not the trained ``y``.

Schedule-Free (Defazio et al., NeurIPS 2024, "The Road Less Scheduled") keeps three
sequences: ``z`` (the base steps), ``x`` (their running average, the weights to evaluate)
and ``y = (1 - β1)·z + β1·x`` (where gradients are taken; Keras' model variables hold
``y``). Keras 3.15's ``ScheduleFreeAdamW`` has no ``swap_to_eval``: its ``update_step``
recovers ``x`` as ``(y - (1 - β1)·z) / β1`` with ``z`` its ``momentum`` slot, and so do
these functions. Validation and test use ``x`` and the saved model holds ``x`` (as the
authors' ``optimizer.eval()`` before evaluating or saving); training goes on from ``y``.
Keras and TensorFlow are imported inside the functions.

Keras 3.15 deviates from the algorithm on the TensorFlow backend: ``update_step`` keeps
``momentum_old = momentum.value``, which is the variable itself, and reads it after
``assign_sub``, so ``x_old`` is computed from the new ``z``. Measured on a 6-d quadratic,
200 steps at rate 0.05: Keras' ``x`` is 0.13 away from the authors' ``schedulefree``
(``AdamWScheduleFree``), the algorithm as written (the population's
``member_optimizers``) 2.7e-7. The ``fit`` loop's class reads ``z`` before the step
(``keras_optimizers.schedule_free_adamw_class``), and ``model.compile_model`` builds it
eagerly (Keras' ``build`` copies the weights into ``z``, which built inside ``fit``'s or
``train_on_batch``'s first traced step it does not).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrstudy.runtime import import_keras


def averaged_weights(y: Any, z: Any, beta_1: float) -> Any:
    """``x = (y - (1 - β1)·z) / β1`` in Keras' arithmetic (``ScheduleFreeAdamW.update_step``).

    Args:
        y: the trained weights (tensor or array, any shape).
        z: the optimizer's ``momentum`` slot, shaped like ``y``.
        beta_1: the interpolation ``β1`` (0 < β1 < 1).
    """
    import_keras()
    import tensorflow as tf

    b1 = tf.cast(beta_1, tf.float32)
    return (y - (1 - b1) * z) / b1


def averaging_weight(steps: Any) -> Any:
    """The weight ``c = 1/t`` of step ``t`` (1-based) in the average ``x <- (1-c)·x + c·z``.

    Keras' ``ScheduleFreeAdamW`` weights every step alike (``weight = 1 / local_step``;
    the authors' ``schedulefree`` weights by the largest rate so far squared, the same at
    a constant rate without warmup). Float32 by ``DivNoNan``, as the population's update
    uses it and ``keras_optimizers``' class computes it: the step being >= 1, the same IEEE
    division as ``RealDiv``, but Grappler's constant folding rewrites a ``RealDiv`` of ones
    into ``Reciprocal``, whose CPU kernel is approximate on some CPUs
    (``tests/test_cross_cpu.py``), and leaves ``DivNoNan`` alone.

    Args:
        steps: ``t``, the optimizer steps taken counting this one (int or tensor, ≥ 1).

    Returns:
        A float32 scalar tensor.
    """
    import_keras()
    import tensorflow as tf

    step = tf.cast(steps, tf.float32)
    return tf.math.divide_no_nan(tf.ones_like(step), step)


def is_schedule_free(optimizer: Any) -> bool:
    """Whether a Keras optimizer is ``keras.optimizers.ScheduleFreeAdamW``."""
    return isinstance(optimizer, import_keras().optimizers.ScheduleFreeAdamW)


def evaluated_weights(model: Any) -> list[np.ndarray]:
    """The weights to evaluate and save, in ``get_weights`` order.

    ``x`` for a model compiled with ``ScheduleFreeAdamW`` (its optimizer built), the
    model's weights for any other optimizer.
    """
    optimizer = model.optimizer
    if not is_schedule_free(optimizer):
        return model.get_weights()
    averaged = {
        id(variable): np.asarray(averaged_weights(variable.value, momentum.value, optimizer.beta_1))
        for variable, momentum in zip(
            optimizer._trainable_variables, optimizer._momentums, strict=True
        )
    }
    return [averaged.get(id(w), np.asarray(w)) for w in model.weights]


def evaluation_callbacks(model: Any) -> list[Any]:
    """Keras callbacks that evaluate ``fit``'s validation at ``x`` (none but Schedule-Free's).

    ``fit`` runs its validation through ``evaluate`` with its own callbacks, so the weights
    are set to ``x`` at ``on_test_begin`` and back to ``y`` at ``on_test_end``.
    """
    keras = import_keras()
    if not is_schedule_free(model.optimizer):
        return []

    class EvaluateAveraged(keras.callbacks.Callback):
        """Swap ``y`` for ``x`` around every validation pass."""

        def on_test_begin(self, logs=None):
            self._trained = self.model.get_weights()
            self.model.set_weights(evaluated_weights(self.model))

        def on_test_end(self, logs=None):
            self.model.set_weights(self._trained)

    return [EvaluateAveraged()]
