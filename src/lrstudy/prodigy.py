"""Prodigy's step (Mishchenko & Defazio 2023) for members stacked along a first axis.

The arithmetic of the authors' ``prodigyopt.Prodigy.step`` (version 1.1.2, one parameter
group, ``decouple=True``, ``slice_p=1``, betas (0.9, 0.999), eps 1e-8), in its order, with
every member's ``d`` its own: ``d`` is one number per model, estimated from sums over all
of its weights, so each member sums over its own weights only. ``lrstudy.member_optimizers``
runs it for the population; ``lrstudy.keras_optimizers``' ``Prodigy`` class for ``fit``
(one member). ``tests/test_oracles.py`` checks both against the authors' code.

Per weight 4 slots (``SLOTS``), all zero before the first step: ``s`` (the estimate's
gradient sum), ``p0`` (the starting weights: taken at every step while ``k`` is 0, as the
weights do not move before the first step counted, where the authors copy them when they
first see a gradient; an assignment in a Keras ``build`` did not reach the variable under
``fit``, measured: ``fit``'s ``d`` grew from a wrong ``p0``), Adam's ``exp_avg`` and
``exp_avg_sq`` (both scaled by ``d``); per member 4 numbers
(``STATE``): ``d``, ``d_max``, ``d_numerator`` and ``k`` (the steps taken). The authors keep
those in Python floats (float64); here they are float32, like everything else, and so are
the sums (their ``.item()`` of float32 sums, accumulated in float64): the difference is the
float32 rounding of a few scalars per step (``tests/test_oracles.py`` bounds its effect).
``d / d0`` is ``d · (1/d0)`` with ``1/d0`` rounded once in Python: a division by a constant
that TensorFlow's graph optimizer would rewrite so anyway.

A member whose rate is 0 takes no step at all, and one whose gradient sums are all zero
updates its moments only, as the authors' ``step`` returns early then.

Errors: none raised; a member whose sums overflow gets non-finite weights (the population
marks it diverged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lrstudy.runtime import import_keras

SLOTS = ("s", "p0", "exp_avg", "exp_avg_sq")
STATE = ("d", "d_max", "d_numerator", "k")
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8  # the authors' defaults


@dataclass(frozen=True)
class ProdigyOptions:
    """Prodigy's options (``config.optimizers.ProdigyOptimizer``), ``None``s resolved.

    Attributes:
        d_coef: multiplies the estimate ``d_hat``.
        growth_rate: ``d``'s largest factor per step (``math.inf``: uncapped).
        d0: the first ``d``.
        beta_3: decay of the estimate's sums (the authors' default ``sqrt(beta_2)``).
        weight_decay: decoupled, ``w <- w - weight_decay·dlr·w``.
        safeguard_warmup: ``s`` sums gradients times ``d/d0·d`` instead of ``d/d0·dlr``.
        use_bias_correction: ``dlr`` times Adam's ``sqrt(1 - β2^k) / (1 - β1^k)``.
    """

    d_coef: float = 1.0
    growth_rate: float = math.inf
    d0: float = 1e-6
    beta_3: float = math.sqrt(BETA_2)
    weight_decay: float = 0.0
    safeguard_warmup: bool = False
    use_bias_correction: bool = False

    @classmethod
    def of(cls, options: dict[str, Any]) -> ProdigyOptions:
        """From the config's keys (``growth_rate``/``beta_3`` ``None``: the defaults)."""
        options = dict(options)
        if options.get("growth_rate") is None:
            options["growth_rate"] = math.inf
        if options.get("beta_3") is None:
            options["beta_3"] = math.sqrt(BETA_2)
        return cls(**options)


def start_state(d0: float) -> tuple[float, ...]:
    """``STATE`` before the first step: ``d = d_max = d0``, no numerator, no step."""
    return (d0, d0, 0.0, 0.0)


