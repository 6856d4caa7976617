"""Sections ``tune`` (each setting's base rate tuned on a log grid) and ``compare``.

``tune``: the grid ``min_lr * 10 ** (k / per_decade)`` up to ``max_lr`` (as the sweep's),
the tuning seeds ``seed .. seed + seeds - 1`` (a block disjoint from the evaluation seeds
``train.seed ..``: ``tuning_seeds_disjoint``, run with the other cross-section checks) and
``margin``, the validation accuracy within which a rate counts as good (the sensitivity
range). ``compare.equivalence_margin``: the ± margin of the equivalence test (TOST).
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from lrstudy.config.types import (
    MAX_SEED,
    LearningRate,
    Seed,
    SeedCount,
    StrictModel,
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

    @model_validator(mode="after")
    def _ordered(self) -> TuneConfig:
        if self.max_lr <= self.min_lr:
            raise PydanticCustomError(
                "bounds_order",
                "max_lr ({high}) must be greater than min_lr ({low})",
                {"high": self.max_lr, "low": self.min_lr},
            )
        return self

    @property
    def tuning_seeds(self) -> tuple[int, ...]:
        """The tuning seeds: ``seed``, ``seed + 1``, ..., ``seed + seeds - 1``."""
        return tuple(self.seed + index for index in range(self.seeds))


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
