"""params.yaml → a validated, typed, immutable configuration.

Every check of user input lives here, so a bad ``params.yaml`` fails before any stage
touches a file, with one line per problem naming the key path, the value given and what
is allowed.

The file is read as DVC reads it (ruamel.yaml, YAML 1.2), so lrstudy and DVC always see the
same values: ``1e-5`` and ``2e2`` are numbers, ``yes``/``on`` are strings, a repeated key
is an error. Numbers are strict: ``true`` or ``"5"`` where a number goes, ``.nan`` or
``.inf`` anywhere, a fractional value where a whole number goes, or a seed or random
state outside NumPy's range 0..2**32 - 1 are refused.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lrstudy.clock import MIN_DURATION, Per, lasts_a_tick, steps_per_epoch, ticks_per_epoch

SETTING_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
# Names YAML 1.1 (PyYAML) reads as booleans or null though YAML 1.2 (DVC) reads strings:
# refused, so every YAML tool reads a setting name as the same string.
YAML_11_WORDS = frozenset(("y", "yes", "n", "no", "on", "off", "true", "false", "null"))
# NumPy and scikit-learn take seeds and random states in 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1
ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "gelu", "softplus", "swish", "linear")
OPTIMIZERS = ("adam", "sgd", "rmsprop")


class ConfigError(ValueError):
    """Raised for invalid parameters; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "params.yaml") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {problem}" for problem in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}:\n{lines}")


