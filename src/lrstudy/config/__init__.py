"""params.yaml → a validated, typed, immutable configuration.

Every check of user input lives here, so a bad ``params.yaml`` fails before any stage
touches a file, with one line per problem naming the key path, the value given and what
is allowed.

The file is read as DVC reads it (ruamel.yaml, YAML 1.2), so lrstudy and DVC always see the
same values: ``1e-5`` and ``2e2`` are numbers, ``yes``/``on`` are strings, a repeated key
is an error. Numbers are strict: ``true`` or ``"5"`` where a number goes, ``.nan`` or
``.inf`` anywhere, a fractional value where a whole number goes, or a seed or random
state outside NumPy's range 0..2**32 - 1 are refused.

Modules, each importing only those before it: ``types`` (the strict value types and
``ConfigError``), ``schedules`` (one schema per schedule type), ``errors`` (pydantic's
errors as one-line messages), ``tuning`` (sections ``tune`` and ``compare``),
``sections`` (the sections, ``Config`` and ``RunSpec``) and
``loading`` (reading the file, ``parse_config`` and the checks across sections).
"""

from lrstudy.config.loading import (
    CROSS_CHECKS,
    load_config,
    parse_config,
    parse_params_text,
    read_params,
    split_sizes,
)
from lrstudy.config.optimizers import OPTIMIZER_TYPES as OPTIMIZERS
from lrstudy.config.optimizers import OptimizerConfig
from lrstudy.config.schedules import (
    SCHEDULE_TYPES,
    ConstantSchedule,
    CosineRestartsSchedule,
    CosineSchedule,
    CyclicSchedule,
    ExponentialSchedule,
    OneCycleSchedule,
    PlateauSchedule,
    PolynomialSchedule,
    Schedule,
    ScheduleConfig,
    StepSchedule,
)
from lrstudy.config.sections import (
    Config,
    DataConfig,
    EvaluateConfig,
    GridConfig,
    LimitsConfig,
    LrFindConfig,
    LrFromRangeTest,
    ModelConfig,
    RunSpec,
    SettingConfig,
    SplitConfig,
    SuggestedSettingConfig,
    SweepConfig,
    TrainConfig,
)
from lrstudy.config.tuning import CompareConfig, TuneConfig
from lrstudy.config.types import (
    ACTIVATIONS,
    LR_SUGGESTIONS,
    MAX_SEED,
    ConfigError,
    StrictModel,
)

__all__ = [
    "ACTIVATIONS",
    "CROSS_CHECKS",
    "LR_SUGGESTIONS",
    "MAX_SEED",
    "OPTIMIZERS",
    "SCHEDULE_TYPES",
    "CompareConfig",
    "Config",
    "ConfigError",
    "ConstantSchedule",
    "CosineRestartsSchedule",
    "CosineSchedule",
    "CyclicSchedule",
    "DataConfig",
    "EvaluateConfig",
    "ExponentialSchedule",
    "GridConfig",
    "LimitsConfig",
    "LrFindConfig",
    "LrFromRangeTest",
    "ModelConfig",
    "OneCycleSchedule",
    "OptimizerConfig",
    "PlateauSchedule",
    "PolynomialSchedule",
    "RunSpec",
    "Schedule",
    "ScheduleConfig",
    "SettingConfig",
    "SplitConfig",
    "StepSchedule",
    "StrictModel",
    "SuggestedSettingConfig",
    "SweepConfig",
    "TrainConfig",
    "TuneConfig",
    "load_config",
    "parse_config",
    "parse_params_text",
    "read_params",
    "split_sizes",
]
