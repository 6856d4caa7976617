"""params.yaml read as DVC reads it, validated, and checked across sections.

The file is read as DVC reads it (ruamel.yaml, YAML 1.2), so lrstudy and DVC always see the
same values. ``parse_config`` validates every section (one line per problem, see
``lrstudy.config.errors``), then runs ``CROSS_CHECKS``, the checks that need several
sections at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lrstudy.clock import lasts_a_tick, steps_per_epoch, ticks_per_epoch
from lrstudy.config.errors import Spellings, format_error
from lrstudy.config.optimizers import OPTIMIZER_TYPES
from lrstudy.config.schedules import CosineRestartsSchedule, CyclicSchedule
from lrstudy.config.sections import Config
from lrstudy.config.tuning import budgets_fit_the_runs, tuning_seeds_disjoint
from lrstudy.config.types import MAX_SEED, ConfigError, given, reading, yaml_kind

Check = Callable[[Config], list[str]]


def split_sizes(n_samples: int, test_fraction: float, val_fraction: float) -> dict[str, int]:
    """Sizes ``train_test_split`` produces: test = ceil(n * test), val = ceil(rest * val)."""
    n_test = math.ceil(n_samples * test_fraction)
    rest = n_samples - n_test
    n_val = math.ceil(rest * val_fraction)
    return {"train": rest - n_val, "val": n_val, "test": n_test}


def _suggested_settings(config: Config) -> list[str]:
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
    return problems


def _split_leaves_data(config: Config) -> list[str]:
    """Each part of the split holds at least one sample of every class."""
    sizes = split_sizes(
        config.data.n_samples, config.split.test_fraction, config.split.val_fraction
    )
    if min(sizes.values()) >= config.data.n_classes:
        return []
    return [
        f"(top level): split.test_fraction={config.split.test_fraction} and "
        f"split.val_fraction={config.split.val_fraction} split "
        f"data.n_samples={config.data.n_samples} into "
        f"{', '.join(f'{key}={count}' for key, count in sizes.items())}; every part needs at "
        f"least data.n_classes={config.data.n_classes} samples"
    ]


def _every_setting(config: Config) -> list[tuple[tuple[str, str], Any, Any]]:
    """``((section, name), setting, optimizer)`` of every setting the study trains.

    ``settings`` then ``suggested``, in file order; ``optimizer`` is the setting's own,
    else ``model.optimizer``.
    """
    return [
        ((section, name), setting, setting.optimizer or config.model.optimizer)
        for section, settings in (("settings", config.settings), ("suggested", config.suggested))
        for name, setting in (settings or {}).items()
    ]


def _seeds_in_range(config: Config) -> list[str]:
    """Every run's last seed is a valid NumPy seed (one line: the run reaching highest)."""
    # Every run starts at train.seed: the settings, the suggested settings, and the sweep
    # and range test (train.seeds).
    runs = [("train.seeds (the sweep and the range test)", config.train.seeds)]
    runs += [
        (".".join(at), setting.seeds if setting.seeds is not None else config.train.seeds)
        for at, setting, _ in _every_setting(config)
    ]
    where, n_seeds = max(runs, key=lambda run: run[1])
    last = config.train.seed + n_seeds - 1
    if last <= MAX_SEED:
        return []
    return [
        f"train.seed = {config.train.seed}: {where} runs {n_seeds} seeds, up to seed "
        f"{last}; seed + seeds - 1 must be at most {MAX_SEED} (2**32 - 1)"
    ]


def _periods_last_a_tick(config: Config) -> list[str]:
    """A restart's first period and a cyclic half-cycle span at least one tick.

    Under ``settings`` and ``suggested`` alike: a suggested setting's schedule is known
    before the range test gives its rate.
    """
    problems = []
    n_train = split_sizes(
        config.data.n_samples, config.split.test_fraction, config.split.val_fraction
    )["train"]
    for setting_at, setting, _ in _every_setting(config):
        batch_size = setting.batch_size or config.train.batch_size
        steps = steps_per_epoch(n_train, batch_size)
        schedule = setting.schedule
        at = (*setting_at, "schedule")
        where = ".".join(at)
        if isinstance(schedule, CosineRestartsSchedule) and not lasts_a_tick(
            schedule.first_decay_epochs, ticks_per_epoch(schedule.per, steps)
        ):
            clock = (
                f"1 optimizer step = 1/{steps} epoch with per: step"
                if schedule.per == "step"
                else "1 epoch with per: epoch"
            )
            problems.append(
                f"{where}.first_decay_epochs = "
                f"{given((*at, 'first_decay_epochs'), schedule.first_decay_epochs)}: the first "
                f"period must last at least one tick of the schedule's clock ({clock})"
            )
        if (
            isinstance(schedule, CyclicSchedule)
            and schedule.step_size_epochs is not None
            and not lasts_a_tick(schedule.step_size_epochs, steps)
        ):
            problems.append(
                f"{where}.step_size_epochs = "
                f"{given((*at, 'step_size_epochs'), schedule.step_size_epochs)}: the half-cycle "
                f"must last at least one optimizer step (1/{steps} epoch here: {n_train} "
                f"train rows, batch {batch_size})"
            )
    return problems