class StrictModel(BaseModel):
    """Base for every config section: frozen; unknown keys are errors.

    The error names the allowed keys, and the closest one when the key looks like a typo.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


def _bounds_text(bounds: Mapping[str, float]) -> str:
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{words[key]} {value:g}" for key, value in bounds.items())


_BOUND_CHECKS = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _strict_number(kind: type[int] | type[float], note: str = "", **bounds: float) -> Any:
    """An int or float type that refuses booleans, text and non-finite values.

    Pydantic's lax mode would read ``true`` as 1 and ``"5"`` as 5; YAML 1.2 makes both
    deliberate non-numbers, so they are errors here. A whole-number float (``2e2``, which
    YAML 1.2 reads as 200.0) is accepted where an int goes. The error says what is allowed:
    ``a whole number >= 1``, ``a finite number > 0``; with a ``note``, bounds are checked
    here too so that a value out of range gets the note in brackets as the reason.
    """
    allowed = "a whole number" if kind is int else "a finite number"
    if bounds:
        allowed += f" {_bounds_text(bounds)}"
    if note:
        allowed += f" ({note})"

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            got = "a boolean" if isinstance(value, bool) else f"a {_yaml_kind(value)}"
            raise PydanticCustomError(
                "strict_number", "expected {allowed}, got {got}", {"allowed": allowed, "got": got}
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError(
                "finite_number",
                "expected {allowed}; .nan and .inf are not allowed",
                {"allowed": allowed},
            )
        if kind is int and isinstance(value, float):
            if not value.is_integer():
                raise PydanticCustomError(
                    "whole_number", "expected {allowed}", {"allowed": allowed}
                )
            return int(value)
        if note and not all(_BOUND_CHECKS[key](value, bound) for key, bound in bounds.items()):
            raise PydanticCustomError("out_of_range", "expected {allowed}", {"allowed": allowed})
        return value

    return Annotated[kind, BeforeValidator(check), Field(**bounds)]


def _yaml_kind(value: Any) -> str:
    """How YAML 1.2 calls the kind of a parsed value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _yaml_repr(value: Any) -> str:
    """A parsed value as YAML writes it (``true``, ``null``, ``.nan``), else Python's repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return repr(value)


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError(
            "strict_bool", "expected true or false, got a {got}", {"got": _yaml_kind(value)}
        )
    return value


StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]
PositiveFloat = _strict_number(float, gt=0)
Fraction = _strict_number(float, gt=0, lt=1)
PositiveInt = _strict_number(int, ge=1)
Seed = _strict_number(int, ge=0, le=MAX_SEED)
SeedCount = _strict_number(int, ge=1, le=100)
# The optimizer holds its rate as a float32: a rate outside float32's normal range would
# become inf, or round to zero or lose precision, without a word.
# IEEE 754 binary32: largest finite value (2 - 2**-23) * 2**127, smallest normal 2**-126.
FLOAT32_MAX = (2 - 2.0**-23) * 2.0**127
FLOAT32_TINY = 2.0**-126
_RATE_NOTE = "a learning rate the optimizer holds as a float32"
LearningRate = _strict_number(float, _RATE_NOTE, ge=FLOAT32_TINY, le=FLOAT32_MAX)
RateFloor = _strict_number(float, _RATE_NOTE, ge=0, le=FLOAT32_MAX)


def _one_of(what: str, allowed: Sequence[str]) -> AfterValidator:
    """A validator refusing a name not in ``allowed``: "unknown <what>; allowed: ..."."""

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                f"unknown_{what}",
                "unknown {what}; allowed: {allowed}",
                {"what": what, "allowed": ", ".join(allowed)},
            )
        return value

    return AfterValidator(check)


class DataConfig(StrictModel):
    """Arguments of ``sklearn.datasets.make_gaussian_quantiles``."""

    n_samples: _strict_number(int, ge=10)
    n_features: PositiveInt
    n_classes: _strict_number(int, ge=2, le=20)
    cov: PositiveFloat
    random_state: Seed


class SplitConfig(StrictModel):
    """Two stratified ``train_test_split`` calls: test first, then validation."""

    test_fraction: Fraction
    val_fraction: Fraction
    random_state: Seed
    stratify: StrictBool = True


class ModelConfig(StrictModel):
    """The network: dense hidden layers, then the output layer for ``n_classes`` classes.

    Two classes: one sigmoid unit and binary cross-entropy (the notebook's network); k > 2
    classes: k softmax units and sparse categorical cross-entropy.
    """

    hidden_units: Annotated[list[PositiveInt], Field(min_length=1)]
    activation: Annotated[str, _one_of("activation", ACTIVATIONS)]
    optimizer: Annotated[str, _one_of("optimizer", OPTIMIZERS)] = "adam"
    # Not a key of the model section: ``Config`` fills it in from ``data.n_classes``, so
    # code handed only the model section builds the right output layer.
    _n_classes: int = PrivateAttr(2)

    @property
    def n_classes(self) -> int:
        """The classes the output layer predicts (``data.n_classes``; 2 if built alone)."""
        return self._n_classes


class TrainConfig(StrictModel):
    """Defaults shared by every setting; each setting may override them."""

    batch_size: PositiveInt
    epochs: PositiveInt
    seeds: SeedCount
    seed: Seed
    loop: Literal["fast", "fit"] = "fast"


NonNegativeFloat = _strict_number(float, ge=0)
Epochs = _strict_number(float, "durations in epochs are kept to 9 decimal places", ge=MIN_DURATION)
WarmupEpochs = _strict_number(float, ge=0)
StartFactor = _strict_number(float, ge=0, lt=1)
DecayFactor = _strict_number(float, gt=0, lt=1)
Alpha = _strict_number(float, ge=0, lt=1)


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
        """The ``per`` a setting gets when it leaves ``per`` out."""
        if cls.STEPPED:
            return "step"
        try:
            return "step" if float(warmup_epochs or 0) > 0 else "epoch"
        except (TypeError, ValueError):
            return "epoch"

    @model_validator(mode="before")
    @classmethod
    def _fill_in_per(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "per" in cls.model_fields and "per" not in data:
            return {**data, "per": cls.default_per(data.get("warmup_epochs", 0))}
        return data


def _exactly_one(model: BaseModel, first: str, second: str, what: str) -> None:
    """Raise unless exactly one of two alternative keys is set."""
    given = [key for key in (first, second) if getattr(model, key) is not None]
    if len(given) != 1:
        raise PydanticCustomError(
            "exactly_one",
            "give exactly one of '{first}' or '{second}' ({what}); got {got}",
            {
                "first": first,
                "second": second,
                "what": what,
                "got": "both" if given else "neither",
            },
        )


class ConstantSchedule(_ScheduleBase):
    """The rate stays at the setting's ``lr``."""

    type: Literal["constant"]
    per: Per = "epoch"


class StepSchedule(_ScheduleBase):
    """Step decay: multiply the rate by ``factor`` at fixed epochs.

    Every ``every`` epochs (PyTorch ``StepLR``), or at each of the ``milestones`` epochs
    (``MultiStepLR``); optionally after a linear warmup.
    """

    type: Literal["step"]
    factor: DecayFactor = 0.1
    every: Epochs | None = None
    milestones: Annotated[list[Epochs], Field(min_length=1)] | None = None
    warmup_epochs: WarmupEpochs = 0.0
    warmup_start_factor: StartFactor = 0.0
    per: Per = "epoch"

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b <= a for a, b in pairwise(value)):
            raise PydanticCustomError("milestones_order", "milestones must be strictly increasing")
        return value

    @model_validator(mode="after")
    def _every_or_milestones(self) -> StepSchedule:
        _exactly_one(self, "every", "milestones", "a period or a list of epochs")
        return self


