"""The schedule clock: optimizer steps per epoch, ticks, and durations turned into ticks.

A schedule set ``per: epoch`` changes the rate when each epoch begins (one tick per
epoch); ``per: step`` changes it before every optimizer step (``steps_per_epoch`` ticks
per epoch). Durations in params.yaml are in epochs and become ticks exactly: each is
taken as the decimal number written (``2.1`` is 21/10, ``as_rational``) and multiplied by
the ticks per epoch in rational arithmetic, so a boundary that falls on a tick lands on
it, never one early or late through floating-point rounding. A period (a restart's first
period, a cyclic half-cycle) must last at least one tick (``lasts_a_tick``). A
``RunClock`` holds one run's clock: what a schedule needs to place its durations on it.

Pure arithmetic on ints and ``fractions.Fraction``: no NumPy, no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction as Rational
from typing import Literal

Per = Literal["epoch", "step"]

# Durations are kept to 9 decimal places (``as_rational``): a shorter one would become 0.
MIN_DURATION = 1e-9
# The longest duration in epochs (a billion): its ticks stay far inside a float's range
# (and exact below 2**53 for any batch), where a warmup of 1e308 epochs overflowed.
MAX_DURATION = 1e9


def as_rational(value: float) -> Rational:
    """A duration as an exact fraction: the simplest one within rounding of the value read.

    The nearest fraction with a denominator of at most 10**9: ``2.1`` gives 21/10 (not the
    float's 2.100000000000000088...), ``0.08333333333333333`` gives 1/12, and any decimal
    of up to 9 places is itself. It differs from the float by less than 1e-9, far below
    one tick of any schedule here.
    """
    return Rational(repr(float(value))).limit_denominator(10**9)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: ``ceil(n_train / batch_size)`` (the last batch may be short).

    Raises:
        ValueError: if either count is not positive.
    """
    if n_train < 1 or batch_size < 1:
        raise ValueError(f"need n_train >= 1 and batch_size >= 1, got {n_train}, {batch_size}")
    return math.ceil(n_train / batch_size)


def ticks_per_epoch(per: Per, steps: int) -> int:
    """How many times per epoch a schedule set ``per`` epoch or step changes the rate."""
    return steps if per == "step" else 1


def in_ticks(duration: float, ticks: int) -> Rational:
    """A duration in epochs as an exact number of ticks (``as_rational(duration) * ticks``)."""
    return as_rational(duration) * ticks


def lasts_a_tick(duration: float, ticks: int) -> bool:
    """The one-tick rule: a period of ``duration`` epochs spans at least one tick."""
    return in_ticks(duration, ticks) >= 1


@dataclass(frozen=True)
class RunClock:
    """One run's schedule clock: ticks per epoch, the run's length, and its warmup.

    Attributes:
        ticks_per_epoch: rate changes per epoch (``ticks_per_epoch(per, steps_per_epoch)``).
        steps_per_epoch: optimizer steps per epoch.
        epochs: the run's length in epochs.
        warmup: ticks of the schedule's warmup, before its own ``t = 0`` (0 without one).
    """

    ticks_per_epoch: int
    steps_per_epoch: int
    epochs: int
    warmup: Rational = Rational(0)

    @property
    def run(self) -> int:
        """The run's length in ticks: ``epochs * ticks_per_epoch``."""
        return self.epochs * self.ticks_per_epoch

    def ticks_of(self, duration: float) -> Rational:
        """A duration in epochs as an exact number of this clock's ticks (``in_ticks``)."""
        return in_ticks(duration, self.ticks_per_epoch)
