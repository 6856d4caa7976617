"""One setting's results over its seeds, the comparison with the best, and metrics.json.

``summarize_setting`` collects a setting's numbers (``SettingSummary``) from its params,
its evaluation metrics and its training histories; ``with_comparisons`` marks the best
on validation accuracy and compares every other setting with it; ``metrics_document`` is
reports/metrics.json. The text made of them is ``reading`` and ``markdown``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from lrstudy.config import Config
from lrstudy.data import CHANCE_ACCURACY
from lrstudy.evaluation import ROUND, divergence_epoch, summarize
from lrstudy.report.curves import strict_mean_curve
from lrstudy.runlog import seed_key
from lrstudy.schedules import describe
from lrstudy.statistics import (
    ACCURACY_BOUNDS,
    Comparison,
    compare_to_reference,
    finite,
    wilson_interval,
)

TARGET_VAL_ACCURACY = 0.95
# A mean paired difference below this is float noise of accuracies stored to 6 decimals.
NO_DIFFERENCE = 1e-6
# A seed "collapsed" if its test accuracy is within this of chance: it did not learn.
COLLAPSE_MARGIN = 0.05


@dataclass(frozen=True)
class SettingSummary:
    """What the summary and metrics say about one setting.

    ``accuracy`` and ``loss`` are ``evaluation.summarize`` outputs over the seeds that
    have a result (mean, std, min, max, ci_low, ci_high, n); the accuracy's interval is
    bounded to [0, 1] (``summarize`` with ``ACCURACY_BOUNDS``). Per-seed sequences are in
    seed order (``seed_ids``), ``None`` where a seed has no value (it diverged).
    """

    name: str
    lr: float
    schedule: str
    batch_size: int
    epochs: int
    seeds: int
    accuracy: Mapping[str, float | int | None]
    per_seed_accuracy: Sequence[float | None]
    best_val_loss: float
    best_val_loss_epoch: int
    epochs_to_target: int | None
    diverged_seeds: Sequence[int]
    seed_ids: Sequence[int] = ()
    loss: Mapping[str, float | int | None] = field(default_factory=dict)
    per_seed_loss: Sequence[float | None] = ()
    val_accuracy: Sequence[float | None] = ()
    first_diverged_epoch: int | None = None
    comparison: Comparison | None = None
    is_best: bool = False
    chance: float = CHANCE_ACCURACY  # accuracy of guessing: 1 / data.n_classes

    @property
    def accuracy_array(self) -> np.ndarray:
        """Every seed's test accuracy in seed order, NaN where a seed has none."""
        return np.array(
            [np.nan if value is None else value for value in self.per_seed_accuracy],
            dtype=float,
        )

    @property
    def finite_accuracies(self) -> np.ndarray:
        """The seeds' test accuracies that exist (a diverged seed has none)."""
        return finite(self.per_seed_accuracy)

    @property
    def mean_accuracy(self) -> float | None:
        """Mean test accuracy over the seeds that have one; None if none has."""
        values = self.finite_accuracies
        return float(values.mean()) if values.size else None

    @property
    def mean_val_accuracy(self) -> float | None:
        """Mean final-epoch validation accuracy over the seeds that have a result."""
        values = finite(self.val_accuracy)
        return float(values.mean()) if values.size else None

    @property
    def collapsed_seeds(self) -> int:
        """Seeds whose test accuracy is within ``COLLAPSE_MARGIN`` of chance."""
        return int(np.sum(np.abs(self.finite_accuracies - self.chance) <= COLLAPSE_MARGIN))

    @property
    def collapse_interval(self) -> tuple[float, float] | None:
        """95 % Wilson interval of the fraction of collapsed seeds (of those with a result)."""
        return wilson_interval(self.collapsed_seeds, int(self.finite_accuracies.size))


def _finite_losses(history: pd.DataFrame) -> bool:
    """Whether every training and validation loss of a run is finite."""
    return bool(np.isfinite(history[["loss", "val_loss"]].to_numpy(dtype=float)).all())