class ExponentialSchedule(_ScheduleBase):
    """``lr * rate ** (t / decay_epochs)`` after ``hold_epochs`` at ``lr``.

    ``k`` instead of ``rate`` gives the notebook's form ``lr * exp(-k * (t - hold_epochs))``
    (``rate = exp(-k)``); ``staircase`` floors ``t / decay_epochs`` (Keras ``ExponentialDecay``).
    """

    type: Literal["exponential"]
    rate: DecayFactor | None = None
    k: PositiveFloat | None = None
    decay_epochs: Epochs = 1.0
    staircase: StrictBool = False
    hold_epochs: WarmupEpochs = 0.0
    warmup_epochs: WarmupEpochs = 0.0
    warmup_start_factor: StartFactor = 0.0
    per: Per = "epoch"

    @model_validator(mode="after")
    def _rate_or_k(self) -> ExponentialSchedule:
        _exactly_one(self, "rate", "k", "rate = exp(-k)")
        return self


class CosineSchedule(_ScheduleBase):
    """Cosine decay from ``lr`` to ``alpha * lr`` over ``decay_epochs`` (Keras ``CosineDecay``).

    ``decay_epochs`` defaults to the rest of the run after the warmup.
    """

    type: Literal["cosine"]
    decay_epochs: Epochs | None = None
    alpha: Alpha = 0.0
    warmup_epochs: WarmupEpochs = 0.0
    warmup_start_factor: StartFactor = 0.0
    per: Per = "epoch"


class CosineRestartsSchedule(_ScheduleBase):
    """SGDR: cosine decay restarted after each period (Keras ``CosineDecayRestarts``).

    The first period lasts ``first_decay_epochs``; each next one ``t_mul`` times longer,
    with a peak ``m_mul`` times lower; the floor is ``alpha * lr``.
    """

    type: Literal["cosine_restarts"]
    first_decay_epochs: Epochs
    t_mul: _strict_number(float, ge=1) = 2.0
    m_mul: _strict_number(float, gt=0, le=1) = 1.0
    alpha: Alpha = 0.0
    warmup_epochs: WarmupEpochs = 0.0
    warmup_start_factor: StartFactor = 0.0
    per: Per = "epoch"


