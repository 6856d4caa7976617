"""Keras optimizer classes lrstudy defines for the ``fit`` loop (Keras' own where it can).

* ``schedule_free_adamw_class()``: Keras' ``ScheduleFreeAdamW`` with two lines changed
  in its ``update_step`` (the rest is Keras 3.15's, copied):

  - the averaging weight ``1 / step`` is computed by ``DivNoNan`` instead of
    ``1.0 / step``. TensorFlow's graph optimizer (Grappler's constant folding) rewrites a
    division of a constant one into a ``Reciprocal`` op, whose CPU kernel starts from the
    CPU's approximate reciprocal instruction and so differs in the last bits between CPU
    makers (``tests/test_cross_cpu.py``); ``DivNoNan`` is not rewritten and, the step
    being >= 1, is the same IEEE division as ``RealDiv``;
  - ``x_old`` is recovered from the ``z`` before the step, as the algorithm and the
    authors' code have it: Keras 3.15 keeps ``momentum_old = momentum.value``, which on
    the TensorFlow backend is the variable itself, read after its ``assign_sub``
    (``lrstudy.schedule_free``). Here it is a copy (``ops.copy``).

  Eagerly the class gives the population's update (``member_optimizers``, checked against
  the authors' ``schedulefree``) to the bit (``tests/test_keras_optimizers.py``).

* ``prodigy_class()``: the authors' Prodigy (``lrstudy.prodigy``), which Keras lacks.

The classes are made on first use (Keras is imported inside functions) and registered
with Keras' serialization under the package ``lrstudy``: ``lrstudy.model.load_model``
makes them before loading a saved model.
"""

from __future__ import annotations

import functools
from typing import Any

from lrstudy.prodigy import SLOTS, STATE, ProdigyOptions, prodigy_step, start_state
from lrstudy.runtime import import_keras

# Prodigy's options (``config.optimizers.ProdigyOptimizer``) and their defaults.
PRODIGY_KEYS: dict[str, Any] = {
    "d_coef": 1.0,
    "growth_rate": None,
    "d0": 1e-6,
    "beta_3": None,
    "weight_decay": 0.0,
    "safeguard_warmup": False,
    "use_bias_correction": False,
}


@functools.cache
def schedule_free_adamw_class() -> type:
    """``keras.optimizers.ScheduleFreeAdamW``, exact ``1/t``, ``z`` read before the step."""
    keras = import_keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="lrstudy")
    class ScheduleFreeAdamW(keras.optimizers.ScheduleFreeAdamW):
        """Keras' ``ScheduleFreeAdamW``, two lines changed (module doc)."""

        def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
            """Keras 3.15's ``update_step`` (without its comments), but the marked lines."""
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
            # Keras: ``momentum.value``, the variable itself, read after the assign_sub.
            momentum_old = ops.copy(momentum)
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


@functools.cache
def prodigy_class() -> type:
    """Prodigy (Mishchenko & Defazio 2023) as a Keras optimizer: ``lrstudy.prodigy``'s step.

    ``d`` is one number for the whole model, estimated from sums over every weight, so the
    step is taken for all weights at once (``_backend_update_step``, which Keras' base
    class runs for every variable in turn; no ``tf.distribute`` strategy, as lrstudy trains
    on one CPU). Variables, after Keras' ``iterations`` and ``learning_rate``: each
    weight's ``prodigy.SLOTS`` in turn, then the scalars ``prodigy.STATE``.
    """
    keras = import_keras()

    @keras.saving.register_keras_serializable(package="lrstudy")
    class Prodigy(keras.optimizers.Optimizer):
        """Prodigy with the options of ``config.optimizers.ProdigyOptimizer``."""

        def __init__(self, learning_rate: Any = 1.0, name: str = "prodigy", **kwargs: Any):
            """Keras' options, and ``PRODIGY_KEYS`` (their defaults where absent)."""
            keys = {key: kwargs.pop(key, value) for key, value in PRODIGY_KEYS.items()}
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)
            self.prodigy_keys = keys
            self.options = ProdigyOptions.of(keys)

        def build(self, variables: list) -> None:
            if self.built:
                return
            super().build(variables)
            self._prodigy_slots = [
                [self.add_variable_from_reference(variable, name) for name in SLOTS]
                for variable in variables
            ]
            self._prodigy_state = [
                self.add_variable((), initializer=keras.initializers.Constant(value), name=name)
                for name, value in zip(STATE, start_state(self.options.d0), strict=True)
            ]

        def _backend_update_step(self, grads: list, trainable_variables: list, learning_rate):
            """Prodigy's step on every weight at once (one member)."""
            _prodigy_update(self, grads, trainable_variables, learning_rate)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), **self.prodigy_keys}

    return Prodigy


def _prodigy_update(optimizer: Any, grads: list, variables: list, learning_rate: Any) -> None:
    """``prodigy_step`` on one member (the model), its result assigned to the variables."""
    import_keras()
    import tensorflow as tf

    def member(value: Any) -> Any:
        return tf.expand_dims(tf.cast(tf.convert_to_tensor(value), tf.float32), 0)

    own = [optimizer._prodigy_slots[optimizer._get_variable_index(v)] for v in variables]
    weights, new_slots, state = prodigy_step(
        optimizer.options,
        [member(v) for v in variables],
        [member(g) for g in grads],
        [tuple(member(slot) for slot in slots) for slots in own],
        tuple(tf.reshape(tf.convert_to_tensor(x), [1]) for x in optimizer._prodigy_state),
        tf.reshape(tf.cast(learning_rate, tf.float32), [1]),
    )
    for variable, weight, slots, values in zip(variables, weights, own, new_slots, strict=True):
        variable.assign(weight[0])
        for slot, value in zip(slots, values, strict=True):
            slot.assign(value[0])
    for variable, value in zip(optimizer._prodigy_state, state, strict=True):
        variable.assign(value[0])


def register_all() -> None:
    """Make (and so register with Keras' serialization) every class of this module."""
    schedule_free_adamw_class()
    prodigy_class()