def summarize_setting(
    config: Config,
    name: str,
    metrics: Mapping[str, object],
    by_seed: Mapping[int, pd.DataFrame],
    initial_losses: Mapping[int, float] | None = None,
) -> SettingSummary:
    """Collect one setting's numbers for the summary table and the metrics file.

    A seed whose loss went NaN or infinite in training, or whose test result is null
    (non-finite predictions), has no test accuracy, loss or validation accuracy here. A
    seed whose training loss ended far above the untrained model's (``divergence_epoch``)
    keeps its
    measured accuracy; both kinds count as diverged (``diverged_seeds``).

    Args:
        config: The validated params (the setting's lr, schedule, batch size, epochs).
        name: The setting.
        metrics: Its ``evaluation/<setting>/metrics.json`` content.
        by_seed: Its per-epoch history per seed (``read_live_history``).
        initial_losses: Per seed, the untrained model's training loss
            (``read_initial_loss``); a seed without one is judged against its first epoch.

    Raises:
        ValueError: If ``metrics`` has no per-seed test accuracy.
    """
    spec = config.run(name)
    mean_curve = strict_mean_curve(by_seed)
    val_loss = mean_curve["val_loss"].to_numpy(dtype=float)
    best = int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else 0
    reached = np.flatnonzero(
        np.nan_to_num(mean_curve["val_accuracy"].to_numpy(dtype=float)) >= TARGET_VAL_ACCURACY
    )
    accuracy, loss = metrics.get("test_accuracy"), metrics.get("test_loss")
    if not isinstance(accuracy, Mapping) or not isinstance(accuracy.get("seeds"), Mapping):
        raise ValueError(f"{name}: metrics have no test_accuracy with per-seed values")
    losses = loss.get("seeds", {}) if isinstance(loss, Mapping) else {}
    seeds = list(spec.seeds)
    initial = initial_losses or {}
    epochs = {
        seed: divergence_epoch(history, initial.get(seed, math.nan))
        for seed, history in by_seed.items()
    }
    per_seed = {seed: accuracy["seeds"].get(seed_key(seed)) for seed in seeds}
    # No accuracy where the loss or the predictions went non-finite; a seed flagged only
    # for ending far above the untrained model's keeps its (finite, measured) accuracy.
    lost = [
        seed
        for seed in seeds
        if per_seed[seed] is None or (seed in by_seed and not _finite_losses(by_seed[seed]))
    ]
    flagged = [seed for seed in seeds if seed in lost or epochs.get(seed) is not None]
    kept_accuracy = [None if seed in lost else per_seed[seed] for seed in seeds]
    kept_loss = [None if seed in lost else losses.get(seed_key(seed)) for seed in seeds]
    diverged_at = [epoch for epoch in epochs.values() if epoch is not None]
    return SettingSummary(
        name=name,
        chance=1.0 / config.data.n_classes,
        lr=spec.lr,
        schedule=describe(spec.schedule),
        batch_size=spec.batch_size,
        epochs=spec.epochs,
        seeds=len(seeds),
        accuracy=summarize(kept_accuracy, ACCURACY_BOUNDS),
        per_seed_accuracy=kept_accuracy,
        best_val_loss=float(val_loss[best]),
        best_val_loss_epoch=int(mean_curve["epoch"].iloc[best]),
        epochs_to_target=int(mean_curve["epoch"].iloc[reached[0]]) if reached.size else None,
        diverged_seeds=flagged,
        seed_ids=seeds,
        loss=summarize(kept_loss),
        per_seed_loss=kept_loss,
        val_accuracy=[
            None
            if seed in lost or seed not in by_seed
            else float(by_seed[seed]["val_accuracy"].iloc[-1])
            for seed in seeds
        ],
        first_diverged_epoch=min(diverged_at) if diverged_at else None,
    )