class PolynomialSchedule(_ScheduleBase):
    """``(lr - end_lr) * (1 - t / decay_epochs) ** power + end_lr`` (Keras ``PolynomialDecay``).

    ``power: 1`` is linear decay. ``decay_epochs`` defaults to the rest of the run after the
    warmup; ``cycle`` restarts the decay with a period the next multiple of decay_epochs.
    """

    type: Literal["polynomial"]
    decay_epochs: Epochs | None = None
    end_lr: RateFloor = 0.0
    power: PositiveFloat = 1.0
    cycle: StrictBool = False
    warmup_epochs: WarmupEpochs = 0.0
    warmup_start_factor: StartFactor = 0.0
    per: Per = "epoch"


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
    gamma: _strict_number(float, gt=0, le=1) = 1.0
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
                {"min_lr": min_lr},
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
    div_factor: _strict_number(float, ge=1) = 25.0
    final_div_factor: _strict_number(float, ge=1) = 1e4
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
    patience: _strict_number(int, ge=0) = 10
    min_delta: NonNegativeFloat = 1e-4
    cooldown: _strict_number(int, ge=0) = 0
    min_lr: RateFloor = 0.0
    per: Literal["epoch"] = "epoch"


def _fits_the_setting_lr(schedule: Any, info: ValidationInfo) -> Any:
    """Cross-checks against the setting's ``lr`` (validated before ``schedule``)."""
    lr = info.data.get("lr") if info.data else None
    if not isinstance(lr, int | float):  # missing, or taken from the range test (issue 12)
        return schedule
    if isinstance(schedule, CyclicSchedule) and schedule.max_lr is None and schedule.min_lr >= lr:
        raise PydanticCustomError(
            "min_above_lr",
            "min_lr = {min_lr} must be below max_lr, which defaults to the setting's lr ({lr})",
            {"min_lr": schedule.min_lr, "lr": lr},
        )
    if isinstance(schedule, PolynomialSchedule) and schedule.end_lr >= lr:
        raise PydanticCustomError(
            "end_above_lr",
            "end_lr = {end_lr} must be below the setting's lr ({lr}), the rate it decays from",
            {"end_lr": schedule.end_lr, "lr": lr},
        )
    return schedule


ScheduleConfig = (
    ConstantSchedule
    | StepSchedule
    | ExponentialSchedule
    | CosineSchedule
    | CosineRestartsSchedule
    | PolynomialSchedule
    | CyclicSchedule
    | OneCycleSchedule
    | PlateauSchedule
)
Schedule = Annotated[
    Annotated[ScheduleConfig, Field(discriminator="type")],
    AfterValidator(_fits_the_setting_lr),
]
SCHEDULE_TYPES = (
    "constant",
    "step",
    "exponential",
    "cosine",
    "cosine_restarts",
    "polynomial",
    "cyclic",
    "one_cycle",
    "plateau",
)


class SettingConfig(StrictModel):
    """One learning-rate setting: a rate, a schedule and optional training overrides."""

    lr: LearningRate
    schedule: Schedule = ConstantSchedule(type="constant")
    batch_size: PositiveInt | None = None
    epochs: PositiveInt | None = None
    seeds: SeedCount | None = None