def _schedules_fit_their_runs(config: Config) -> list[str]:
    """Each schedule fits its run's epochs (wsd: warmup and cooldown within the run)."""
    return [
        f"{'.'.join(at)}.schedule.{problem}"
        for at, setting, _ in _every_setting(config)
        for problem in setting.schedule.problems_in_a_run(
            setting.epochs or config.train.epochs, (*at, "schedule")
        )
    ]


# Schedules whose rate rises again after it starts (besides a warmup): Prodigy's authors ask
# for safeguard_warmup with restarts, and a rising rate is what a warmup is.
RISING_SCHEDULES = ("cosine_restarts", "cyclic", "one_cycle")


def _schedule_problem(optimizer: Any, schedule: Any, at: tuple[str, ...]) -> str | None:
    """Why ``schedule`` (at key path ``at``) makes no sense with ``optimizer`` (None: it does).

    ``schedule_free_adamw`` replaces the schedule (its average ``x`` is the decay; its
    authors use a warmup only): any other family than ``constant`` is refused. ``prodigy``
    estimates its step size from the progress made so far: a warmup, a restart or a cycle
    makes it overestimate ``d`` (Prodigy's README), unless ``safeguard_warmup: true``.
    """
    kind = schedule.type
    if optimizer.type == "schedule_free_adamw" and kind != "constant":
        return (
            f"type = {kind!r}: schedule_free_adamw replaces a decaying schedule (its average is "
            "the decay); allowed with it: constant, with or without warmup_epochs"
        )
    if optimizer.type != "prodigy" or optimizer.safeguard_warmup:
        return None
    rising = kind in RISING_SCHEDULES or getattr(schedule, "cycle", False)
    if rising:
        return (
            f"type = {kind!r}: a rate that rises again makes prodigy overestimate d (its "
            "authors); set the optimizer's safeguard_warmup: true, or use another schedule"
        )
    warmup = getattr(schedule, "warmup_epochs", 0)
    if warmup:
        return (
            f"warmup_epochs = {given((*at, 'warmup_epochs'), warmup)}: a warmup makes prodigy "
            "overestimate d (its authors); "
            "set the optimizer's safeguard_warmup: true, or warmup_epochs: 0"
        )
    return None


def _optimizers_fit_their_schedules(config: Config) -> list[str]:
    """No setting combines a schedule with an optimizer it makes no sense with."""
    problems = []
    for at, setting, optimizer in _every_setting(config):
        problem = _schedule_problem(optimizer, setting.schedule, (*at, "schedule"))
        if problem:
            problems.append(f"{'.'.join(at)}.schedule.{problem}")
    return problems


# Optimizers whose ``lr`` is no rate a range test can sweep (``_range_test_sweeps_a_rate``).
NO_RANGE_TEST = ("prodigy",)


def _range_test_sweeps_a_rate(config: Config) -> list[str]:
    """``lr_find`` sweeps the rate of ``model.optimizer``, and a suggested setting takes it.

    Refused: ``prodigy``. Its ``lr`` multiplies the step size ``d`` it estimates as it
    trains (from ``d0`` = 1e-6 up), so along a range test's rising rates the loss follows
    ``d``'s growth as much as the rate: measured on the default problem (5 seeds), the
    minimum suggestion was 2.9e-7 over 100 steps and 0.69 over 400, the steep one 1.1e-6
    and 6.6. Nor can a suggested setting's own prodigy take a rate suggested for
    ``model.optimizer``. Kept: ``schedule_free_adamw``, whose ``lr`` is Adam's step on
    ``z``, a rate like Adam's: its minimum and valley suggestions were 0.051 and 0.055 over
    100 steps, 0.063 and 0.054 over 400 (Adam's: 0.051 and 0.022, 0.052 and 0.023).
    """
    if config.lr_find is None:
        return []
    allowed = ", ".join(kind for kind in OPTIMIZER_TYPES if kind not in NO_RANGE_TEST)
    problems = []
    if config.model.optimizer.type in NO_RANGE_TEST:
        problems.append(
            f"lr_find: model.optimizer is {config.model.optimizer.type}, whose lr multiplies "
            "the step size d it estimates as it trains, so a range test's loss follows d's "
            f"growth, not the rate; allowed with lr_find: {allowed} (prodigy stays available "
            "as a setting's own optimizer, with lr: 1.0 as its authors advise)"
        )
    problems += [
        f"suggested.{name}.optimizer is {setting.optimizer.type}: its lr multiplies the step "
        "size d it estimates, not a rate the range test can suggest; give the setting a "
        "fixed lr under settings (1.0, as its authors advise), or another optimizer"
        for name, setting in config.suggested.items()
        if setting.optimizer is not None and setting.optimizer.type in NO_RANGE_TEST
    ]
    return problems


