"""Sections ``tune`` (each setting's base rate tuned on a log grid) and ``compare``.

``tune``: the grid ``min_lr * 10 ** (k / per_decade)`` up to ``max_lr`` (as the sweep's),
the tuning seeds ``seed .. seed + seeds - 1`` (a block disjoint from the evaluation seeds
``train.seed ..``: ``tuning_seeds_disjoint``, run with the other cross-section checks) and
``margin``, the validation accuracy within which a rate counts as good (the sensitivity
range), and ``budgets``: fractions of a setting's epochs it is retrained for at its tuned
rate (``budget_epochs``; checked against every setting's run by ``budgets_fit_the_runs``).
``compare.equivalence_margin``: the ± margin of the equivalence test (TOST).
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from lrstudy.clock import as_rational
from lrstudy.config.types import (
    MAX_SEED,
    LearningRate,
    Seed,
    SeedCount,
    StrictModel,
    given,
    increasing,
    strict_number,
)


class TuneConfig(StrictModel):
    """Stage ``tune@<setting>``: the base-rate grid, the tuning seeds and the good margin."""

    min_lr: LearningRate
    max_lr: LearningRate
    per_decade: strict_number(int, ge=1, le=20)
    seed: Seed
    seeds: SeedCount
    margin: strict_number(float, ge=0, lt=1) = 0.01
    # Fractions of each setting's epochs; 1 (the tuned evaluation) is reported either way.
    budgets: list[strict_number(float, gt=0, le=1)] = Field(
        default_factory=lambda: [1.0], min_length=1
    )

    @field_validator("budgets")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if any(b <= a for a, b in pairwise(value)):
            raise PydanticCustomError(
                "budgets_order",
                "budgets must be strictly increasing (sorted, each once), e.g. [0.25, 0.5, 1]",
            )
        return value

    _ordered = increasing("min_lr", "max_lr")

    @property
    def tuning_seeds(self) -> tuple[int, ...]:
        """The tuning seeds: ``seed``, ``seed + 1``, ..., ``seed + seeds - 1``."""
        return tuple(self.seed + index for index in range(self.seeds))


def budget_epochs(budget: float, epochs: int) -> int:
    """Epochs of a run cut to ``budget`` of ``epochs``: ``floor(budget * epochs)``.

    Exact (``clock.as_rational``): 0.3 of 50 is 15, never 14 through float rounding; never
    more than the fraction of the run. Can be 0 (``budgets_fit_the_runs`` refuses it).
    """
    return math.floor(as_rational(budget) * epochs)


class CompareConfig(StrictModel):
    """Stage ``compare``'s tuned comparison: the margin of practical equivalence, in accuracy."""

    equivalence_margin: strict_number(float, gt=0, lt=1) = 0.005


def tuning_seeds_disjoint(config: Any) -> list[str]:
    """The tuning seeds share none with any setting's evaluation seeds (one line if they do).

    ``config`` is a ``sections.Config`` (not imported: ``sections`` imports this module).

    Evaluation seeds run from ``train.seed`` for the most seeds any setting trains.
    """
    if config.tune is None:
        return []
    if config.tune.seed + config.tune.seeds - 1 > MAX_SEED:
        return [
            f"tune.seed = {config.tune.seed}: tune.seeds = {config.tune.seeds} reach seed "
            f"{config.tune.seed + config.tune.seeds - 1}; the last must be at most {MAX_SEED}"
        ]
    counts = [config.train.seeds] + [
        setting.seeds
        for section in (config.settings, config.suggested)
        for setting in section.values()
        if setting.seeds is not None
    ]
    first, last = config.train.seed, config.train.seed + max(counts) - 1
    low, high = config.tune.seed, config.tune.seed + config.tune.seeds - 1
    if high < first or low > last:
        return []
    return [
        f"tune.seed = {config.tune.seed}: the tuning seeds {low}..{high} overlap the "
        f"evaluation seeds {first}..{last} (train.seed, train.seeds and any setting's "
        "seeds); choose a tune.seed whose block lies outside them"
    ]


def budgets_fit_the_runs(config: Any) -> list[str]:
    """Every budget gives every tuned setting at least one epoch, and its schedule fits it.

    Tuned settings are those under ``settings`` (``suggested`` ones are not tuned).
    ``config`` is a ``sections.Config``. A budget run keeps the schedule's keys as written
    and only shortens the run (``budget_epochs``), so a wsd cooldown of fixed
    ``decay_epochs`` (or a warmup) must still fit it (``problems_in_a_run``). One line per
    problem, naming ``tune.budgets``, the budget and the setting.
    """
    if config.tune is None:
        return []
    problems = []
    # Only `settings` are tuned and cut to budgets: a `suggested` setting's rate comes from
    # the range test, and its train_suggested@ stage trains it once, at its own epochs.
    entries = [(f"settings.{name}", setting) for name, setting in config.settings.items()]
    for index, budget in enumerate(config.tune.budgets):
        written = given(("tune", "budgets", index), budget)
        where = f"tune.budgets.{index} = {written}"
        runs = [(path, setting, setting.epochs or config.train.epochs) for path, setting in entries]
        path, _, shortest = min(runs, key=lambda run: run[2])
        if budget_epochs(budget, shortest) < 1:
            problems.append(
                f"{where}: {path} trains {shortest} epochs, and floor({written} * {shortest}) "
                f"= 0; each budget must give every setting at least 1 epoch: at least "
                f"1/{shortest} = {1 / shortest:.3g} here (or leave it out of tune.budgets)"
            )
            continue
        if budget < 1:
            # A schedule that does not fit the full run is reported once, for that run.
            fitting = [
                run
                for run in runs
                if not run[1].schedule.problems_in_a_run(run[2], (*run[0].split("."), "schedule"))
            ]
            for path, setting, epochs in fitting:
                cut = budget_epochs(budget, epochs)
                problems += [
                    f"{where}: {path}.schedule.{problem} (the budget's run: {cut} of "
                    f"{epochs} epochs; raise the budget or leave it out of tune.budgets)"
                    for problem in setting.schedule.problems_in_a_run(
                        cut, (*path.split("."), "schedule")
                    )
                ]
    return problems
