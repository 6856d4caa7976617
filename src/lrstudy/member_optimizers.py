"""Keras' optimizer updates for stacked members, each member with its own rate.

Each entry of ``OPTIMIZERS`` takes a Keras optimizer instance (its hyperparameters are
Keras' defaults: one home) and returns a ``MemberOptimizer``: how many state tensors each
variable needs (``n_slots``), ``update(variable, gradient, slots, lr, iterations) ->
(variable, slots)``, the arithmetic of the class's ``update_step`` in its order, on tensors
whose first axis is the member (``lr`` broadcasts: shape ``[members, 1, ...]``), the slots'
values before the first step (``start``: zeros, or the weights for Schedule-Free's ``z``)
and the weights a member is evaluated and saved with (``evaluated``: the trained weights,
or Schedule-Free's average ``x``). Options the
population does not implement (Adam's amsgrad, momentum, centered RMSprop) raise
``ValueError``; ``model.optimizer`` offers none of them. Tests apply the same gradients
with Keras' classes and get the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrstudy.runtime import import_keras
from lrstudy.schedule_free import averaged_weights


def _zeros(weight: np.ndarray, slot: int) -> np.ndarray:
    """Every slot of Adam, AdamW and RMSprop starts at zero (Keras' ``add_variable``)."""
    return np.zeros_like(weight)


def _trained(weight: Any, slots: tuple) -> Any:
    """A member is evaluated with the weights it trains (all but Schedule-Free)."""
    return weight


@dataclass(frozen=True)
class MemberOptimizer:
    """A Keras optimizer's update for stacked members (module docstring).

    Attributes:
        n_slots: state tensors per weight, each shaped like it.
        update: ``(variable, gradient, slots, lr, iterations) -> (variable, slots)``.
        start: ``(weight, slot index) -> that slot's initial value`` (NumPy, same shape).
        evaluated: ``(weight, slots) -> the weight to evaluate and save`` (tensors).
    """

    n_slots: int
    update: Callable
    start: Callable[[np.ndarray, int], np.ndarray] = _zeros
    evaluated: Callable[[Any, tuple], Any] = _trained

    @property
    def averages(self) -> bool:
        """Whether members are evaluated at other weights than they train (Schedule-Free)."""
        return self.evaluated is not _trained


def _adam(optimizer: Any) -> MemberOptimizer:
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

    return MemberOptimizer(2, update)


def _adamw(optimizer: Any) -> MemberOptimizer:
    """Keras' ``AdamW``: the base class's decoupled decay, then ``Adam.update_step``.

    ``Optimizer.apply`` first runs ``_apply_weight_decay`` (``w - w * wd * lr``, the
    step's rate), then the Adam step on the decayed weight; 2 slots (m, v).
    """
    import_keras()
    import tensorflow as tf

    decay = tf.constant(optimizer.weight_decay, tf.float32)
    adam = _adam(optimizer).update

    def update(variable, gradient, slots, lr, iterations):
        variable = variable - variable * decay * lr
        return adam(variable, gradient, slots, lr, iterations)

    return MemberOptimizer(2, update)


def _sgd(optimizer: Any) -> MemberOptimizer:
    """Keras' ``SGD.update_step`` without momentum: ``variable - gradient * lr``; no slot."""
    if optimizer.momentum != 0:
        raise ValueError("the population trainer implements SGD without momentum")

    def update(variable, gradient, slots, lr, iterations):
        return variable - gradient * lr, ()

    return MemberOptimizer(0, update)


def _rmsprop(optimizer: Any) -> MemberOptimizer:
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

    return MemberOptimizer(1, update)


def _schedule_free_adamw(optimizer: Any) -> MemberOptimizer:
    """Keras' ``ScheduleFreeAdamW.update_step`` (Defazio et al. 2024), ``z`` read before the step.

    Keras' order, with ``x_old`` from the ``z`` before the step, as the algorithm and the
    authors' code have it (Keras 3.15 reads the updated one: ``lrstudy.schedule_free``).

    2 slots: ``z`` (Keras' ``momentum``, the sequence the gradient steps move; it starts at
    the weights, as Keras' ``build`` copies them) and ``v`` (Adam's second moment). The
    trained weights are ``y``; a member is evaluated and saved at the average ``x``
    (``schedule_free.averaged_weights``). Keras' ``warmup_steps`` and weight decay are not
    offered (a ``constant`` schedule's warmup does the former).
    """
    import_keras()
    import tensorflow as tf

    if optimizer.warmup_steps or optimizer.weight_decay:
        raise ValueError(
            "the population trainer implements ScheduleFreeAdamW without warmup_steps/weight decay"
        )
    beta_1, beta_2, epsilon = optimizer.beta_1, optimizer.beta_2, optimizer.epsilon

    def update(variable, gradient, slots, lr, iterations):
        momentum, velocity = slots
        local_step = tf.cast(iterations + 1, variable.dtype)
        b1, b2 = tf.cast(beta_1, variable.dtype), tf.cast(beta_2, variable.dtype)
        bias_correction_2 = 1 - tf.pow(b2, local_step)
        velocity = velocity + (tf.square(gradient) - velocity) * (1 - b2)
        denom = tf.sqrt(velocity / bias_correction_2) + tf.cast(epsilon, variable.dtype)
        new_momentum = momentum - (lr * gradient) / denom
        # 1 / step by DivNoNan (the step is >= 1: the same IEEE division as RealDiv): Grappler's
        # constant folding rewrites a RealDiv of ones into Reciprocal, whose CPU kernel is
        # approximate on some CPUs (tests/test_cross_cpu.py); it leaves DivNoNan alone.
        weight = tf.math.divide_no_nan(tf.ones_like(local_step), local_step)
        # The z before this step, as the algorithm reads (Keras 3.15's TF backend reads its
        # momentum variable after the assign_sub instead: module docstring of schedule_free).
        x_old = (variable - (1 - b1) * momentum) / b1
        x_new = (1 - weight) * x_old + weight * new_momentum
        return (1 - b1) * new_momentum + b1 * x_new, (new_momentum, velocity)

    def start(weight: np.ndarray, slot: int) -> np.ndarray:
        return weight.copy() if slot == 0 else np.zeros_like(weight)

    def evaluated(weight: Any, slots: tuple) -> Any:
        return averaged_weights(weight, slots[0], beta_1)

    return MemberOptimizer(2, update, start, evaluated)


def evaluated_weights(optimizer: MemberOptimizer, weights: list, slots: list) -> list:
    """Every weight as evaluated and saved (``optimizer.evaluated``), slots per weight."""
    return [optimizer.evaluated(w, tuple(slot[k] for slot in slots)) for k, w in enumerate(weights)]


# Per optimizer ``type``: its ``MemberOptimizer`` from a Keras optimizer instance (its
# hyperparameters: Keras' defaults, one home).
OPTIMIZERS: dict[str, Callable[[Any], MemberOptimizer]] = {
    "adam": _adam,
    "adamw": _adamw,
    "sgd": _sgd,
    "rmsprop": _rmsprop,
    "schedule_free_adamw": _schedule_free_adamw,
}
