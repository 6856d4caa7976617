"""Learning-rate schedules as pure arithmetic.

Each schedule is a plain function ``f(t, ...) -> rate`` of a time ``t`` and durations in
the same unit; it needs no model and no TensorFlow, so it is tested against independent
references on its own (Keras' schedule classes, the papers' formulas, PyTorch's
documented semantics). ``rate_function`` turns a validated schedule setting into the one
function of the schedule's clock the training applies, through one small builder per
schedule family (``BUILDERS``), and is the single source of truth: ``lrstudy.rate_plan``
tabulates its values once per run and the training loops only apply them.

The clock: a setting with ``per: epoch`` sets the rate when each epoch begins, at
``t = epoch`` (0-based); ``per: step`` sets it before every optimizer step, at
``t = global step`` (0-based), ``steps_per_epoch`` ticks per epoch. Durations in a setting
are in epochs (cyclic's ``step_size`` excepted: optimizer steps) and are converted to ticks
exactly: each duration is taken as the decimal number written in params.yaml (``2.1`` is
21/10, see ``lrstudy.clock``) and multiplied by the ticks per epoch in rational
arithmetic, so a cut, restart or new cycle that falls on a tick happens at that tick, never
one early or late through floating-point rounding. The pure functions accept floats or
``fractions.Fraction`` alike and compare, floor and ceil them exactly; only the smooth parts
(cosines, powers) are evaluated in floating point.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from fractions import Fraction as Rational
from functools import partial
from typing import Any

from lrstudy.clock import RunClock, as_rational, in_ticks, lasts_a_tick, ticks_per_epoch
from lrstudy.config import (
    ConstantSchedule,
    CosineRestartsSchedule,
    CosineSchedule,
    CyclicSchedule,
    ExponentialSchedule,
    OneCycleSchedule,
    PlateauSchedule,
    PolynomialSchedule,
    StepSchedule,
)

RateFunction = Callable[[int], float]


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


# --- A setting → one function of its clock: one builder per schedule family. ------------------

Body = Callable[[float], float]
Builder = Callable[[Any, float, RunClock], Body]


def _constant_body(
    schedule: ConstantSchedule | PlateauSchedule, lr: float, clock: RunClock
) -> Body:
    """``constant``; plateau starts from it (its cuts come from Keras' callback)."""
    return partial(constant, lr=lr)


def _step_body(schedule: StepSchedule, lr: float, clock: RunClock) -> Body:
    """``step_decay`` every ``every`` epochs, or ``multistep_decay`` at ``milestones``."""
    if schedule.every is not None:
        return partial(
            step_decay, lr=lr, factor=schedule.factor, every=clock.ticks_of(schedule.every)
        )
    milestones = [clock.ticks_of(milestone) for milestone in schedule.milestones or ()]
    return partial(multistep_decay, lr=lr, factor=schedule.factor, milestones=milestones)


def _exponential_body(schedule: ExponentialSchedule, lr: float, clock: RunClock) -> Body:
    """``exponential_decay``; ``k`` stands for ``rate = exp(-k)``."""
    return partial(
        exponential_decay,
        lr=lr,
        rate=schedule.rate if schedule.rate is not None else math.exp(-(schedule.k or 0.0)),
        decay=clock.ticks_of(schedule.decay_epochs),
        staircase=schedule.staircase,
        hold=clock.ticks_of(schedule.hold_epochs),
    )


def _decay_ticks(clock: RunClock, decay_epochs: float | None) -> Rational:
    """``decay_epochs`` in ticks, or by default the rest of the run after the warmup.

    A warmup as long as the run leaves no rest of the run to decay over: 1 tick then,
    never reached (the rate just climbs for the whole run).
    """
    if decay_epochs is not None:
        return clock.ticks_of(decay_epochs)
    rest = clock.run - clock.warmup
    return rest if rest > 0 else Rational(1)


def _cosine_body(schedule: CosineSchedule, lr: float, clock: RunClock) -> Body:
    """``cosine_decay`` over ``decay_epochs`` (default: the rest of the run)."""
    decay = _decay_ticks(clock, schedule.decay_epochs)
    return partial(cosine_decay, lr=lr, decay=decay, alpha=schedule.alpha)


def _cosine_restarts_body(schedule: CosineRestartsSchedule, lr: float, clock: RunClock) -> Body:
    """``cosine_restarts``.

    Raises:
        ValueError: if the first period is shorter than one tick (``lasts_a_tick``).
    """
    first_period = clock.ticks_of(schedule.first_decay_epochs)
    if not lasts_a_tick(schedule.first_decay_epochs, clock.ticks_per_epoch):
        raise ValueError(
            f"first_decay_epochs={schedule.first_decay_epochs} is {first_period} ticks; "
            "a period must last at least one tick"
        )
    return partial(
        cosine_restarts,
        lr=lr,
        first_period=first_period,
        t_mul=as_rational(schedule.t_mul),
        m_mul=schedule.m_mul,
        alpha=schedule.alpha,
    )


def _polynomial_body(schedule: PolynomialSchedule, lr: float, clock: RunClock) -> Body:
    """``polynomial_decay`` over ``decay_epochs`` (default: the rest of the run)."""
    return partial(
        polynomial_decay,
        lr=lr,
        decay=_decay_ticks(clock, schedule.decay_epochs),
        end_lr=schedule.end_lr,
        power=schedule.power,
        cycle=schedule.cycle,
    )


def _cyclic_body(schedule: CyclicSchedule, lr: float, clock: RunClock) -> Body:
    """``cyclic`` in optimizer steps (Smith's formula counts them), whatever the clock."""
    in_steps = partial(
        cyclic,
        min_lr=schedule.min_lr,
        max_lr=schedule.max_lr if schedule.max_lr is not None else lr,
        step_size=(
            Rational(schedule.step_size)
            if schedule.step_size is not None
            else as_rational(schedule.step_size_epochs or 0.0) * clock.steps_per_epoch
        ),
        mode=schedule.mode,
        gamma=schedule.gamma,
    )
    steps_per_tick = clock.steps_per_epoch // clock.ticks_per_epoch
    return lambda t: in_steps(t * steps_per_tick)


def _one_cycle_body(schedule: OneCycleSchedule, lr: float, clock: RunClock) -> Body:
    """``one_cycle`` over ``total_epochs`` (default: the run)."""
    return partial(
        one_cycle,
        max_lr=schedule.max_lr if schedule.max_lr is not None else lr,
        total=clock.ticks_of(schedule.total_epochs or clock.epochs),
        pct_start=as_rational(schedule.pct_start),
        div_factor=schedule.div_factor,
        final_div_factor=schedule.final_div_factor,
        anneal_strategy=schedule.anneal_strategy,
        three_phase=schedule.three_phase,
    )


# One builder per schedule setting class: a new family is a config model and a builder here.
BUILDERS: dict[type, Builder] = {
    ConstantSchedule: _constant_body,
    PlateauSchedule: _constant_body,
    StepSchedule: _step_body,
    ExponentialSchedule: _exponential_body,
    CosineSchedule: _cosine_body,
    CosineRestartsSchedule: _cosine_restarts_body,
    PolynomialSchedule: _polynomial_body,
    CyclicSchedule: _cyclic_body,
    OneCycleSchedule: _one_cycle_body,
}


def rate_function(schedule: Any, lr: float, steps_per_epoch: int, epochs: int) -> RateFunction:
    """The rate ``schedule`` sets at each tick of its clock, for a run of ``epochs`` epochs.

    The family's builder (``BUILDERS``) gives the schedule's body; a warmup, for any family
    that has one, runs ``linear_warmup`` first and starts the body at ``t = 0`` after it. A
    warmup as long as the run leaves no rest of the run to decay over: the rate then just
    climbs for the whole run.

    Args:
        schedule: a validated schedule setting (one of the ``lrstudy.config`` models).
        lr: the setting's ``lr``: the initial rate, or the peak of a warmup, a cycle or 1cycle
            (cyclic and one_cycle use it as ``max_lr`` unless that is given).
        steps_per_epoch: optimizer steps per epoch (``steps_per_epoch(n_train, batch)``).
        epochs: the run's length; schedules that span the run (cosine and polynomial
            without ``decay_epochs``, one_cycle without ``total_epochs``) derive theirs from it.

    Returns:
        ``f(t) -> float``: ``t`` is the epoch index for ``per: epoch``, the global optimizer
        step for ``per: step`` (both 0-based). For plateau, which reacts to training, ``f``
        gives the starting rate.

    Raises:
        TypeError: if ``schedule`` is no schedule setting.
        ValueError: if a cosine_restarts period is shorter than one tick.
    """
    builder = next((BUILDERS[kind] for kind in type(schedule).__mro__ if kind in BUILDERS), None)
    if builder is None:
        raise TypeError(f"not a schedule setting: {schedule!r}")
    ticks = ticks_per_epoch(schedule.per, steps_per_epoch)
    warmup = in_ticks(getattr(schedule, "warmup_epochs", 0.0), ticks)
    body = builder(schedule, lr, RunClock(ticks, steps_per_epoch, epochs, warmup))
    if warmup > 0:
        start_factor = schedule.warmup_start_factor
        decaying = body

        def body(t: float) -> float:
            if t < warmup:
                return linear_warmup(t, lr, warmup, start_factor)
            return decaying(t - warmup)

    return lambda t: float(body(t))


# --- Tables. ------------------------------------------------------------------------------------


def describe(schedule: Any) -> str:
    """A short description of a schedule config for tables.

    Its type, and every parameter set to something other than its default (``per`` only
    where it differs from the type's own default).
    """
    fields = schedule.model_dump(exclude={"type", "per"}, exclude_defaults=True)
    if schedule.per != type(schedule).default_per(getattr(schedule, "warmup_epochs", 0)):
        fields["per"] = schedule.per
    if not fields:
        return schedule.type
    parts = [f"{key}={_short(value)}" for key, value in fields.items()]
    return f"{schedule.type} ({', '.join(parts)})"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(item) for item in value) + "]"
    return str(value)