def effective_rate(d: Any, lr: Any) -> Any:
    """Prodigy's step size ``d · lr`` (float32), the rate its Adam-like update is scaled by.

    The authors' ``dlr`` before ``use_bias_correction``'s factor; with ``d`` read after a
    step and ``lr`` that step's rate, what ``runlog``'s ``effective_lr`` logs (the
    authors' ``param_groups[0]["d"] * lr`` after the step).

    Args:
        d: the estimate, float32 (a tensor ``[members]`` or a NumPy float32).
        lr: the scheduled rate, float32, broadcasting with ``d``.
    """
    return d * lr


def _per_member(value: Any, like: Any) -> Any:
    """``value`` of shape ``[members]`` reshaped to broadcast over ``like`` ``[members, ...]``."""
    import_keras()
    import tensorflow as tf

    return tf.reshape(value, [-1] + [1] * (len(like.shape) - 1))


def _sum(value: Any) -> Any:
    """Per member: the sum over every axis but the first."""
    import_keras()
    import tensorflow as tf

    return tf.reduce_sum(value, axis=list(range(1, len(value.shape))))


def prodigy_step(
    options: ProdigyOptions,
    weights: list,
    gradients: list,
    slots: list[tuple],
    state: tuple,
    lr: Any,
) -> tuple[list, list[tuple], tuple]:
    """One Prodigy step of every member (``prodigyopt.Prodigy.step``).

    Args:
        options: the optimizer's options.
        weights: per weight, float32 ``[members, *shape]``.
        gradients: shaped like ``weights``.
        slots: per weight, its ``SLOTS`` (each shaped like the weight).
        state: ``STATE``, each float32 ``[members]``.
        lr: the step's scheduled rate per member, float32 ``[members]``.

    Returns:
        The new weights, slots and state, in the same layout.
    """
    import_keras()
    import tensorflow as tf

    d, d_max, d_numerator, k = state
    b1, b2, b3 = (tf.constant(b, tf.float32) for b in (BETA_1, BETA_2, options.beta_3))
    dlr = d * lr
    if options.use_bias_correction:
        step = k + 1
        dlr = dlr * (tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step)))
    ratio = d * tf.constant(1 / options.d0, tf.float32)
    numerator = d_numerator * b3
    delta, denominator, moved = tf.zeros_like(d), tf.zeros_like(d), []
    s_rate = ratio * d if options.safeguard_warmup else ratio * dlr
    fresh = tf.equal(k, 0)
    for w, g, (s, p0, m, v) in zip(weights, gradients, slots, strict=True):
        p0 = tf.where(_per_member(fresh, w), w, p0)  # the weights before the first step
        delta = delta + ratio * dlr * _sum(g * (p0 - w))
        m = m * b1 + g * _per_member(d * (1 - b1), g)
        v = v * b2 + _per_member(d * d * (1 - b2), g) * g * g
        s = s * b3 + g * _per_member(s_rate, g)
        denominator = denominator + _sum(tf.abs(s))
        moved.append((s, p0, m, v))
    numerator = numerator + delta
    d_hat = options.d_coef * numerator / denominator
    new_d = tf.where(tf.equal(d, options.d0), tf.maximum(d, d_hat), d)
    new_d_max = tf.maximum(d_max, d_hat)
    new_d = tf.minimum(new_d_max, new_d * tf.constant(options.growth_rate, tf.float32))
    active = lr > 0
    steps = tf.logical_and(active, denominator > 0)
    new_weights, new_slots = [], []
    for w, old, (s, p0, m, v) in zip(weights, slots, moved, strict=True):
        stepped = w
        if options.weight_decay:
            stepped = stepped - stepped * _per_member(options.weight_decay * dlr, w)
        denom = tf.sqrt(v) + _per_member(new_d * EPSILON, w)
        stepped = stepped - _per_member(dlr, w) * (m / denom)
        new_weights.append(tf.where(_per_member(steps, w), stepped, w))
        on = _per_member(active, w)
        new_slots.append(
            (tf.where(on, s, old[0]), p0, tf.where(on, m, old[2]), tf.where(on, v, old[3]))
        )
    new_state = tuple(
        tf.where(steps, new, old)
        for new, old in zip((new_d, new_d_max, numerator, k + 1), state, strict=True)
    )
    return new_weights, new_slots, new_state