class GridConfig(StrictModel):
    """The square grid the decision boundary is drawn on (the notebook: -1.5..1.5)."""

    low: _strict_number(float)
    high: _strict_number(float)
    points: _strict_number(int, ge=2, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> GridConfig:
        if self.high <= self.low:
            raise PydanticCustomError(
                "grid_order",
                "high ({high}) must be greater than low ({low})",
                {"high": self.high, "low": self.low},
            )
        return self


class EvaluateConfig(StrictModel):
    """What the evaluation stage computes besides test metrics."""

    grid: GridConfig


def _check_setting_name(name: Any) -> str:
    """A setting name becomes a stage name, a folder name and a params key path.

    So it must read as the same string to every YAML parser (YAML 1.2 reads ``1e-3`` as a
    float, YAML 1.1 reads ``yes`` as a boolean) and be safe as a file name.
    """
    rule = (
        "use 1-64 letters, digits, '_' or '-', starting with a letter, and not one of "
        + "/".join(sorted(YAML_11_WORDS))
        + " (YAML 1.1 reads those as booleans or null)"
    )
    if not isinstance(name, str):
        raise PydanticCustomError(
            "setting_name",
            "setting name {name} is read by YAML as a {kind}, not a string: {rule}",
            {"name": _yaml_repr(name), "kind": _yaml_kind(name), "rule": rule},
        )
    if not re.match(SETTING_NAME_PATTERN, name) or name.lower() in YAML_11_WORDS:
        raise PydanticCustomError(
            "setting_name",
            "setting name '{name}' is not a safe file and stage name: {rule}",
            {"name": name, "rule": rule},
        )
    return name


SettingName = Annotated[str, BeforeValidator(_check_setting_name)]


# --- The LR sweep, the LR range test and settings whose lr comes from it (issue 12) ---

LR_SUGGESTIONS = ("minimum", "steep", "valley")  # lrstudy.lr_finder.SUGGESTIONS


def _increasing_bounds(model: BaseModel, low: str, high: str) -> None:
    if getattr(model, high) <= getattr(model, low):
        raise PydanticCustomError(
            "bounds_order",
            "{high} ({high_value}) must be greater than {low} ({low_value})",
            {
                "high": high,
                "high_value": getattr(model, high),
                "low": low,
                "low_value": getattr(model, low),
            },
        )


class SweepConfig(StrictModel):
    """Stage ``sweep``: constant rates ``min_lr * 10 ** (k / per_decade)`` up to ``max_lr``."""

    min_lr: LearningRate
    max_lr: LearningRate
    per_decade: _strict_number(int, ge=1, le=20)

    @model_validator(mode="after")
    def _ordered(self) -> SweepConfig:
        _increasing_bounds(self, "min_lr", "max_lr")
        return self


class LrFindConfig(StrictModel):
    """Stage ``lr_find``: the LR range test (Smith 2017; fastai ``lr_find``)."""

    start_lr: LearningRate
    end_lr: LearningRate
    steps: _strict_number(int, ge=10, le=10000)
    diverge_factor: _strict_number(float, gt=1) = 4.0
    smoothing: _strict_number(float, ge=0, lt=1) = 0.98

    @model_validator(mode="after")
    def _ordered(self) -> LrFindConfig:
        _increasing_bounds(self, "start_lr", "end_lr")
        return self


class LrFromRangeTest(StrictModel):
    """``lr: {from: lr_find, suggestion: valley}``: the rate the range test suggests."""

    source: Literal["lr_find"] = Field(alias="from")
    suggestion: Annotated[str, _one_of("suggestion", LR_SUGGESTIONS)]


class SuggestedSettingConfig(SettingConfig):
    """A setting whose ``lr`` comes from the range test; otherwise like any setting.

    The schedule's cross-checks against ``lr`` wait for the rate (see ``Config.run``).
    """

    lr: LrFromRangeTest  # type: ignore[assignment]


def _check_suggested(config: Config) -> None:
    """Settings under ``suggested`` need an ``lr_find`` section and their own names."""
    problems = []
    for name in config.suggested:
        if config.lr_find is None:
            problems.append(
                f"suggested.{name}.lr.from = 'lr_find': params.yaml has no lr_find section "
                "to run the range test with"
            )
        if name in config.settings:
            problems.append(f"suggested.{name}: the name is taken by settings.{name}")
    if problems:
        # One error carrying every line; parse_config splits it back into problems.
        raise PydanticCustomError("suggested", "\n".join(problems))


def _lr_source_hint(loc: Sequence[str], value: Any) -> str | None:
    """The error for an ``lr`` of the wrong kind for its section, or ``None``."""
    if len(loc) != 3 or loc[2] != "lr":
        return None
    if loc[0] == "settings" and isinstance(value, Mapping):
        return (
            f"settings.{loc[1]}.lr = {dict(value)!r}: a rate from the range test goes under "
            "'suggested' (its stages wait for lr_find), not under settings"
        )
    if loc[0] == "suggested" and not isinstance(value, Mapping):
        return (
            f"suggested.{loc[1]}.lr = {value!r}: must be {{from: lr_find, suggestion: "
            f"{' | '.join(LR_SUGGESTIONS)}}}; a fixed rate goes under settings"
        )
    return None


class Config(StrictModel):
    """The whole of params.yaml."""

    data: DataConfig
    split: SplitConfig
    model: ModelConfig
    train: TrainConfig
    settings: Annotated[dict[SettingName, SettingConfig], Field(min_length=1)]
    evaluate: EvaluateConfig
    # Issue 12: the sweep, the range test, and settings whose lr the range test suggests.
    sweep: SweepConfig | None = None
    lr_find: LrFindConfig | None = None
    suggested: dict[SettingName, SuggestedSettingConfig] = Field(default_factory=dict)
    _suggestions: dict[str, float | None] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _suggested_settings(self) -> Config:
        _check_suggested(self)
        return self

    @property
    def train_seeds(self) -> tuple[int, ...]:
        """The seeds of a run with the ``train`` defaults: seed, seed + 1, ..."""
        return tuple(self.train.seed + index for index in range(self.train.seeds))

    @property
    def setting_names(self) -> list[str]:
        """Every setting the study trains: ``settings`` then ``suggested``, in file order."""
        return [*self.settings, *self.suggested]

    def with_suggestions(self, suggestions: Mapping[str, float | None]) -> Config:
        """This config with the range test's suggestions, so ``run`` resolves ``suggested``.

        Args:
            suggestions: ``{suggestion name: rate or None}`` (lr_find's suggestions.json).
        """
        resolved = self.model_copy()
        resolved._suggestions = dict(suggestions)
        return resolved

    @model_validator(mode="after")
    def _model_predicts_every_class(self) -> Config:
        self.model._n_classes = self.data.n_classes
        return self

    @model_validator(mode="after")
    def _split_leaves_data(self) -> Config:
        sizes = split_sizes(self.data.n_samples, self.split.test_fraction, self.split.val_fraction)
        if min(sizes.values()) < self.data.n_classes:
            raise PydanticCustomError(
                "split_sizes",
                "split.test_fraction={test} and split.val_fraction={val} split "
                "data.n_samples={n} into {sizes}; every part needs at least "
                "data.n_classes={k} samples",
                {
                    "test": self.split.test_fraction,
                    "val": self.split.val_fraction,
                    "n": self.data.n_samples,
                    "sizes": ", ".join(f"{key}={count}" for key, count in sizes.items()),
                    "k": self.data.n_classes,
                },
            )
        return self

    def run(self, name: str) -> RunSpec:
        """The fully resolved training specification of one setting."""
        if name in self.suggested:
            setting = self._resolve_suggested(name)
            lr = setting.lr
        elif name in self.settings:
            setting = self.settings[name]
            lr = setting.lr
        else:
            raise ConfigError(
                [f"settings.{name}: no such setting; known: {', '.join(self.setting_names)}"]
            )
        n_seeds = setting.seeds if setting.seeds is not None else self.train.seeds
        return RunSpec(
            name=name,
            lr=lr,
            schedule=setting.schedule,
            batch_size=setting.batch_size or self.train.batch_size,
            epochs=setting.epochs or self.train.epochs,
            seeds=tuple(self.train.seed + index for index in range(n_seeds)),
            loop=self.train.loop,
        )

    def _resolve_suggested(self, name: str) -> SettingConfig:
        """``suggested.<name>`` as a setting with the suggested rate, cross-checked anew."""
        raw = self.suggested[name].model_dump(exclude={"lr"})
        try:
            return SettingConfig.model_validate({**raw, "lr": self._suggested_rate(name)})
        except ValidationError as exc:
            where = ("suggested", name)
            raise ConfigError(
                [_format_error({**error, "loc": (*where, *error["loc"])}) for error in exc.errors()]
            ) from None

    def _suggested_rate(self, name: str) -> float:
        """The rate ``suggested.<name>`` takes from the range test's suggestions."""
        wanted = self.suggested[name].lr.suggestion
        where = f"suggested.{name}.lr"
        if self._suggestions is None:
            raise ConfigError(
                [f"{where}: the rate comes from lr_find; run the lr_find stage (dvc repro)"]
            )
        rate = self._suggestions.get(wanted)
        if rate is None:
            raise ConfigError(
                [
                    f"{where}.suggestion = {wanted!r}: the range test made no such suggestion "
                    "(its loss never fell, see reports/figures/lr_find.png); choose another "
                    "suggestion or a fixed rate under settings"
                ]
            )
        return float(rate)


@dataclass(frozen=True)
class RunSpec:
    """A setting with the ``train`` defaults filled in: everything one training run needs."""

    name: str
    lr: float
    schedule: ScheduleConfig
    batch_size: int
    epochs: int
    seeds: tuple[int, ...]
    loop: Literal["fast", "fit"] = "fast"


def split_sizes(n_samples: int, test_fraction: float, val_fraction: float) -> dict[str, int]:
    """Sizes ``train_test_split`` produces: test = ceil(n * test), val = ceil(rest * val)."""
    n_test = math.ceil(n_samples * test_fraction)
    rest = n_samples - n_test
    n_val = math.ceil(rest * val_fraction)
    return {"train": rest - n_val, "val": n_val, "test": n_test}


def _cross_checks(config: Config) -> list[str]:
    """Checks that need several sections at once (run after every section validated)."""
    problems = []
    n_train = split_sizes(
        config.data.n_samples, config.split.test_fraction, config.split.val_fraction
    )["train"]
    # Every run starts at train.seed: the settings, the suggested settings, and the sweep
    # and range test (train.seeds). One line for the run that reaches the highest seed.
    runs = [("train.seeds (the sweep and the range test)", config.train.seeds)]
    for section, entries in (("settings", config.settings), ("suggested", config.suggested)):
        runs += [
            (
                f"{section}.{name}",
                setting.seeds if setting.seeds is not None else config.train.seeds,
            )
            for name, setting in (entries or {}).items()
        ]
    where, n_seeds = max(runs, key=lambda run: run[1])
    last = config.train.seed + n_seeds - 1
    if last > MAX_SEED:
        problems.append(
            f"train.seed = {config.train.seed}: {where} runs {n_seeds} seeds, up to seed "
            f"{last}; seed + seeds - 1 must be at most {MAX_SEED} (2**32 - 1)"
        )
    for name, setting in config.settings.items():
        batch_size = setting.batch_size or config.train.batch_size
        steps = steps_per_epoch(n_train, batch_size)
        schedule = setting.schedule
        where = f"settings.{name}.schedule"
        if isinstance(schedule, CosineRestartsSchedule) and not lasts_a_tick(
            schedule.first_decay_epochs, ticks_per_epoch(schedule.per, steps)
        ):
            clock = (
                f"1 optimizer step = 1/{steps} epoch with per: step"
                if schedule.per == "step"
                else "1 epoch with per: epoch"
            )
            problems.append(
                f"{where}.first_decay_epochs = {schedule.first_decay_epochs!r}: the first "
                f"period must last at least one tick of the schedule's clock ({clock})"
            )
        if (
            isinstance(schedule, CyclicSchedule)
            and schedule.step_size_epochs is not None
            and not lasts_a_tick(schedule.step_size_epochs, steps)
        ):
            problems.append(
                f"{where}.step_size_epochs = {schedule.step_size_epochs!r}: the half-cycle "
                f"must last at least one optimizer step (1/{steps} epoch here: {n_train} "
                f"train rows, batch {batch_size})"
            )
    return problems


def _model_at(loc: Sequence[str]) -> type[BaseModel] | None:
    """The config model found at a pydantic error location (tags included), if any."""
    model: type[BaseModel] = Config
    index = 0
    while index < len(loc):
        field = model.model_fields.get(loc[index])
        if field is None:
            return None
        index += 1
        annotation = field.annotation
        if get_origin(annotation) is dict:  # settings: skip the setting name
            annotation = get_args(annotation)[1]
            index += 1
        members = [
            member
            for member in get_args(annotation) or (annotation,)
            if isinstance(member, type) and issubclass(member, BaseModel)
        ]
        if len(members) > 1:  # a schedule: pydantic puts the type tag in the location
            tagged = [m for m in members if index < len(loc) and _tag(m) == loc[index]]
            members = tagged
            index += 1
        if len(members) != 1:
            return None
        model = members[0]
    return model


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    return get_args(field.annotation)[0] if field is not None else None


def _unknown_key(loc: Sequence[str], path: str) -> str:
    """'path: unknown key 'x' (did you mean 'y'?); allowed keys: ...'."""
    model = _model_at(loc[:-1])
    key = loc[-1]
    where = path.rsplit(".", 1)[0] if "." in path else "(top level)"
    if model is None:
        return f"{where}: unknown key '{key}'"
    allowed = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{where}: unknown key '{key}'{hint}; allowed keys: {', '.join(allowed)}"


def _format_error(error: Mapping[str, Any]) -> str:
    """One ``key.path = value: what is allowed`` line for a pydantic error."""
    raw_loc = [str(part) for part in error["loc"]]
    loc = raw_loc
    # Drop the union-member tag pydantic inserts after 'schedule' (e.g. '.plateau.').
    loc = [
        part
        for index, part in enumerate(loc)
        if not (index > 0 and loc[index - 1] == "schedule" and part in SCHEDULE_TYPES)
    ]
    path = ".".join(loc)
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return _unknown_key(raw_loc, path)
    if error["type"] == "missing":
        return f"{path}: missing required key"
    value = error.get("input")
    if error["type"] == "suggested":
        return message
    if (hint := _lr_source_hint(loc, value)) is not None:
        return hint
    if error["type"] == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        return f"{path}.type = {tag!r}: unknown schedule type; allowed: {', '.join(SCHEDULE_TYPES)}"
    if error["type"] == "union_tag_not_found":
        return f"{path}: missing 'type'; allowed: {', '.join(SCHEDULE_TYPES)}"
    if error["type"] == "setting_name":
        return f"{'.'.join(loc[:-2])}: {message}"
    if isinstance(value, Mapping) and value:
        return f"{path or '(top level)'}: {message}"
    return f"{path} = {_yaml_repr(value)}: {message}"


def parse_config(raw: Any, source: str = "params.yaml") -> Config:
    """Validate a parsed params mapping; raise ConfigError listing every problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError([f"expected a mapping at the top level, got {_yaml_kind(raw)}"], source)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [line for error in exc.errors() for line in _format_error(error).split("\n")]
        raise ConfigError(problems, source) from None
    problems = _cross_checks(config)
    if problems:
        raise ConfigError(problems, source)
    return config


def read_params(path: str | Path = "params.yaml") -> Any:
    """Parse a params file exactly as DVC does: ruamel.yaml's safe loader (YAML 1.2).

    An empty file reads as an empty mapping (as in DVC).

    Raises:
        ConfigError: the file is missing or is not valid YAML (a repeated key included).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"file not found: {path}"], str(path)) from None
    return parse_params_text(text, str(path))


def parse_params_text(text: str, source: str = "params.yaml") -> Any:
    """Parse params YAML text as DVC does (see ``read_params``); ``source`` names it in errors.

    Raises:
        ConfigError: the text is not valid YAML (a repeated key included).
    """
    from ruamel.yaml import YAML, YAMLError

    try:
        return YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError([f"not valid YAML: {detail}"], source) from None


def load_config(path: str | Path = "params.yaml") -> Config:
    """Read and validate a params file (see ``read_params`` and ``parse_config``)."""
    return parse_config(read_params(path), str(Path(path)))
