"""The schedule settings: one schema per schedule type, told apart by ``type``.

``Schedule`` is the field type of a setting's ``schedule``: the twelve schemas as one union
keyed by ``type``, cross-checked against the setting's ``lr``. Durations are in epochs
(fractions allowed); the clock they become ticks on is ``lrstudy.clock``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction as Rational
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lrstudy.clock import MAX_DURATION, MIN_DURATION, Per, as_rational
from lrstudy.config.types import (
    Fraction,
    LearningRate,
    PositiveFloat,
    PositiveInt,
    RateFloor,
    StrictBool,
    StrictModel,
    given,
    strict_number,
)

NonNegativeFloat = strict_number(float, ge=0)
_DURATION_NOTE = "durations in epochs are kept to 9 decimal places, up to a billion epochs"
Epochs = strict_number(float, _DURATION_NOTE, ge=MIN_DURATION, le=MAX_DURATION)
WarmupEpochs = strict_number(float, _DURATION_NOTE, ge=0, le=MAX_DURATION)
StartFactor = strict_number(float, ge=0, lt=1)
DecayFactor = strict_number(float, gt=0, lt=1)
Alpha = strict_number(float, ge=0, lt=1)


class _ScheduleBase(StrictModel):
    """What every schedule setting shares: the clock it runs on, ``per``.

    ``per: epoch`` sets the rate when each epoch begins; ``per: step`` sets it before
    every optimizer step. Durations (``*_epochs``, ``every``, ``milestones``) are always in
    epochs (fractions allowed), so ``per`` changes how finely the curve is followed, not its
    shape over epochs. Left out, ``per`` is ``step`` for the step-based schedules (cyclic,
    one_cycle) and for any schedule with a warmup, else ``epoch``.
    """

    STEPPED: ClassVar[bool] = False

    @classmethod
    def default_per(cls, warmup_epochs: Any = 0) -> str:
        """The ``per`` a setting gets when it leaves ``per`` out.

        Args:
            warmup_epochs: the setting's ``warmup_epochs`` as given (0 if it has none).
        """
        if cls.STEPPED:
            return "step"
        try:
            return "step" if float(warmup_epochs or 0) > 0 else "epoch"
        except (TypeError, ValueError):
            return "epoch"

    def problems_in_a_run(self, epochs: int, at: Sequence[str] = ()) -> list[str]:
        """Why the schedule (at key path ``at``) cannot run ``epochs`` epochs: one line each."""
        del epochs, at
        return []

    @model_validator(mode="before")
    @classmethod
    def _fill_in_per(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "per" in cls.model_fields and "per" not in data:
            return {**data, "per": cls.default_per(data.get("warmup_epochs", 0))}
        return data


class _Warmup(_ScheduleBase):
    """An optional linear warmup before a decaying schedule, and the clock it runs on.

    The rate rises linearly from ``warmup_start_factor * lr`` to ``lr`` over
    ``warmup_epochs``, then the schedule itself starts at t = 0; with a warmup, ``per``
    defaults to ``step`` (see ``default_per``). Mixed in first, before the class holding the
    schedule's own keys (``StepSchedule(_Warmup, _StepDecay)``), so that the warmup keys
    and ``per`` come after the schedule's own keys: pydantic orders fields base class
    first, and that order is the order of the allowed keys and of the problems in a
    message and of the parameters in ``lrstudy.schedules.describe``.
    """

    warmup_epochs: WarmupEpochs = 0.0
    warmup_start_factor: StartFactor = 0.0
    per: Per = "epoch"


def _exactly_one(
    model: BaseModel, first: str, second: str, what: str, required: bool = True
) -> None:
    """Raise unless exactly one of two alternative keys is set (at most one if not required)."""
    present = [key for key in (first, second) if getattr(model, key) is not None]
    if len(present) == 2 or (required and not present):
        raise PydanticCustomError(
            "exactly_one",
            "give {how} one of '{first}' or '{second}' ({what}); got {got}",
            {
                "how": "exactly" if required else "at most",
                "first": first,
                "second": second,
                "what": what,
                "got": "both" if present else "neither",
            },
        )


class _Constant(_ScheduleBase):
    """The keys of ``ConstantSchedule`` before its warmup."""

    type: Literal["constant"]


class ConstantSchedule(_Warmup, _Constant):
    """The rate stays at the setting's ``lr``; optionally after a linear warmup.

    With a warmup from 0, transformers' ``constant_with_warmup``.
    """


class _StepDecay(_ScheduleBase):
    """The keys of ``StepSchedule`` before its warmup."""

    type: Literal["step"]
    factor: DecayFactor = 0.1
    every: Epochs | None = None
    milestones: Annotated[list[Epochs], Field(min_length=1)] | None = None

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b <= a for a, b in pairwise(value)):
            raise PydanticCustomError("milestones_order", "milestones must be strictly increasing")
        return value

    @model_validator(mode="after")
    def _every_or_milestones(self) -> _StepDecay:
        _exactly_one(self, "every", "milestones", "a period or a list of epochs")
        return self


class StepSchedule(_Warmup, _StepDecay):
    """Step decay: multiply the rate by ``factor`` at fixed epochs.

    Every ``every`` epochs (PyTorch ``StepLR``), or at each of the ``milestones`` epochs
    (``MultiStepLR``); optionally after a linear warmup.
    """


class _ExponentialDecay(_ScheduleBase):
    """The keys of ``ExponentialSchedule`` before its warmup."""

    type: Literal["exponential"]
    rate: DecayFactor | None = None
    k: PositiveFloat | None = None
    decay_epochs: Epochs = 1.0
    staircase: StrictBool = False
    hold_epochs: WarmupEpochs = 0.0

    @model_validator(mode="after")
    def _rate_or_k(self) -> _ExponentialDecay:
        _exactly_one(self, "rate", "k", "rate = exp(-k)")
        return self


class ExponentialSchedule(_Warmup, _ExponentialDecay):
    """``lr * rate ** (t / decay_epochs)`` after ``hold_epochs`` at ``lr``.

    ``k`` instead of ``rate`` gives the notebook's form ``lr * exp(-k * (t - hold_epochs))``
    (``rate = exp(-k)``); ``staircase`` floors ``t / decay_epochs`` (Keras ``ExponentialDecay``).
    """


class _CosineDecay(_ScheduleBase):
    """The keys of ``CosineSchedule`` before its warmup."""

    type: Literal["cosine"]
    decay_epochs: Epochs | None = None
    alpha: Alpha = 0.0


class CosineSchedule(_Warmup, _CosineDecay):
    """Cosine decay from ``lr`` to ``alpha * lr`` over ``decay_epochs`` (Keras ``CosineDecay``).

    ``decay_epochs`` defaults to the rest of the run after the warmup.
    """


class _CosineRestarts(_ScheduleBase):
    """The keys of ``CosineRestartsSchedule`` before its warmup."""

    type: Literal["cosine_restarts"]
    first_decay_epochs: Epochs
    t_mul: strict_number(float, ge=1) = 2.0
    m_mul: strict_number(float, gt=0, le=1) = 1.0
    alpha: Alpha = 0.0


class CosineRestartsSchedule(_Warmup, _CosineRestarts):
    """SGDR: cosine decay restarted after each period (Keras ``CosineDecayRestarts``).

    The first period lasts ``first_decay_epochs``; each next one ``t_mul`` times longer,
    with a peak ``m_mul`` times lower; the floor is ``alpha * lr``.
    """


class _PolynomialDecay(_ScheduleBase):
    """The keys of ``PolynomialSchedule`` before its warmup."""

    type: Literal["polynomial"]
    decay_epochs: Epochs | None = None
    end_lr: RateFloor = 0.0
    power: PositiveFloat = 1.0
    cycle: StrictBool = False


class PolynomialSchedule(_Warmup, _PolynomialDecay):
    """``(lr - end_lr) * (1 - t / decay_epochs) ** power + end_lr`` (Keras ``PolynomialDecay``).

    ``power: 1`` is linear decay. ``decay_epochs`` defaults to the rest of the run after the
    warmup; ``cycle`` restarts the decay with a period the next multiple of decay_epochs.
    """


class _WarmupStableDecay(_ScheduleBase):
    """The keys of ``WsdSchedule`` before its warmup."""

    type: Literal["wsd"]
    decay_epochs: Epochs | None = None
    decay_fraction: strict_number(float, gt=0, le=1) | None = None
    decay_type: Literal["1-sqrt", "linear", "cosine"] = "1-sqrt"
    min_lr: RateFloor | None = None
    min_lr_ratio: Alpha | None = None

    @model_validator(mode="after")
    def _one_length_at_most_one_floor(self) -> _WarmupStableDecay:
        _exactly_one(self, "decay_epochs", "decay_fraction", "the cooldown's length")
        _exactly_one(self, "min_lr", "min_lr_ratio", "the floor; default 0", required=False)
        return self


class WsdSchedule(_Warmup, _WarmupStableDecay):
    """Warmup-stable-decay (MiniCPM, Hu et al. 2024; Hägele et al., NeurIPS 2024).

    ``lr`` after the warmup until a cooldown over the run's last ``decay_epochs`` (or
    ``decay_fraction`` of it) takes it along ``decay_type`` to ``min_lr`` (or its ratio).
    """

    def problems_in_a_run(self, epochs: int, at: Sequence[str] = ()) -> list[str]:
        """Where the cooldown (after the warmup) does not fit a run of ``epochs`` epochs."""
        run = Rational(epochs)
        key = "decay_epochs" if self.decay_epochs is not None else "decay_fraction"
        length = f"{key} = {given((*at, key), getattr(self, key))}"
        if self.decay_epochs is not None:
            decay = as_rational(self.decay_epochs)
        else:
            decay = as_rational(self.decay_fraction or 1) * run
            length += " of them"
        if decay > run:
            return [
                f"{length}: longer than the run; the cooldown lasts at most its {epochs} epochs"
            ]
        if as_rational(self.warmup_epochs) > run - decay:
            return [
                f"warmup_epochs = {given((*at, 'warmup_epochs'), self.warmup_epochs)}: the warmup "
                f"runs past the cooldown's start at epoch {float(run - decay):g} (the run's "
                f"{epochs} epochs less {length}); warmup and cooldown must fit in the run"
            ]
        return []


class _InverseSqrtDecay(_ScheduleBase):
    """The keys of ``InverseSqrtSchedule`` before its warmup."""

    type: Literal["inverse_sqrt"]
    timescale_epochs: Epochs | None = None


class InverseSqrtSchedule(_Warmup, _InverseSqrtDecay):
    """``lr * sqrt(timescale / (t + timescale))`` after the warmup (the Transformer's).

    ``timescale_epochs`` defaults to ``warmup_epochs``, giving ``lr * sqrt(warmup / t)``
    with ``t`` counted from the warmup's start (transformers' ``get_inverse_sqrt_schedule``).
    """

    @model_validator(mode="after")
    def _has_a_timescale(self) -> InverseSqrtSchedule:
        if self.timescale_epochs is None and as_rational(self.warmup_epochs) == 0:
            message = "give 'timescale_epochs' or a warmup of 1e-9 epochs or more (its default)"
            raise PydanticCustomError("no_timescale", message)
        return self


class _RexDecay(_ScheduleBase):
    """The keys of ``RexSchedule`` before its warmup."""

    type: Literal["rex"]
    decay_epochs: Epochs | None = None


class RexSchedule(_Warmup, _RexDecay):
    """REX (Chen, Wolfe & Kyrillidis, MLSys 2022): ``lr * (1 - z) / (1/2 + (1 - z) / 2)``.

    ``z = t / decay_epochs`` (default: the rest of the run after the warmup).
    """


class CyclicSchedule(_ScheduleBase):
    """Smith's cyclical learning rate (PyTorch ``CyclicLR``) between min_lr and max_lr.

    The half-cycle lasts ``step_size`` optimizer steps or ``step_size_epochs`` epochs.
    ``max_lr`` defaults to the setting's ``lr``. ``triangular2`` halves the amplitude every
    cycle; ``exp_range`` scales it by ``gamma ** step`` (step = optimizer step).
    """

    STEPPED: ClassVar[bool] = True

    type: Literal["cyclic"]
    min_lr: RateFloor
    max_lr: LearningRate | None = None
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: strict_number(float, gt=0, le=1) = 1.0
    step_size: PositiveInt | None = None
    step_size_epochs: Epochs | None = None
    per: Per = "step"

    @field_validator("max_lr")
    @classmethod
    def _above_min_lr(cls, value: float | None, info: ValidationInfo) -> float | None:
        min_lr = info.data.get("min_lr")
        if value is not None and min_lr is not None and value <= min_lr:
            raise PydanticCustomError(
                "max_below_min",
                "max_lr must be greater than min_lr ({min_lr})",
                {"min_lr": given("min_lr", min_lr)},
            )
        return value

    @model_validator(mode="after")
    def _one_half_cycle(self) -> CyclicSchedule:
        _exactly_one(self, "step_size", "step_size_epochs", "the half-cycle length")
        return self


class OneCycleSchedule(_ScheduleBase):
    """Smith & Topin's 1cycle policy (PyTorch ``OneCycleLR``) over the whole run.

    Up from ``max_lr / div_factor`` to ``max_lr`` in the first ``pct_start`` of the run,
    then down to ``max_lr / (div_factor * final_div_factor)``; ``max_lr`` defaults to the
    setting's ``lr``, the cycle's length ``total_epochs`` to the run's epochs.
    """

    STEPPED: ClassVar[bool] = True

    type: Literal["one_cycle"]
    max_lr: LearningRate | None = None
    pct_start: Fraction = 0.3
    div_factor: strict_number(float, ge=1) = 25.0
    final_div_factor: strict_number(float, ge=1) = 1e4
    anneal_strategy: Literal["cos", "linear"] = "cos"
    three_phase: StrictBool = False
    total_epochs: Epochs | None = None
    per: Per = "step"

    @field_validator("three_phase")
    @classmethod
    def _room_for_three_phases(cls, value: bool, info: ValidationInfo) -> bool:
        pct_start = info.data.get("pct_start")
        if value and pct_start is not None and pct_start >= 0.5:
            raise PydanticCustomError(
                "three_phase_pct",
                "three_phase needs pct_start below 0.5 (got {pct_start}): up and back down "
                "each take pct_start of the run",
                {"pct_start": pct_start},
            )
        return value


class PlateauSchedule(_ScheduleBase):
    """``keras.callbacks.ReduceLROnPlateau``, with every one of its options."""

    type: Literal["plateau"]
    monitor: Literal["val_loss", "loss", "val_accuracy", "accuracy"] = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    factor: DecayFactor = 0.1
    patience: strict_number(int, ge=0) = 10
    min_delta: NonNegativeFloat = 1e-4
    cooldown: strict_number(int, ge=0) = 0
    min_lr: RateFloor = 0.0
    per: Literal["epoch"] = "epoch"


def _fits_the_setting_lr(schedule: Any, info: ValidationInfo) -> Any:
    """Cross-checks against the setting's ``lr`` (validated before ``schedule``)."""
    lr = info.data.get("lr") if info.data else None
    if not isinstance(lr, int | float):  # missing, or taken from the range test (issue 12)
        return schedule
    if isinstance(schedule, CyclicSchedule) and schedule.max_lr is None:
        key, rule = "min_lr", "must be below max_lr, which defaults to the setting's lr ({lr})"
    elif isinstance(schedule, WsdSchedule) and schedule.min_lr is not None:
        key, rule = "min_lr", "must be below the setting's lr ({lr}), the rate it cools down from"
    elif isinstance(schedule, PolynomialSchedule):
        key, rule = "end_lr", "must be below the setting's lr ({lr}), the rate it decays from"
    else:
        return schedule
    value = getattr(schedule, key)
    if value >= lr:
        written = {"key": key, "value": given(("schedule", key), value), "lr": given("lr", lr)}
        kind = "min_above_lr" if key == "min_lr" else "end_above_lr"
        raise PydanticCustomError(kind, "{key} = {value} " + rule, written)
    return schedule


ScheduleConfig = (
    ConstantSchedule
    | StepSchedule
    | ExponentialSchedule
    | CosineSchedule
    | CosineRestartsSchedule
    | PolynomialSchedule
    | WsdSchedule
    | InverseSqrtSchedule
    | RexSchedule
    | CyclicSchedule
    | OneCycleSchedule
    | PlateauSchedule
)
Schedule = Annotated[
    Annotated[ScheduleConfig, Field(discriminator="type")],
    AfterValidator(_fits_the_setting_lr),
]
# The ``type`` names, in the union's order: each class's ``type`` literal is their one home.
SCHEDULE_CLASSES: tuple[type[_ScheduleBase], ...] = get_args(ScheduleConfig)
SCHEDULE_TYPES = tuple(get_args(cls.model_fields["type"].annotation)[0] for cls in SCHEDULE_CLASSES)
