"""Keras' optimizer updates for stacked members, each member with its own rate.

Each entry of ``OPTIMIZERS`` takes a Keras optimizer instance (its hyperparameters are
Keras' defaults: one home) and returns a ``MemberOptimizer``: how many state tensors each
variable needs (``n_slots``), ``update(variable, gradient, slots, lr, iterations) ->
(variable, slots)``, the arithmetic of the class's ``update_step`` in its order, on tensors
whose first axis is the member (``lr`` broadcasts: shape ``[members, 1, ...]``), the slots'
values before the first step (``start``: zeros, or the weights for Schedule-Free's ``z``)
and the weights a member is evaluated and saved with (``evaluated``: the trained weights,
or Schedule-Free's average ``x``) and, for Prodigy and Schedule-Free, the per-epoch value
logged under its ``runlog.OPTIMIZER_KEYS`` key (``logged``). Options the
population does not implement (Adam's amsgrad, momentum, centered RMSprop) raise
``ValueError``; ``model.optimizer`` offers none of them. Tests apply the same gradients
with Keras' classes and get the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrstudy.prodigy import SLOTS, STATE, effective_rate, prodigy_step, start_state
from lrstudy.runlog import AVERAGING_WEIGHT, EFFECTIVE_LR
from lrstudy.runtime import import_keras
from lrstudy.schedule_free import averaged_weights, averaging_weight


def _zeros(weight: np.ndarray, slot: int) -> np.ndarray:
    """Every slot of Adam, AdamW and RMSprop starts at zero (Keras' ``add_variable``)."""
    return np.zeros_like(weight)


def _trained(weight: Any, slots: tuple) -> Any:
    """A member is evaluated with the weights it trains (all but Schedule-Free)."""
    return weight


def flatten_slots(slots: list[list[np.ndarray]]) -> list[np.ndarray]:
    """One member's slots, per weight in turn (Keras' order: Adam's m, v of each weight)."""
    return [slot for per_weight in slots for slot in per_weight]


@dataclass(frozen=True)
class MemberOptimizer:
    """A Keras optimizer's update for stacked members (module docstring).

    Attributes:
        n_slots: state tensors per weight, each shaped like it.
        update: ``(variable, gradient, slots, lr, iterations) -> (variable, slots)``.
        start: ``(weight, slot index) -> that slot's initial value`` (NumPy, same shape).
        evaluated: ``(weight, slots) -> the weight to evaluate and save`` (tensors).
        logged: ``(key, value)`` or ``None``: ``value(slots, lr, steps)`` is what a member
            logs under ``key`` (a ``runlog.OPTIMIZER_KEYS`` key) after a step, float32
            ``[members]``, from the slots after it (the population's layout), its rate
            ``lr`` ``[members]`` and ``steps``, the steps taken counting it.
    """

    n_slots: int
    update: Callable | None
    start: Callable[[np.ndarray, int], np.ndarray] = _zeros
    evaluated: Callable[[Any, tuple], Any] = _trained
    update_all: Callable | None = None
    keras_slots: Callable[[list[list[np.ndarray]]], list[np.ndarray]] = flatten_slots
    logged: tuple[str, Callable[[list, Any, Any], Any]] | None = None

    @property
    def averages(self) -> bool:
        """Whether members are evaluated at other weights than they train (Schedule-Free)."""
        return self.evaluated is not _trained

    def apply(self, weights: list, gradients: list, slots: list, lr: Any, now: Any) -> tuple:
        """Every weight's step: ``update`` per weight, or ``update_all`` at once (Prodigy).

        Args:
            weights: per weight ``[members, *shape]``.
            gradients: shaped like ``weights``.
            slots: per slot, per weight (the population's layout).
            lr: the step's rate per member, ``[members]``.
            now: the optimizer steps taken before this one.

        Returns:
            ``(weights, slots)`` in the same layout.
        """
        import_keras()
        import tensorflow as tf

        if self.update_all is not None:
            return self.update_all(weights, gradients, slots, lr, now)
        new_weights, new_slots = [], [[] for _ in range(self.n_slots)]
        for k, (variable, gradient) in enumerate(zip(weights, gradients, strict=True)):
            member_lr = tf.reshape(lr, [-1] + [1] * (len(variable.shape) - 1))
            variable, own = self.update(variable, gradient, [s[k] for s in slots], member_lr, now)
            new_weights.append(variable)
            for slot, value in zip(new_slots, own, strict=True):
                slot.append(value)
        return new_weights, new_slots


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
        # 1 / step by DivNoNan, not a Reciprocal (schedule_free.averaging_weight).
        weight = averaging_weight(local_step)
        # The z before this step, as the algorithm reads (Keras 3.15's TF backend reads its
        # momentum variable after the assign_sub instead: module docstring of schedule_free).
        x_old = (variable - (1 - b1) * momentum) / b1
        x_new = (1 - weight) * x_old + weight * new_momentum
        return (1 - b1) * new_momentum + b1 * x_new, (new_momentum, velocity)

    def start(weight: np.ndarray, slot: int) -> np.ndarray:
        return weight.copy() if slot == 0 else np.zeros_like(weight)

    def evaluated(weight: Any, slots: tuple) -> Any:
        return averaged_weights(weight, slots[0], beta_1)

    def weight_of_step(slots: list, lr: Any, steps: Any) -> Any:
        # The same c for every member: they have taken the same steps.
        return tf.fill(tf.shape(lr), averaging_weight(steps))

    return MemberOptimizer(2, update, start, evaluated, logged=(AVERAGING_WEIGHT, weight_of_step))


def _prodigy(optimizer: Any) -> MemberOptimizer:
    """The authors' Prodigy (``lrstudy.prodigy``), each member with its own ``d``.

    8 slots per weight: ``prodigy.SLOTS`` (s, p0, exp_avg, exp_avg_sq), then the member's
    ``prodigy.STATE`` (d, d_max, d_numerator, k) repeated over the weight's shape (the
    population's slots are shaped like the weights; every weight holds the same copy, read
    from the first). In Keras' order (``keras_slots``): each weight's 4 slots, then the 4
    numbers, as ``keras_optimizers``' ``Prodigy`` adds its variables.
    """
    import_keras()
    import tensorflow as tf

    options = optimizer.options
    n = len(SLOTS)
    first_state = start_state(options.d0)

    def update_all(weights, gradients, slots, lr, now):
        per_weight = [tuple(slot[k] for slot in slots[:n]) for k in range(len(weights))]
        state = tuple(tf.reshape(slot[0], [tf.shape(slot[0])[0], -1])[:, 0] for slot in slots[n:])
        weights, per_weight, state = prodigy_step(
            options, weights, gradients, per_weight, state, lr
        )
        stacked = [[own[j] for own in per_weight] for j in range(n)]
        for value in state:
            stacked.append(
                [
                    tf.broadcast_to(tf.reshape(value, [-1] + [1] * (len(w.shape) - 1)), tf.shape(w))
                    for w in weights
                ]
            )
        return weights, stacked

    def start(weight: np.ndarray, slot: int) -> np.ndarray:
        if slot < n:  # p0 too: the first step takes it (lrstudy.prodigy)
            return np.zeros_like(weight)
        return np.full_like(weight, first_state[slot - n])

    def keras_slots(slots: list[list[np.ndarray]]) -> list[np.ndarray]:
        numbers = [np.float32(np.asarray(value).flat[0]) for value in slots[0][n:]]
        return [slot for per_weight in slots for slot in per_weight[:n]] + numbers

    def d_times_lr(slots: list, lr: Any, steps: Any) -> Any:
        d = slots[n + STATE.index("d")][0]  # every weight holds the same copy
        return effective_rate(tf.reshape(d, [tf.shape(d)[0], -1])[:, 0], lr)

    return MemberOptimizer(
        n + len(STATE),
        None,
        start,
        update_all=update_all,
        keras_slots=keras_slots,
        logged=(EFFECTIVE_LR, d_times_lr),
    )


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
    "prodigy": _prodigy,
}
