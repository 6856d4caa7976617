"""Keras optimizer classes lrstudy defines for the ``fit`` loop (Keras' own where it can).

* ``schedule_free_adamw_class()``: Keras' ``ScheduleFreeAdamW`` with its averaging weight
  ``1 / step`` computed by ``DivNoNan`` instead of ``1.0 / step``. TensorFlow's graph
  optimizer (Grappler's constant folding) rewrites a division of a constant one into a
  ``Reciprocal`` op, whose CPU kernel starts from the CPU's approximate reciprocal
  instruction and so differs in the last bits between CPU makers
  (``tests/test_cross_cpu.py``); ``DivNoNan`` is not rewritten and, the step being >= 1,
  is the same IEEE division as ``RealDiv``. That line is the only change: the rest of
  ``update_step`` is Keras 3.15's, copied (its reading of ``z`` after the update included:
  ``lrstudy.schedule_free``). Eagerly (no Grappler) both classes give the same bits
  (``tests/test_keras_optimizers.py``).

The classes are made on first use (Keras is imported inside functions) and registered
with Keras' serialization under the package ``lrstudy``: ``lrstudy.model.load_model``
makes them before loading a saved model.
"""

from __future__ import annotations

import functools
from typing import Any

from lrstudy.runtime import import_keras


@functools.cache
def schedule_free_adamw_class() -> type:
    """``keras.optimizers.ScheduleFreeAdamW`` with an exact averaging weight (module doc)."""
    keras = import_keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="lrstudy")
    class ScheduleFreeAdamW(keras.optimizers.ScheduleFreeAdamW):
        """Keras' ``ScheduleFreeAdamW``; ``weight = 1 / step`` by ``DivNoNan`` (module doc)."""

        def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
            """Keras 3.15's ``update_step`` (without its comments), but the marked line."""
            lr = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            local_step = ops.cast(self.iterations + 1, variable.dtype)
            beta_1 = ops.cast(self.beta_1, variable.dtype)
            beta_2 = ops.cast(self.beta_2, variable.dtype)
            epsilon = ops.cast(self.epsilon, variable.dtype)
            if self.warmup_steps > 0:
                warmup_steps = ops.cast(self.warmup_steps, variable.dtype)
                lr = lr * ops.minimum(local_step / warmup_steps, 1.0)
            var_index = self._get_variable_index(variable)
            momentum = self._momentums[var_index]
            velocity = self._velocities[var_index]
            momentum_old = momentum.value
            bias_correction_2 = 1 - ops.power(beta_2, local_step)
            self.assign_add(
                velocity,
                ops.multiply(ops.subtract(ops.square(gradient), velocity), 1 - beta_2),
            )
            denom = ops.add(ops.sqrt(velocity / bias_correction_2), epsilon)
            self.assign_sub(momentum, ops.divide(ops.multiply(lr, gradient), denom))
            # Keras: ``weight = 1.0 / local_step`` (a Reciprocal op after Grappler).
            weight = ops.divide_no_nan(ops.ones_like(local_step), local_step)
            x_old = ops.divide(
                ops.subtract(variable, ops.multiply(1 - beta_1, momentum_old)), beta_1
            )
            x_new = ops.add(ops.multiply(1 - weight, x_old), ops.multiply(weight, momentum))
            y_new = ops.add(ops.multiply(1 - beta_1, momentum), ops.multiply(beta_1, x_new))
            self.assign(variable, y_new)

    return ScheduleFreeAdamW


def register_all() -> None:
    """Make (and so register with Keras' serialization) every class of this module."""
    schedule_free_adamw_class()
