"""Tables and text of the comparison: histories, plot data, metrics.json, summary.md.

Pure pandas/NumPy apart from the two readers of training logs: frames and dicts in,
frames, dicts and markdown out.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lrstudy.config import Config
from lrstudy.data import CHANCE_ACCURACY
from lrstudy.evaluation import DIVERGENCE_FACTOR, ROUND, divergence_epoch, summarize
from lrstudy.runlog import HISTORY_KEYS, seed_key
from lrstudy.schedules import describe
from lrstudy.statistics import (
    ALPHA,
    POWER,
    Comparison,
    compare_to_reference,
    finite,
    wilson_interval,
)

CURVE_COLUMNS = ("loss", "val_loss", "accuracy", "val_accuracy")
FAILED_ACCURACY = 0.6  # mean test accuracy below this: the setting did not learn
TARGET_VAL_ACCURACY = 0.95
# A mean paired difference below this is float noise of accuracies stored to 6 decimals.
NO_DIFFERENCE = 1e-6
# A seed "collapsed" if its test accuracy is within this of chance: it did not learn.
COLLAPSE_MARGIN = 0.05
# Learning-rate polylines keep every point needed to stay within this many decades
# (2.3 %) of the true rate: under a pixel on a log axis spanning a few decades, and a
# plot file of a few hundred rows per setting even for a cyclic per-step schedule.
RATE_TOLERANCE_DECADES = 0.01
ALL_SEEDS = "all"


def long_history(histories: Mapping[str, Mapping[int, pd.DataFrame]]) -> pd.DataFrame:
    """Stack per-setting, per-seed histories into one frame: setting, seed, epoch, ..."""
    frames = [
        history.assign(setting=setting, seed=seed)
        for setting, by_seed in histories.items()
        for seed, history in by_seed.items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["setting", "seed", "epoch", *HISTORY_KEYS]]


def epoch_summary(long: pd.DataFrame) -> pd.DataFrame:
    """Per setting and epoch: mean, min and max over seeds, and how many seeds diverged.

    Settings keep their input order. Non-finite values (a diverged seed) are left out of
    the statistics; an epoch where every seed diverged stays NaN. ``seeds`` counts the
    seeds logged at that epoch and ``diverged`` those whose training or validation loss
    was non-finite at it.
    """
    finite = long.replace([np.inf, -np.inf], np.nan)
    keys = ["setting", "epoch"]
    grouped = finite.groupby(keys, sort=False)[list(HISTORY_KEYS)]
    mean = grouped.mean()
    low = grouped.min().add_suffix("_min")
    high = grouped.max().add_suffix("_max")
    broken = ~np.isfinite(long[["loss", "val_loss"]].to_numpy(dtype=float)).all(axis=1)
    counts = (
        long.assign(diverged=broken)
        .groupby(keys, sort=False)
        .agg(seeds=("seed", "nunique"), diverged=("diverged", "sum"))
    )
    return pd.concat([mean, low, high, counts], axis=1).reset_index()


def curves_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The learning-curves plot file: per setting and epoch, mean, min and max over seeds.

    Long format (one row per setting and epoch, a ``setting`` column), so ``dvc plots``
    templates colour by setting and a new setting needs no dvc.yaml edit.
    """
    columns = [f"{column}{suffix}" for column in CURVE_COLUMNS for suffix in ("", "_min", "_max")]
    return summary[["setting", "epoch", *columns]].reset_index(drop=True)


