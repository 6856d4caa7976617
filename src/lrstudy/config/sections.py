"""The sections of params.yaml, ``Config`` (the whole file) and ``RunSpec`` (one setting).

Each section is a frozen schema whose fields check themselves; what needs several sections
at once is checked in ``lrstudy.config.loading``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from lrstudy.config.errors import format_error
from lrstudy.config.optimizers import DEFAULT_OPTIMIZER, Optimizer, OptimizerConfig
from lrstudy.config.schedules import ConstantSchedule, Schedule, ScheduleConfig
from lrstudy.config.tuning import CompareConfig, TuneConfig
from lrstudy.config.types import (
    ACTIVATIONS,
    LR_SUGGESTIONS,
    SETTING_NAME_PATTERN,
    YAML_11_WORDS,
    ConfigError,
    Fraction,
    LearningRate,
    PositiveFloat,
    PositiveInt,
    Seed,
    SeedCount,
    StrictBool,
    StrictModel,
    increasing,
    kind_phrase,
    one_of,
    strict_number,
    yaml_repr,
)


class DataConfig(StrictModel):
    """Arguments of ``sklearn.datasets.make_gaussian_quantiles``."""

    n_samples: strict_number(int, ge=10)
    n_features: PositiveInt
    n_classes: strict_number(int, ge=2, le=20)
    cov: PositiveFloat
    random_state: Seed


class SplitConfig(StrictModel):
    """Two stratified ``train_test_split`` calls: test first, then validation."""

    test_fraction: Fraction
    val_fraction: Fraction
    random_state: Seed
    stratify: StrictBool = True


class ModelConfig(StrictModel):
    """The network: dense hidden layers, then the output layer (``data.n_classes`` wide).

    Two classes: one sigmoid unit and binary cross-entropy (the notebook's network); k > 2
    classes: k softmax units and sparse categorical cross-entropy.
    """

    hidden_units: Annotated[list[PositiveInt], Field(min_length=1)]
    activation: Annotated[str, one_of("activation", ACTIVATIONS)]
    # A name or {type: ..., options}: lrstudy.config.optimizers; a setting may override it.
    optimizer: Optimizer = DEFAULT_OPTIMIZER


class TrainConfig(StrictModel):
    """Defaults shared by every setting; each setting may override them."""

    batch_size: PositiveInt
    epochs: PositiveInt
    seeds: SeedCount
    seed: Seed
    loop: Literal["fast", "fit"] = "fast"
    optimizer: OptimizerConfig = DEFAULT_OPTIMIZER


class SettingConfig(StrictModel):
    """One learning-rate setting: a rate, a schedule and optional training overrides."""

    lr: LearningRate
    schedule: Schedule = ConstantSchedule(type="constant")
    batch_size: PositiveInt | None = None
    epochs: PositiveInt | None = None
    seeds: SeedCount | None = None
    optimizer: Optimizer | None = None


class GridConfig(StrictModel):
    """The square grid the decision boundary is drawn on (the notebook: -1.5..1.5)."""

    low: strict_number(float)
    high: strict_number(float)
    points: strict_number(int, ge=2, le=1000)

    _ordered = increasing("low", "high")


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
            "setting name {name} is read by YAML as {kind}, not a string: {rule}",
            {"name": yaml_repr(name), "kind": kind_phrase(name), "rule": rule},
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


class SweepConfig(StrictModel):
    """Stage ``sweep``: constant rates ``min_lr * 10 ** (k / per_decade)`` up to ``max_lr``."""

    min_lr: LearningRate
    max_lr: LearningRate
    per_decade: strict_number(int, ge=1, le=20)

    _ordered = increasing("min_lr", "max_lr")


class LrFindConfig(StrictModel):
    """Stage ``lr_find``: the LR range test (Smith 2017; fastai ``lr_find``)."""

    start_lr: LearningRate
    end_lr: LearningRate
    steps: strict_number(int, ge=10, le=10000)
    diverge_factor: strict_number(float, gt=1) = 4.0
    smoothing: strict_number(float, ge=0, lt=1) = 0.98

    _ordered = increasing("start_lr", "end_lr")


class LimitsConfig(StrictModel):
    """What ``validate`` lets a study cost (``lrstudy.cost``); raise them to run a larger one."""

    hours: PositiveFloat = 2.0
    memory_gb: PositiveFloat = 8.0


class LrFromRangeTest(StrictModel):
    """``lr: {from: lr_find, suggestion: valley}``: the rate the range test suggests."""

    source: Literal["lr_find"] = Field(alias="from")
    suggestion: Annotated[str, one_of("suggestion", LR_SUGGESTIONS)]


class SuggestedSettingConfig(SettingConfig):
    """A setting whose ``lr`` comes from the range test; otherwise like any setting.

    The schedule's cross-checks against ``lr`` wait for the rate (see ``Config.run``).
    """

    lr: LrFromRangeTest  # type: ignore[assignment]


class Config(StrictModel):
    """The whole of params.yaml."""

    # Validating it checks each section; the checks that need several sections at once
    # are lrstudy.config.loading.CROSS_CHECKS, which parse_config runs after it.

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
    limits: LimitsConfig = LimitsConfig()
    # Each setting's base rate tuned (in its train@ stage), and the tuned comparison.
    tune: TuneConfig | None = None
    compare: CompareConfig = CompareConfig()
    _suggestions: dict[str, float | None] | None = PrivateAttr(default=None)

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
            optimizer=setting.optimizer or self.model.optimizer,
        )

    def model_for(self, spec: RunSpec) -> ModelConfig:
        """``model`` with the optimizer of ``spec`` (its setting's override, if any)."""
        return self.model.model_copy(update={"optimizer": spec.optimizer})

    def _resolve_suggested(self, name: str) -> SettingConfig:
        """``suggested.<name>`` as a setting with the suggested rate, cross-checked anew."""
        raw = self.suggested[name].model_dump(exclude={"lr"})
        try:
            return SettingConfig.model_validate({**raw, "lr": self._suggested_rate(name)})
        except ValidationError as exc:
            where = ("suggested", name)
            raise ConfigError(
                [
                    format_error({**error, "loc": (*where, *error["loc"])}, Config)
                    for error in exc.errors()
                ]
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
                    "on any seed (each seed's reason is under seeds in lr_find/suggestions.json;"
                    " see reports/figures/lr_find.png); choose another suggestion or a fixed "
                    "rate under settings"
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
    optimizer: OptimizerConfig = DEFAULT_OPTIMIZER