# Every check that needs several sections at once, in the order of its lines in the
# message, each with whether its problems end the list (a gate). The checks after
# _split_leaves_data count train rows, so they need it to pass; _suggested_settings' lines
# have always come alone.
CROSS_CHECKS: tuple[tuple[Check, bool], ...] = (
    (_suggested_settings, True),
    (_split_leaves_data, True),
    (_seeds_in_range, False),
    (_periods_last_a_tick, False),
    (_schedules_fit_their_runs, False),
    (_optimizers_fit_their_schedules, False),
    (_range_test_sweeps_a_rate, False),
    (tuning_seeds_disjoint, False),
    (budgets_fit_the_runs, False),
)


# The optional sections dvc.yaml's stages need, and which stages (``pipeline_problems``).
PIPELINE_SECTIONS = {
    "tune": "the train@ stages (each tunes its setting's rate)",
    "sweep": "the sweep stage",
    "lr_find": "the lr_find stage",
}


def pipeline_problems(config: Config) -> list[str]:
    """The sections the pipeline's stages read that ``config`` lacks, one line each.

    The schema lets a study leave out ``tune``, ``sweep`` and ``lr_find`` (the library's
    functions take configs without them), but dvc.yaml runs a stage on each: without the
    section that stage would fail after DVC had removed its outputs. The ``validate``
    stage refuses such a file before any stage runs.
    """
    return [
        f"{key}: missing section, which {stages} of dvc.yaml run on; add it (params.yaml "
        "in the repository has it, with its keys)"
        for key, stages in PIPELINE_SECTIONS.items()
        if getattr(config, key) is None
    ]


def cross_check(config: Config) -> list[str]:
    """The problems ``CROSS_CHECKS`` find in a config whose every section is valid.

    Checks run in order; once a gate has found problems, the rest do not run.
    """
    problems: list[str] = []
    for check, gate in CROSS_CHECKS:
        problems += check(config)
        if gate and problems:
            break
    return problems


def parse_config(
    raw: Any, source: str = "params.yaml", spellings: Spellings | None = None
) -> Config:
    """Validate a parsed params mapping; raise ConfigError listing every problem.

    ``spellings`` (``key_spellings`` of the file's text) lets a message quote a key YAML
    did not read as a string as it is written in the file, with its line.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError([f"expected a mapping at the top level, got {yaml_kind(raw)}"], source)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        # One line per problem (a key with a line break in it spans two).
        problems = [
            line
            for error in exc.errors()
            for line in format_error(error, Config, spellings).split("\n")
        ]
        raise ConfigError(problems, source) from None
    with reading(raw):  # messages quote values as written (types.given)
        problems = cross_check(config)
    if problems:
        raise ConfigError(problems, source)
    return config


def read_params(path: str | Path = "params.yaml") -> Any:
    """Parse a params file exactly as DVC does: ruamel.yaml's safe loader (YAML 1.2).

    An empty file reads as an empty mapping (as in DVC).

    Raises:
        ConfigError: the file is missing or is not valid YAML (a repeated key included).
    """
    return parse_params_text(_read_text(Path(path)), str(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"file not found: {path}"], str(path)) from None


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


def key_spellings(text: str, raw: Any) -> Spellings:
    """Each mapping key YAML did not read as a string: its text in the file and its line.

    ``1e-3``, ``0x10``, ``true``, ``~`` or ``2024-01-01`` as a key become a float, an int,
    a boolean, null or a date, and a message naming the value (0.001, 16, ...) would
    quote something the user never wrote. Keyed by ``(parent path, key)``, the key
    both as parsed and as pydantic prints it in a location (``repr``); found by walking
    YAML's node tree (``compose``, which keeps the source text and position of each
    scalar) alongside the parsed mappings, which keep the file's order.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    found: Spellings = {}

    def walk(node: Any, value: Any, path: tuple[str, ...]) -> None:
        if not (isinstance(node, MappingNode) and isinstance(value, Mapping)):
            return
        if len(node.value) != len(value):  # merge keys (<<): no one-to-one order
            return
        for (key_node, child_node), (key, child) in zip(node.value, value.items(), strict=True):
            if not isinstance(key, str) and isinstance(key_node, ScalarNode):
                place = (key_node.value, key_node.start_mark.line + 1)
                found[(path, key)] = found[(path, repr(key))] = place
            walk(child_node, child, (*path, key if isinstance(key, str) else repr(key)))

    walk(YAML(typ="safe").compose(text), raw, ())
    return found


def load_config(path: str | Path = "params.yaml") -> Config:
    """Read and validate a params file (see ``read_params`` and ``parse_config``)."""
    text = _read_text(Path(path))
    raw = parse_params_text(text, str(Path(path)))
    return parse_config(raw, str(Path(path)), key_spellings(text, raw))
