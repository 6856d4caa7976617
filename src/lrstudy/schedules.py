"""Learning-rate schedules: a validated setting → the rate at each tick of its clock.

The formulas are pure functions in ``lrstudy.schedule_formulas`` (``f(t, ...) -> rate``,
re-exported here). ``rate_function`` turns a validated schedule setting into the one
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
one early or late through floating-point rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
from lrstudy.config.schedules import InverseSqrtSchedule, RexSchedule, WsdSchedule
from lrstudy.schedule_formulas import (
    constant,
    cosine_decay,
    cosine_restarts,
    cyclic,
    exponential_decay,
    inverse_sqrt,
    linear_warmup,
    multistep_decay,
    one_cycle,
    polynomial_decay,
    rex,
    step_decay,
    warmup_stable_decay,
)

__all__ = [
    "BUILDERS",
    "constant",
    "cosine_decay",
    "cosine_restarts",
    "cyclic",
    "describe",
    "exponential_decay",
    "inverse_sqrt",
    "linear_warmup",
    "multistep_decay",
    "one_cycle",
    "polynomial_decay",
    "rate_function",
    "rex",
    "step_decay",
    "warmup_stable_decay",
]

RateFunction = Callable[[int], float]


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


def _wsd_body(schedule: WsdSchedule, lr: float, clock: RunClock) -> Body:
    """``warmup_stable_decay`` with its cooldown over the run's last ticks.

    The cooldown lasts ``decay_epochs`` (or ``decay_fraction`` of the run) and ends with
    the run; its start is counted from the end of the warmup, where the body's t = 0.

    Raises:
        ValueError: if the cooldown starts before the warmup ends (or before the run).
    """
    if schedule.decay_epochs is not None:
        decay = clock.ticks_of(schedule.decay_epochs)
    else:
        decay = as_rational(schedule.decay_fraction or 1.0) * clock.run
    decay_start = clock.run - decay - clock.warmup
    if decay_start < 0:
        raise ValueError(
            f"the cooldown of {decay} ticks after a warmup of {clock.warmup} ticks does not "
            f"fit a run of {clock.run} ticks"
        )
    min_lr = schedule.min_lr if schedule.min_lr is not None else (schedule.min_lr_ratio or 0) * lr
    return partial(
        warmup_stable_decay,
        lr=lr,
        decay_start=decay_start,
        decay=decay,
        decay_type=schedule.decay_type,
        min_lr=min_lr,
    )


def _inverse_sqrt_body(schedule: InverseSqrtSchedule, lr: float, clock: RunClock) -> Body:
    """``inverse_sqrt`` with ``timescale_epochs`` (default: the warmup's length).

    Raises:
        ValueError: without a timescale (no ``timescale_epochs`` and no warmup).
    """
    if schedule.timescale_epochs is not None:
        timescale = clock.ticks_of(schedule.timescale_epochs)
    else:
        timescale = clock.warmup
    if timescale <= 0:
        raise ValueError("inverse_sqrt needs timescale_epochs or a warmup to take it from")
    return partial(inverse_sqrt, lr=lr, timescale=timescale)


def _rex_body(schedule: RexSchedule, lr: float, clock: RunClock) -> Body:
    """``rex`` over ``decay_epochs`` (default: the rest of the run)."""
    return partial(rex, lr=lr, decay=_decay_ticks(clock, schedule.decay_epochs))


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
    WsdSchedule: _wsd_body,
    InverseSqrtSchedule: _inverse_sqrt_body,
    RexSchedule: _rex_body,
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
        epochs: the run's length; schedules that span the run (cosine, polynomial and rex
            without ``decay_epochs``, one_cycle without ``total_epochs``, wsd's cooldown at
            its end) derive theirs from it.

    Returns:
        ``f(t) -> float``: ``t`` is the epoch index for ``per: epoch``, the global optimizer
        step for ``per: step`` (both 0-based). For plateau, which reacts to training, ``f``
        gives the starting rate.

    Raises:
        TypeError: if ``schedule`` is no schedule setting.
        ValueError: if a cosine_restarts period is shorter than one tick, a wsd cooldown
            does not fit the run after its warmup, or inverse_sqrt has no timescale.
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
