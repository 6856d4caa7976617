"""Keras' optimizer updates for stacked members, each member with its own rate.

Each entry of ``OPTIMIZERS`` takes a Keras optimizer instance (its hyperparameters are
Keras' defaults: one home) and returns ``(slots, update)``: how many state tensors each
variable needs and ``update(variable, gradient, slots, lr, iterations) -> (variable,
slots)``, the arithmetic of the class's ``update_step`` in its order, on tensors whose
first axis is the member (``lr`` broadcasts: shape ``[members, 1, ...]``). Options the
population does not implement (Adam's amsgrad, momentum, centered RMSprop) raise
``ValueError``; ``model.optimizer`` offers none of them. Tests apply the same gradients
with Keras' classes and get the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lrstudy.runtime import import_keras


def _adam(optimizer: Any) -> tuple[int, Callable]:
    """Keras' ``Adam.update_step`` (amsgrad off) with a per-member rate: 2 slots (m, v)."""
    import_keras()
    import tensorflow as tf

    if optimizer.amsgrad:
        raise ValueError("the population trainer implements Adam without amsgrad")
    beta_1, beta_2, epsilon = optimizer.beta_1, optimizer.beta_2, optimizer.epsilon

    def update(variable, gradient, slots, lr, iterations):
        m, v = slots
        local_step = tf.cast(iterations + 1, variable.dtype)
        beta_1_power = tf.pow(tf.cast(beta_1, variable.dtype), local_step)
        beta_2_power = tf.pow(tf.cast(beta_2, variable.dtype), local_step)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = m + (gradient - m) * (1 - beta_1)
        v = v + (tf.square(gradient) - v) * (1 - beta_2)
        return variable - (m * alpha) / (tf.sqrt(v) + epsilon), (m, v)

    return 2, update


def _adamw(optimizer: Any) -> tuple[int, Callable]:
    """Keras' ``AdamW``: the base class's decoupled decay, then ``Adam.update_step``.

    ``Optimizer.apply`` first runs ``_apply_weight_decay`` (``w - w * wd * lr``, the
    step's rate), then the Adam step on the decayed weight; 2 slots (m, v).
    """
    import_keras()
    import tensorflow as tf

    decay = tf.constant(optimizer.weight_decay, tf.float32)
    slots, adam = _adam(optimizer)

    def update(variable, gradient, slots, lr, iterations):
        variable = variable - variable * decay * lr
        return adam(variable, gradient, slots, lr, iterations)

    return slots, update


def _sgd(optimizer: Any) -> tuple[int, Callable]:
    """Keras' ``SGD.update_step`` without momentum: ``variable - gradient * lr``; no slot."""
    if optimizer.momentum != 0:
        raise ValueError("the population trainer implements SGD without momentum")

    def update(variable, gradient, slots, lr, iterations):
        return variable - gradient * lr, ()

    return 0, update


def _rmsprop(optimizer: Any) -> tuple[int, Callable]:
    """Keras' ``RMSprop.update_step`` (no momentum, not centered): 1 slot (velocity)."""
    import_keras()
    import tensorflow as tf

    if optimizer.momentum > 0 or optimizer.centered:
        raise ValueError("the population trainer implements RMSprop without momentum/centering")
    rho, epsilon = optimizer.rho, optimizer.epsilon

    def update(variable, gradient, slots, lr, iterations):
        (velocity,) = slots
        velocity = rho * velocity + (1 - rho) * tf.square(gradient)
        increment = (lr * gradient) / tf.sqrt(velocity + epsilon)
        return variable - increment, (velocity,)

    return 1, update


# Per optimizer ``type``: (slots per variable, update) from a Keras optimizer instance
# (its hyperparameters: Keras' defaults, one home).
OPTIMIZERS: dict[str, Callable[[Any], tuple[int, Callable]]] = {
    "adam": _adam,
    "adamw": _adamw,
    "sgd": _sgd,
    "rmsprop": _rmsprop,
}
