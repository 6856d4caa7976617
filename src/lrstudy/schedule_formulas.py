"""Learning-rate schedules as published formulas: pure arithmetic, one function each.

Each schedule is a plain function ``f(t, ...) -> rate`` of a time ``t`` and durations in
the same unit (ticks of the schedule's clock, see ``lrstudy.clock``); it needs no model,
no config and no TensorFlow, so it is tested against independent references on its own
(Keras' schedule classes, the papers' formulas, PyTorch's, transformers' and timm's
documented semantics). The functions accept floats or ``fractions.Fraction`` alike and
compare, floor and ceil them exactly; only the smooth parts (cosines, powers, square roots)
are evaluated in floating point. ``lrstudy.schedules`` binds a setting's values to them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence


def constant(t: float, lr: float) -> float:
    """The same rate at every step: ``lr``."""
    del t
    return float(lr)


def step_decay(t: float, lr: float, factor: float, every: float) -> float:
    """PyTorch ``StepLR``: ``lr * factor ** floor(t / every)``."""
    return lr * factor ** math.floor(t / every)


def multistep_decay(t: float, lr: float, factor: float, milestones: Sequence[float]) -> float:
    """PyTorch ``MultiStepLR``: ``lr * factor ** (number of milestones <= t)``.

    The cut takes effect *at* a milestone: with ``milestones=[10]`` the rate of ``t=10`` is
    already ``lr * factor``.
    """
    return lr * factor ** bisect.bisect_right(list(milestones), t)


def exponential_decay(
    t: float, lr: float, rate: float, decay: float = 1.0, staircase: bool = False, hold: float = 0.0
) -> float:
    """``lr`` until ``hold``, then ``lr * rate ** ((t - hold) / decay)``.

    With ``hold=0`` this is Keras' ``ExponentialDecay(lr, decay, rate, staircase)``;
    ``staircase`` floors the exponent. ``rate=exp(-k)``, ``decay=1``, ``hold=10`` is the
    notebook's ``lr if epoch < 10 else lr * exp(0.1 * (10 - epoch))`` for ``k=0.1``.
    """
    if t < hold:
        return float(lr)
    exponent = (t - hold) / decay
    if staircase:
        exponent = math.floor(exponent)
    return lr * rate**exponent


def cosine_decay(t: float, lr: float, decay: float, alpha: float = 0.0) -> float:
    """Keras ``CosineDecay``: ``lr * ((1 - alpha) * (1 + cos(pi * t / decay)) / 2 + alpha)``.

    ``t`` is clipped to ``decay``, after which the rate stays at ``alpha * lr``. The same as
    PyTorch's ``CosineAnnealingLR(T_max=decay, eta_min=alpha * lr)`` up to ``T_max``.
    """
    fraction = min(t, decay) / decay
    return lr * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha)


def cosine_restarts(
    t: float,
    lr: float,
    first_period: float,
    t_mul: float = 2.0,
    m_mul: float = 1.0,
    alpha: float = 0.0,
) -> float:
    """SGDR (Loshchilov & Hutter 2017), as Keras' ``CosineDecayRestarts``.

    Period ``i`` (0-based) lasts ``first_period * t_mul ** i`` and starts at the peak
    ``m_mul ** i``; within it ``lr * ((1 - alpha) * m_mul ** i * (1 + cos(pi * f)) / 2 + alpha)``
    with ``f`` the completed fraction of the period. Period ``i`` starts at
    ``first_period * (t_mul ** i - 1) / (t_mul - 1)`` (``first_period * i`` for ``t_mul = 1``);
    the index comes from that closed form (Keras' formula) and is then checked against the
    exact start times, so a restart lands on its boundary and no loop runs more than a
    couple of times, however short the period.

    Raises:
        ValueError: if ``first_period`` is not positive or ``t_mul`` is below 1.
    """
    if first_period <= 0 or t_mul < 1:
        raise ValueError(f"need first_period > 0 and t_mul >= 1, got {first_period}, {t_mul}")

    def start_of(index: int) -> float:
        if t_mul == 1:
            return first_period * index
        return first_period * (t_mul**index - 1) / (t_mul - 1)

    if t_mul == 1:
        restart = max(0, math.floor(t / first_period))
    else:
        growth = 1 - t * (1 - t_mul) / first_period
        restart = max(0, math.floor(math.log(max(float(growth), 1.0)) / math.log(t_mul)))
    while restart > 0 and start_of(restart) > t:  # floating-point estimate one too high
        restart -= 1
    while start_of(restart + 1) <= t:  # ... or one too low
        restart += 1
    period = first_period * t_mul**restart
    fraction = (t - start_of(restart)) / period
    decayed = 0.5 * m_mul**restart * (1.0 + math.cos(math.pi * fraction))
    return lr * ((1.0 - alpha) * decayed + alpha)


def polynomial_decay(
    t: float,
    lr: float,
    decay: float,
    end_lr: float = 0.0,
    power: float = 1.0,
    cycle: bool = False,
) -> float:
    """Keras ``PolynomialDecay``: ``(lr - end_lr) * (1 - t / decay) ** power + end_lr``.

    ``power=1`` is linear decay. Without ``cycle`` ``t`` is clipped to ``decay``; with it the
    period is the first multiple of ``decay`` not below ``t`` (``decay`` at ``t=0``).
    """
    if cycle:
        decay = decay * max(1, math.ceil(t / decay))
    else:
        t = min(t, decay)
    return (lr - end_lr) * (1.0 - t / decay) ** power + end_lr


def cyclic(
    t: float,
    min_lr: float,
    max_lr: float,
    step_size: float,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> float:
    """Smith's cyclical learning rate (Smith 2017, "Cyclical Learning Rates"; ``CyclicLR``).

    ``cycle = floor(1 + t / (2 * step_size))``, ``x = |t / step_size - 2 * cycle + 1|``,
    rate ``min_lr + (max_lr - min_lr) * max(0, 1 - x) * scale`` with ``scale`` 1
    (triangular), ``1 / 2 ** (cycle - 1)`` (triangular2) or ``gamma ** t`` (exp_range).
    ``t`` and ``step_size`` (the half-cycle) count optimizer steps.
    """
    cycle = math.floor(1 + t / (2 * step_size))
    x = abs(t / step_size - 2 * cycle + 1)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 0.5 ** (cycle - 1)  # a float power: past ~1,000 cycles it is 0, not an error
    elif mode == "exp_range":
        scale = gamma**t
    else:
        raise ValueError(f"unknown cyclic mode {mode!r}")
    return min_lr + (max_lr - min_lr) * max(0.0, 1.0 - x) * scale


def _anneal(start: float, end: float, fraction: float, strategy: str) -> float:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1.0)
    return (end - start) * fraction + start


def one_cycle(
    t: float,
    max_lr: float,
    total: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal_strategy: str = "cos",
    three_phase: bool = False,
) -> float:
    """The 1cycle policy (Smith & Topin 2018) as PyTorch's ``OneCycleLR`` defines it.

    From ``initial = max_lr / div_factor`` up to ``max_lr`` by step ``pct_start * total - 1``,
    then down to ``initial / final_div_factor`` at step ``total - 1`` (``three_phase``: back
    to ``initial`` by ``2 * pct_start * total - 2`` first), each phase annealed by cosine
    (``end + (start - end) / 2 * (1 + cos(pi * f))``) or linearly. After ``total - 1`` the
    rate stays at its final value.
    """
    initial = max_lr / div_factor
    final = initial / final_div_factor
    up_end = pct_start * total - 1
    if three_phase:
        phases = [
            (up_end, initial, max_lr),
            (2 * pct_start * total - 2, max_lr, initial),
            (total - 1, initial, final),
        ]
    else:
        phases = [(up_end, initial, max_lr), (total - 1, max_lr, final)]
    t = min(t, total - 1)
    phase_start = 0.0
    for index, (phase_end, start_lr, end_lr) in enumerate(phases):
        if t <= phase_end or index == len(phases) - 1:
            span = phase_end - phase_start
            fraction = (t - phase_start) / span if span > 0 else 1.0
            return _anneal(start_lr, end_lr, fraction, anneal_strategy)
        phase_start = phase_end
    raise AssertionError("unreachable")  # pragma: no cover


def linear_warmup(t: float, lr: float, warmup: float, start_factor: float = 0.0) -> float:
    """Linear warmup from ``start_factor * lr`` at ``t=0`` towards ``lr`` at ``t=warmup``.

    As Keras' ``CosineDecay`` warmup (``initial_learning_rate`` → ``warmup_target``) and
    PyTorch's ``LinearLR(start_factor, total_iters=warmup)``.
    """
    start = start_factor * lr
    return start + (lr - start) * t / warmup


# The cooldown shapes of warmup-stable-decay: the progress p in [0, 1] → a factor from 1 to 0.
COOLDOWNS = {
    "1-sqrt": lambda p: 1.0 - math.sqrt(p),  # Hägele et al. 2024, their best cooldown
    "linear": lambda p: 1.0 - p,  # the "trapezoidal" schedule
    "cosine": lambda p: 0.5 * (1.0 + math.cos(math.pi * p)),
}


def warmup_stable_decay(
    t: float,
    lr: float,
    decay_start: float,
    decay: float,
    decay_type: str = "1-sqrt",
    min_lr: float = 0.0,
) -> float:
    """WSD's stable phase and cooldown (Hu et al. 2024, MiniCPM; Hägele et al., NeurIPS 2024).

    ``lr`` until ``decay_start``, then ``min_lr + (lr - min_lr) * c(p)`` with the progress
    ``p = min(1, (t - decay_start) / decay)`` and the cooldown ``c`` one of ``COOLDOWNS``:
    ``1 - sqrt(p)`` (``1-sqrt``), ``1 - p`` (``linear``), ``(1 + cos(pi * p)) / 2``
    (``cosine``). ``p`` is 0 at ``decay_start`` and reaches 1 (the rate ``min_lr``) at
    ``decay_start + decay``, where it stays: transformers' ``get_wsd_schedule`` and timm's
    ``WSDLRScheduler`` alike, whose cooldown ends one step after the run's last.

    Raises:
        ValueError: for an unknown ``decay_type``.
    """
    if decay_type not in COOLDOWNS:
        raise ValueError(f"unknown decay_type {decay_type!r}; allowed: {', '.join(COOLDOWNS)}")
    if t <= decay_start:
        return float(lr)
    progress = min(1, (t - decay_start) / decay)
    return min_lr + (lr - min_lr) * COOLDOWNS[decay_type](progress)


def inverse_sqrt(t: float, lr: float, timescale: float) -> float:
    """The inverse square root decay: ``lr * sqrt(timescale / (t + timescale))``.

    ``t`` counts from the end of the warmup; with ``timescale`` the warmup's length ``W``
    this is the Transformer's ``lr * sqrt(W / step)`` (Vaswani et al. 2017), the step
    counted from the warmup's start. transformers' ``get_inverse_sqrt_schedule``:
    ``1 / sqrt((step + timescale - W) / timescale)``, the same for ``step = t + W``;
    timm's ``rsqrt`` stable phase: ``(1 + t / timescale) ** -0.5``.
    """
    return lr * math.sqrt(timescale / (t + timescale))


def rex(t: float, lr: float, decay: float) -> float:
    """REX (Chen, Wolfe & Kyrillidis, MLSys 2022): ``lr * (1 - z) / (1/2 + (1 - z) / 2)``.

    ``z = min(t, decay) / decay``: from ``lr`` at ``t = 0`` to 0 at ``t = decay``, after
    which the rate stays 0.
    """
    remaining = 1 - min(t, decay) / decay
    return lr * remaining / (0.5 + 0.5 * remaining)