def best_setting(summaries: Sequence[SettingSummary]) -> str | None:
    """The setting with the highest mean final-epoch validation accuracy.

    Only settings where no seed diverged compete (survivors alone do not win); ties go
    to the first in params order. The test split stays out of the choice, so the
    comparisons against the best are not biased toward it. None if nothing competes.
    """
    competing = [
        item for item in summaries if not item.diverged_seeds and item.mean_val_accuracy is not None
    ]
    if not competing:
        return None
    return max(competing, key=lambda item: item.mean_val_accuracy or 0.0).name


def with_comparisons(summaries: Sequence[SettingSummary]) -> list[SettingSummary]:
    """The summaries with the best marked and every other compared with it.

    Seeds are paired with the best's where both settings ran the same seed list (same
    seed → same initial weights and batch order, see ``lrstudy.training``); otherwise the
    comparison falls back to the unpaired test (``statistics.compare_to_reference``).
    """
    best = best_setting(summaries)
    if best is None:
        return list(summaries)
    reference = next(item for item in summaries if item.name == best)
    comparisons = compare_to_reference(
        {item.name: item.per_seed_accuracy for item in summaries},
        best,
        {item.name: list(item.seed_ids) == list(reference.seed_ids) for item in summaries},
        bounds=ACCURACY_BOUNDS,
    )
    return [
        replace(item, is_best=item.name == best, comparison=comparisons.get(item.name))
        for item in summaries
    ]


def _rounded(value: float | None) -> float | None:
    # + 0.0: a difference that rounds to zero is 0.0, not -0.0
    return None if value is None or not math.isfinite(value) else round(value, ROUND) + 0.0


def metrics_document(summaries: Sequence[SettingSummary]) -> dict[str, object]:
    """reports/metrics.json: per setting, results with intervals and the comparison with the best.

    Per-seed values are null for a seed whose loss or predictions went non-finite.

    Keys per setting: ``test_accuracy`` and ``test_loss`` (``evaluation.summarize`` plus
    ``seeds``), ``val_accuracy.mean`` (final epoch, the basis of "best"), ``diverged``
    (``seeds``, ``first_epoch``), ``collapsed`` (``seeds`` within ``COLLAPSE_MARGIN`` of
    chance, Wilson ``ci_low``/``ci_high`` of the fraction) and ``vs_best`` (``is_best``;
    for the others ``difference`` in test accuracy, ``ci_low``, ``ci_high``, ``p``,
    ``p_holm``, ``prob_improvement``, ``paired``, ``seeds_for_80_power``).
    """
    document: dict[str, object] = {}
    for item in summaries:
        entry: dict[str, object] = {}
        for key, stats, values in (
            ("test_accuracy", item.accuracy, item.per_seed_accuracy),
            ("test_loss", item.loss, item.per_seed_loss),
        ):
            entry[key] = {
                **stats,
                "seeds": {
                    seed_key(seed): _rounded(value)
                    for seed, value in zip(item.seed_ids, values, strict=True)
                },
            }
        entry["val_accuracy"] = {"mean": _rounded(item.mean_val_accuracy)}
        entry["diverged"] = {
            "seeds": len(item.diverged_seeds),
            "first_epoch": item.first_diverged_epoch,
        }
        collapse = item.collapse_interval
        entry["collapsed"] = {
            "seeds": item.collapsed_seeds,
            "ci_low": None if collapse is None else _rounded(collapse[0]),
            "ci_high": None if collapse is None else _rounded(collapse[1]),
        }
        comparison = item.comparison
        if item.is_best:
            entry["vs_best"] = {"is_best": True}
        elif comparison is not None:
            entry["vs_best"] = {
                "is_best": False,
                "difference": _rounded(comparison.difference),
                "ci_low": _rounded(comparison.ci_low),
                "ci_high": _rounded(comparison.ci_high),
                "p": _rounded(comparison.p_value),
                "p_holm": _rounded(comparison.p_holm),
                "prob_improvement": _rounded(comparison.probability_of_improvement),
                "paired": comparison.paired,
                "seeds_for_80_power": comparison.seeds_for_power,
            }
        document[item.name] = entry
    return document