def simplify_curve(x: np.ndarray, y: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the points of a polyline to keep (Ramer–Douglas–Peucker, vertical).

    A dropped point lies within ``tolerance`` (in ``y`` units) of the straight line
    between the kept points around it, so the kept points, joined by straight lines,
    draw the same curve. Constant runs shrink to their ends; corners are kept exactly.

    Args:
        x: Non-decreasing x coordinates.
        y: Finite y coordinates.
        tolerance: Largest vertical distance a dropped point may have from the line.

    Returns:
        Sorted indices, always including the first and the last point.
    """
    count = len(x)
    if count <= 2:
        return np.arange(count)
    keep = np.zeros(count, dtype=bool)
    keep[[0, -1]] = True
    pending = [(0, count - 1)]
    while pending:
        start, end = pending.pop()
        if end - start < 2:
            continue
        inner = np.arange(start + 1, end)
        if x[end] > x[start]:
            share = (x[inner] - x[start]) / (x[end] - x[start])
            error = np.abs(y[inner] - (y[start] + share * (y[end] - y[start])))
        else:  # a vertical segment: distance to the nearer end's range
            error = np.maximum(
                0.0,
                np.maximum(y[inner] - max(y[start], y[end]), min(y[start], y[end]) - y[inner]),
            )
        worst = int(np.argmax(error))
        if error[worst] > tolerance:
            split = int(inner[worst])
            keep[split] = True
            pending += [(start, split), (split, end)]
    return np.flatnonzero(keep)


def _polyline(x: np.ndarray, rates: np.ndarray) -> pd.DataFrame:
    """Points of a rate curve, keeping only what a log axis can show (positive rates)."""
    rates = np.asarray(rates, dtype=float)
    usable = np.isfinite(rates) & (rates > 0)
    x, rates = np.asarray(x, dtype=float)[usable], rates[usable]
    kept = simplify_curve(x, np.log10(rates), RATE_TOLERANCE_DECADES) if len(x) else []
    return pd.DataFrame({"epoch": x[kept], "learning_rate": rates[kept]})


def rate_polyline(
    history: pd.DataFrame | None = None, steps: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One seed's learning rate as a small polyline over training progress (epochs).

    Per-step rates (``read_step_rates``) win over the per-epoch ``learning_rate`` of the
    history. A per-epoch rate is held for its whole epoch (a staircase, exact for
    reduce-on-plateau and per-epoch schedules); per-step rates are joined point to point
    (a step is too short to see). Points the eye could not tell from the straight line
    through their neighbours are dropped (``RATE_TOLERANCE_DECADES``).

    Returns:
        Columns ``epoch`` (0 = start of training; fractional inside an epoch) and
        ``learning_rate``.
    """
    if steps is not None and not steps.empty:
        starts = steps["epoch_fraction"].to_numpy(dtype=float)
        rates = steps["learning_rate"].to_numpy(dtype=float)
        width = float(np.median(np.diff(starts))) if len(starts) > 1 else 1.0
        # The last rate holds until the end of its step.
        return _polyline(np.append(starts, starts[-1] + width), np.append(rates, rates[-1]))
    if history is None:
        raise ValueError("rate_polyline needs a history or per-step rates")
    epochs = history["epoch"].to_numpy(dtype=float)
    x = np.column_stack([epochs - 1, epochs]).ravel()
    return _polyline(x, np.repeat(history["learning_rate"].to_numpy(dtype=float), 2))


def learning_rate_curves(
    histories: Mapping[str, Mapping[int, pd.DataFrame]],
    steps: Mapping[str, Mapping[int, pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """The learning-rate plot file: per setting, the rate each seed used.

    A setting whose seeds all used the same rates (any deterministic schedule) gets one
    polyline with ``seed`` = ``"all"``; one whose rates depend on the run (for example
    reduce-on-plateau) gets one polyline per seed.

    Args:
        histories: Per setting and seed, the per-epoch history (``read_live_history``).
        steps: Per setting and seed, per-step rates where the train stage wrote them.

    Returns:
        Long format: ``setting``, ``seed`` (text), ``epoch``, ``learning_rate``.
    """
    frames = []
    for setting, by_seed in histories.items():
        per_step = (steps or {}).get(setting, {})
        lines = {
            seed: rate_polyline(history, per_step.get(seed)) for seed, history in by_seed.items()
        }
        first = next(iter(lines.values()))
        if all(line.equals(first) for line in lines.values()):
            lines = {ALL_SEEDS: first}
        frames += [line.assign(setting=setting, seed=str(seed)) for seed, line in lines.items()]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["setting", "seed", "epoch", "learning_rate"]]


@dataclass(frozen=True)
class SettingSummary:
    """What the summary and metrics say about one setting.

    ``accuracy`` and ``loss`` are ``evaluation.summarize`` outputs over the seeds that
    have a result (mean, std, min, max, ci_low, ci_high, n). Per-seed sequences are in
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


def strict_mean_curve(by_seed: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per epoch, the mean over seeds, NaN wherever any seed's value is non-finite.

    Unlike ``epoch_summary`` (which averages the seeds that survived, for the figures),
    a diverged seed here spoils the epoch, so a setting that lost seeds cannot win on
    the survivors alone.
    """
    stacked = long_history({"_": by_seed}).replace([np.inf, -np.inf], np.nan)
    return (
        stacked.groupby("epoch")[list(HISTORY_KEYS)]
        .agg(lambda values: values.mean(skipna=False))
        .reset_index()
    )


def summarize_setting(
    config: Config,
    name: str,
    metrics: Mapping[str, object],
    by_seed: Mapping[int, pd.DataFrame],
) -> SettingSummary:
    """Collect one setting's numbers for the summary table and the metrics file.

    A seed whose loss went NaN or infinite in training, or whose test result is null
    (non-finite predictions), has no test accuracy, loss or validation accuracy here. A
    seed whose training loss ended far above its start (``divergence_epoch``) keeps its
    measured accuracy; both kinds count as diverged (``diverged_seeds``).

    Args:
        config: The validated params (the setting's lr, schedule, batch size, epochs).
        name: The setting.
        metrics: Its ``evaluation/<setting>/metrics.json`` content.
        by_seed: Its per-epoch history per seed (``read_live_history``).

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
    epochs = {seed: divergence_epoch(history) for seed, history in by_seed.items()}
    per_seed = {seed: accuracy["seeds"].get(seed_key(seed)) for seed in seeds}
    # No accuracy where the loss or the predictions went non-finite; a seed flagged only
    # for ending far above its start keeps its (finite, measured) accuracy.
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
        accuracy=summarize(kept_accuracy),
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


@dataclass(frozen=True)
class FigureEntry:
    """A figure of the report: its file under reports/figures/, title and caption."""

    file: str
    title: str
    caption: str


FIGURES = (
    FigureEntry(
        "test_accuracy.png",
        "Test accuracy per setting",
        "Each dot is one seed; the black bar is the mean over seeds and its whisker the "
        "95 % confidence interval of the mean (Student t); a red cross is a seed that "
        "diverged (no accuracy); the dashed line is chance. Sorted by mean test accuracy, "
        "highest on top; the name in bold is the best on validation accuracy, the "
        "reference of the comparisons below. Where the best settings crowd together, the "
        "right panel zooms in on them.",
    ),
    FigureEntry(
        "learning_curves.png",
        "Learning curves",
        "Training and validation loss (log scale) and accuracy per epoch: the line is the "
        "mean over seeds, the band the min–max over seeds. A cross near a panel's top edge "
        "marks the first epoch at which a seed's loss was NaN or infinite.",
    ),
    FigureEntry(
        "learning_rate.png",
        "Learning rate",
        "The rate the optimizer really used (log scale), per step where a schedule "
        "changes it within an epoch; one thin line per seed where seeds differ "
        "(reduce-on-plateau).",
    ),
    FigureEntry(
        "decision_boundaries.png",
        "Decision boundaries",
        "P(y = 1) over the input plane for each setting's median seed (by test "
        "accuracy), with the test points coloured by their true class.",
    ),
    FigureEntry(
        "lr_sweep.png",
        "LR sweep",
        "Validation and test accuracy after training at each constant rate of the sweep's "
        "log grid (line: mean over seeds; band: min–max; dots: single seeds); the green "
        "line is the best rate by validation accuracy, the green band the rates within one "
        "standard error of it, diamonds the study's constant-rate settings. A red box warns "
        "when the best rate is at an edge of the grid.",
    ),
    FigureEntry(
        "lr_find.png",
        "LR range test",
        "Smoothed training loss while the rate rises exponentially every optimizer step: "
        "one thin grey line per seed, up to divergence, and their median in black; "
        "coloured markers are each seed's suggestions, vertical lines of the same colour "
        "their medians over seeds (what settings under `suggested` use).",
    ),
)


def _number(value: float | None, digits: int = 4) -> str:
    """A number for a table: fixed decimals, scientific where fixed would mislead.

    A huge finite loss (a run blowing up) prints as ``1.2346e+30``, not 31 digits.
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if value != 0 and not 10**-digits <= abs(value) < 1e4:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    """A difference with its sign, to ``digits`` decimals; one that rounds to 0 is ``0.0000``.

    Differences of accuracies stored to 6 decimals carry float noise (``-5e-08``) that
    must not print as a number in scientific notation.
    """
    if value is not None and math.isfinite(value) and abs(value) < 1e4:
        value = round(value, digits) + 0.0  # + 0.0: no "-0.0000"
        if value == 0:
            return f"{0:.{digits}f}"
    text = _number(value, digits)
    return text if value is None or text == "n/a" or value < 0 else f"+{text}"


def _not_enough(count: int) -> str:
    """What stands in for an interval or test that needs two seeds."""
    return f"n/a ({count} seed{'s' if count != 1 else ''})"


def _interval(low: float | None, high: float | None, count: int, signed: bool = False) -> str:
    if low is None or high is None:
        return _not_enough(count)
    show = _signed if signed else _number
    return f"{show(low)} to {show(high)}"


def _p_value(value: float | None, count: int) -> str:
    if value is None:
        return _not_enough(count)
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _p_phrase(value: float | None, count: int) -> str:
    """``= 0.012`` or ``< 0.001``, to follow a "p" in prose."""
    text = _p_value(value, count)
    return text if text.startswith("<") else f"= {text}"


def _seeds_needed(comparison: Comparison) -> str:
    if comparison.seeds_for_power is not None:
        return str(comparison.seeds_for_power)
    if comparison.spread is None:
        return _not_enough(comparison.n)
    no_difference = comparison.difference is not None and abs(comparison.difference) < NO_DIFFERENCE
    return "no difference" if no_difference else "> 100000"


def _versus_best(item: SettingSummary) -> list[str]:
    """The table cells comparing a setting with the best: Δ [CI], p (Holm), P, seeds."""
    if item.is_best:
        return ["best (reference)", "–", "–", "–"]
    comparison = item.comparison
    if comparison is None:
        return ["n/a", "n/a", "n/a", "n/a"]
    interval = _interval(comparison.ci_low, comparison.ci_high, comparison.n, signed=True)
    unpaired = "" if comparison.paired else " (unpaired)"
    probability = comparison.probability_of_improvement
    return [
        f"{_signed(comparison.difference)} [{interval}]{unpaired}",
        _p_value(comparison.p_holm, comparison.n),
        "n/a" if probability is None else f"{probability:.2f}",
        _seeds_needed(comparison),
    ]


def _accuracy_cells(item: SettingSummary) -> list[str]:
    stats = item.accuracy
    count = int(stats.get("n") or 0)
    if stats.get("mean") is None:
        return ["n/a (0 seeds)", "n/a"]
    share = f" ({count} of {item.seeds} seeds)" if count < item.seeds else ""
    mean = _number(stats["mean"])
    interval = _interval(stats.get("ci_low"), stats.get("ci_high"), count)
    return [
        f"{mean} [{interval}]{share}",
        f"{_number(stats['min'])}–{_number(stats['max'])}",
    ]


def _collapse_cell(item: SettingSummary) -> str:
    interval = item.collapse_interval
    if interval is None:
        return "n/a"
    count = int(item.finite_accuracies.size)
    return f"{item.collapsed_seeds} of {count} [{interval[0]:.2f}–{interval[1]:.2f}]"


def _divergence_cell(item: SettingSummary) -> str:
    if not item.diverged_seeds:
        return "none"
    seeds = ", ".join(map(str, item.diverged_seeds))
    first = item.first_diverged_epoch
    return seeds + (f" (from epoch {first})" if first is not None else " (at evaluation)")


def summary_table(summaries: Sequence[SettingSummary]) -> str:
    """The per-setting markdown table, in the order given (params.yaml order)."""
    header = (
        "| setting | lr | schedule | batch | epochs | seeds "
        "| test accuracy: mean [95 % CI] | range | Δ vs best [95 % CI] | p (Holm) "
        "| P(beats best) | seeds for 80 % power | best val_loss (epoch) "
        "| epochs to 95% val acc | diverged seeds | collapsed to chance [95 % CI] |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n"
    )
    rows = []
    for item in summaries:
        best = (
            f"{_number(item.best_val_loss)} ({item.best_val_loss_epoch})"
            if math.isfinite(item.best_val_loss)
            else "n/a"
        )
        cells = [
            item.name,
            f"{item.lr:g}",
            item.schedule,
            str(item.batch_size),
            str(item.epochs),
            str(item.seeds),
            *_accuracy_cells(item),
            *_versus_best(item),
            best,
            str(item.epochs_to_target) if item.epochs_to_target is not None else "never",
            _divergence_cell(item),
            _collapse_cell(item),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(rows) + "\n"


def _count(count: int, noun: str) -> str:
    """``1 comparison``, ``3 comparisons``."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def metrics_table(metrics: Mapping[str, Any]) -> str:
    """A markdown table of reports/metrics.json, one row per setting, in file order.

    Columns: the number of seeds, then test accuracy and test loss, each as mean ± sample
    std over seeds and min–max. A value the file holds as ``null`` (a diverged seed made
    it NaN) shows as ``n/a``.

    Args:
        metrics: ``{setting: {"test_accuracy": {"mean", "std", "min", "max", "seeds"},
            "test_loss": {...}}}``, as the compare stage writes it.
    """
    lines = [
        "| setting | seeds | test accuracy, mean ± std | min – max | test loss, mean ± std "
        "| min – max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in metrics.items():
        cells = [name, str(len(values["test_accuracy"].get("seeds") or {}))]
        for key in ("test_accuracy", "test_loss"):
            item = values[key]
            cells += [
                f"{_number(item.get('mean'))} ± {_number(item.get('std'))}",
                f"{_number(item.get('min'))} – {_number(item.get('max'))}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`metrics_table` of a metrics file (``make metrics``).

    ``python -m lrstudy.report [metrics.json]``; exit status 2 with a message if the file
    is missing or not what the compare stage writes.
    """
    parser = argparse.ArgumentParser(description="Print reports/metrics.json as a table.")
    parser.add_argument("metrics", nargs="?", default="reports/metrics.json", type=Path)
    args = parser.parse_args(argv)
    try:
        table = metrics_table(json.loads(args.metrics.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        print(
            f"error: {args.metrics}: not a metrics file of the compare stage ({error!r}); "
            "run `make repro` first",
            file=sys.stderr,
        )
        return 2
    print(table, end="")
    return 0


def _names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _difference_text(comparison: Comparison) -> str:
    interval = _interval(comparison.ci_low, comparison.ci_high, comparison.n, signed=True)
    unpaired = ", unpaired" if not comparison.paired else ""
    return f"difference {_signed(comparison.difference)}, 95 % CI {interval}{unpaired}"


def _comparison_sentences(summaries: Sequence[SettingSummary], best: SettingSummary) -> list[str]:
    """Which settings are worse than, better than or indistinguishable from the best."""
    compared = [item for item in summaries if item.comparison is not None]
    decided = [
        item
        for item in compared
        if item.comparison.p_holm is not None and item.comparison.p_holm < ALPHA
    ]
    worse = [item for item in decided if (item.comparison.difference or 0) < 0]
    better = [item for item in decided if (item.comparison.difference or 0) > 0]
    open_ = [item for item in compared if item not in decided]
    sentences = []
    for group, word in ((worse, "Worse than"), (better, "Better on test accuracy than")):
        if group:
            listed = [
                f"{item.name} ({_difference_text(item.comparison)}; "
                f"p {_p_phrase(item.comparison.p_holm, item.comparison.n)} after Holm)"
                for item in group
            ]
            sentences.append(f"{word} {best.name}: {_names(listed)}.")
    excluded = [item for item in open_ if item.comparison.within_noise is False]
    if excluded:
        # the interval says "different", the adjusted test cannot (yet): say both
        family = sum(item.comparison.p_value is not None for item in compared)
        n = max(item.comparison.n for item in excluded)
        listed = [f"{item.name} ({_difference_text(item.comparison)})" for item in excluded]
        # the permutation floor explains the verdict only where it is above Holm's
        # strictest level; at 20 seeds (floor 1.9e-06) it says nothing
        floor = (
            f" (a paired permutation test of {n} seeds cannot give p below {2 / 2**n:.3g})"
            if all(item.comparison.paired for item in excluded) and 2 / 2**n > ALPHA / family
            else ""
        )
        sentences.append(
            f"Apart from {best.name} by their 95 % interval, but not significant after Holm "
            f"over {_count(family, 'comparison')} at {n} seeds{floor}: {_names(listed)}."
        )
    noise = [item for item in open_ if item not in excluded]
    if noise:
        counts = sorted({item.comparison.n for item in noise})
        seeds = " or ".join(map(str, counts))
        listed = [f"{item.name} ({_difference_text(item.comparison)})" for item in noise]
        sentences.append(
            f"Indistinguishable from {best.name} at {seeds} seed{'s' if counts != [1] else ''}: "
            f"{_names(listed)}."
        )
    return sentences


def _power_sentence(summaries: Sequence[SettingSummary], best: SettingSummary) -> str | None:
    """How many seeds would detect the smallest reported difference at 80 % power."""
    compared = [
        item.comparison
        for item in summaries
        if item.comparison is not None
        and item.comparison.difference is not None
        and abs(item.comparison.difference) >= NO_DIFFERENCE
        and item.comparison.spread is not None
    ]
    if not compared:
        return None
    smallest = min(compared, key=lambda comparison: abs(comparison.difference or 0.0))
    family = sum(
        item.comparison is not None and item.comparison.p_value is not None for item in summaries
    )
    needed = (
        f"about {smallest.seeds_for_power} seeds per setting"
        if smallest.seeds_for_power is not None
        else "more than 100000 seeds per setting"
    )
    spread = "paired spread" if smallest.paired else "spread"
    sentence = (
        f"Seeds: detecting the smallest difference reported here ({smallest.setting}, "
        f"{_signed(smallest.difference)} against {best.name}, {spread} "
        f"{_number(smallest.spread)}) at {POWER:.0%} power with Holm over "
        f"{_count(family, 'comparison')} takes {needed}"
    )
    separable = [
        comparison
        for comparison in compared
        if comparison.ci_low is not None
        and not comparison.ci_low <= 0 <= comparison.ci_high
        and comparison.seeds_for_power is not None
    ]
    if separable:
        most = max(comparison.seeds_for_power or 0 for comparison in separable)
        sentence += (
            f"; {most} would separate every setting whose interval already excludes 0 "
            f"({_names([comparison.setting for comparison in separable])})"
        )
    return sentence + " (t-test power from the observed spread; `train.seeds` in params.yaml)."


def reading(summaries: Sequence[SettingSummary], chance: float = CHANCE_ACCURACY) -> str:
    """A plain-language paragraph generated from the numbers.

    The best setting on validation accuracy and its test accuracy with its interval;
    which settings are worse than, better than or indistinguishable from it (paired
    test, Holm-adjusted); which failed to learn or collapsed to chance (with a Wilson
    interval); which diverged; how many seeds would settle the smallest difference; and
    where seeds disagreed most. ``chance`` is the accuracy of guessing, 1 / data.n_classes.
    """
    sentences = []
    best = next((item for item in summaries if item.is_best), None)
    if best is not None:
        stats = best.accuracy
        count = int(stats.get("n") or 0)
        sentences.append(
            f"Best on validation accuracy: **{best.name}** (final-epoch validation accuracy "
            f"{_number(best.mean_val_accuracy)}, mean over {best.seeds} "
            f"seed{'s' if best.seeds != 1 else ''}; lr {best.lr:g}, schedule "
            f"{best.schedule}); its test accuracy is {_number(stats.get('mean'))} (95 % CI "
            f"{_interval(stats.get('ci_low'), stats.get('ci_high'), count)})."
        )
        sentences += _comparison_sentences(summaries, best)
    elif summaries:
        sentences.append(
            "No setting is named best: every setting lost a seed to divergence or has no "
            "validation result, so nothing is compared."
        )
    validated = [item for item in summaries if math.isfinite(item.best_val_loss)]
    if validated:
        by_val = min(validated, key=lambda item: item.best_val_loss)
        sentences.append(
            f"Lowest validation loss: **{by_val.name}**, {_number(by_val.best_val_loss)} at "
            f"epoch {by_val.best_val_loss_epoch} (mean over seeds)."
        )
    failed = [
        item.name
        for item in summaries
        if item.mean_accuracy is not None and item.mean_accuracy < FAILED_ACCURACY
    ]
    if failed:
        verb = "fails" if len(failed) == 1 else "fail"
        sentences.append(
            f"{_names(failed)} {verb} to learn: mean test accuracy below "
            f"{FAILED_ACCURACY:.2f}, where chance is {chance:.2f}."
        )
    collapsed = [item for item in summaries if item.collapsed_seeds]
    if collapsed:
        listed = []
        for item in collapsed:
            low, high = item.collapse_interval or (0.0, 1.0)
            count = int(item.finite_accuracies.size)
            # a setting that fails to learn as a whole has no seeds that "learned"
            split = (
                ": its seeds split between learning and not, so no mean describes it"
                if item.collapsed_seeds < count and item.name not in failed
                else ""
            )
            listed.append(
                f"{item.name} {item.collapsed_seeds} of {count} seeds (95 % Wilson CI of the "
                f"fraction {low:.2f} to {high:.2f}){split}"
            )
        sentences.append(
            f"Collapsed to chance (test accuracy within {COLLAPSE_MARGIN:g} of "
            f"{chance:.3g}): {'; '.join(listed)}."
        )
    missing = [item.name for item in summaries if item.mean_accuracy is None]
    if missing:
        verb = "has" if len(missing) == 1 else "have"
        sentences.append(f"{_names(missing)} {verb} no test result.")
    elif not failed:
        sentences.append(
            f"Every setting learned (mean test accuracy {FAILED_ACCURACY:.2f} or more)."
        )
    unstable = [
        f"{item.name} ({len(item.diverged_seeds)} of {item.seeds} seeds"
        + (f", first at epoch {item.first_diverged_epoch})" if item.first_diverged_epoch else ")")
        for item in summaries
        if item.diverged_seeds
    ]
    if unstable:
        sentences.append(
            f"Diverged (loss non-finite, or training loss ending over {DIVERGENCE_FACTOR:g}× "
            f"its first epoch's): {_names(unstable)}; a seed whose loss or predictions went "
            "NaN or infinite has no test accuracy, and a setting with a diverged seed does "
            "not compete for best."
        )
    else:
        sentences.append("No run diverged.")
    if best is not None and (power := _power_sentence(summaries, best)):
        sentences.append(power)
    spread = [item for item in summaries if item.finite_accuracies.size > 1]
    if spread:
        widest = max(spread, key=lambda item: np.ptp(item.finite_accuracies))
        if np.ptp(widest.finite_accuracies) > 0:
            sentences.append(
                f"Seeds disagree most for {widest.name} (test accuracy "
                f"{_number(widest.accuracy['min'])}–{_number(widest.accuracy['max'])}): "
                "a single run can mislead."
            )
    return " ".join(sentences)


def summary_markdown(
    summaries: Sequence[SettingSummary],
    figures: Sequence[FigureEntry] = FIGURES,
    figures_folder: str = "figures",
    chance: float = CHANCE_ACCURACY,
) -> str:
    """reports/summary.md: the reading, the table, then every figure with its caption.

    Args:
        summaries: One entry per setting, in table order (``with_comparisons`` output).
        figures: The figures to embed.
        figures_folder: Their folder, relative to the summary file.
        chance: The accuracy of guessing, 1 / data.n_classes.
    """
    parts = [
        "# Learning-rate study: summary\n",
        reading(summaries, chance) + "\n",
        "## Settings\n",
        summary_table(summaries),
        "lr is the base rate: the initial rate, or the peak of a warmup, cyclic or one_cycle "
        "schedule. Test accuracy is measured on the test split, over the seeds that have "
        "one (not those whose loss or predictions went NaN or infinite): the mean with "
        "its 95 % Student-t confidence interval, and the range "
        "min–max. The best setting has the highest mean final-epoch validation accuracy "
        "among those where no seed diverged. Δ vs best is the setting's test accuracy minus "
        "the best's, averaged over seeds paired by seed number (the same seed gives both "
        "the same initial weights and batch order; *unpaired* where the seed lists differ), "
        "with its 95 % t-interval; p is a two-sided paired permutation test (unpaired: a "
        "two-sample permutation test) adjusted with Holm's method over all comparisons; "
        "P(beats best) is the share of seeds on which the setting beat the best (ties count "
        "half); seeds for 80 % power is how many seeds a paired t-test at Holm's strictest "
        "level would need to detect the observed difference given the observed spread. "
        "Validation columns use the mean curve over seeds (an epoch where any seed's value "
        "is NaN or infinite does not count). A seed *diverged* if its loss went NaN or "
        f"infinite or its training loss ended over {DIVERGENCE_FACTOR:g}× its first epoch's; "
        f"it *collapsed* if its test accuracy is within {COLLAPSE_MARGIN:g} of chance "
        f"({chance:.3g}); the fraction of collapsed seeds has a 95 % Wilson "
        "interval. n/a (1 seed): an interval or test needs at least two seeds.\n",
        "## Figures\n",
        "Interactive versions of the learning curves and learning rate: `dvc plots show` "
        "(compare revisions with `dvc plots diff`).\n",
    ]
    for entry in figures:
        parts += [
            f"### {entry.title}\n",
            f"![{entry.title}]({figures_folder}/{entry.file})\n",
            f"{entry.caption}\n",
        ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
