"""Tables and text of the comparison: histories, plot data, metrics.json, summary.md.

Pure pandas/NumPy apart from the two readers of training logs: frames and dicts in,
frames, dicts and markdown out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lrstudy.config import Config
from lrstudy.contract import CHANCE_ACCURACY, HISTORY_KEYS, STEP_RATES_FILE
from lrstudy.evaluation import sample_std
from lrstudy.schedules import describe

CURVE_COLUMNS = ("loss", "val_loss", "accuracy", "val_accuracy")
FAILED_ACCURACY = 0.6  # mean test accuracy below this: the setting did not learn
TARGET_VAL_ACCURACY = 0.95
# Learning-rate polylines keep every point needed to stay within this many decades
# (2.3 %) of the true rate: under a pixel on a log axis spanning a few decades, and a
# plot file of a few hundred rows per setting even for a cyclic per-step schedule.
RATE_TOLERANCE_DECADES = 0.01
ALL_SEEDS = "all"


def read_live_history(directory: str | Path) -> pd.DataFrame:
    """One DVCLive folder's per-epoch metrics as a frame: epoch (1-based) + metrics."""
    folder = Path(directory) / "plots" / "metrics"
    frame: pd.DataFrame | None = None
    for column in HISTORY_KEYS:
        series = pd.read_csv(folder / f"{column}.tsv", sep="\t")[["step", column]]
        frame = series if frame is None else frame.merge(series, on="step", how="outer")
    assert frame is not None
    frame = frame.sort_values("step").reset_index(drop=True)
    frame.insert(0, "epoch", frame.pop("step") + 1)
    return frame


def read_step_rates(directory: str | Path) -> pd.DataFrame | None:
    """A seed's per-step learning rates (``learning_rate_steps.tsv``), if it was written.

    The train stage writes the file for schedules that change the rate within an epoch:
    columns ``step`` (0-based global optimizer step), ``epoch_fraction`` (step divided
    by steps per epoch) and ``learning_rate``.
    """
    path = Path(directory) / STEP_RATES_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, sep="\t")[["step", "epoch_fraction", "learning_rate"]]


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
    """What the summary table says about one setting."""

    name: str
    lr: float
    schedule: str
    batch_size: int
    epochs: int
    seeds: int
    accuracy: Mapping[str, float | None]
    per_seed_accuracy: Sequence[float | None]
    best_val_loss: float
    best_val_loss_epoch: int
    epochs_to_target: int | None
    diverged_seeds: Sequence[int]

    @property
    def accuracy_array(self) -> np.ndarray:
        """Every seed's test accuracy in seed order, NaN where a seed has none."""
        return np.array(
            [np.nan if value is None else value for value in self.per_seed_accuracy],
            dtype=float,
        )

    @property
    def finite_accuracies(self) -> np.ndarray:
        """The seeds' test accuracies that exist (a diverged seed may have none)."""
        values = self.accuracy_array
        return values[np.isfinite(values)]

    @property
    def mean_accuracy(self) -> float | None:
        """Mean test accuracy over the seeds that have one; None if none has."""
        finite = self.finite_accuracies
        return float(finite.mean()) if finite.size else None


def diverged(history: pd.DataFrame) -> bool:
    """A run diverged if its training loss went non-finite or ended above where it began."""
    loss = history["loss"].to_numpy(dtype=float)
    return bool(not np.all(np.isfinite(loss)) or loss[-1] > loss[0])


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
    """Collect one setting's numbers for the summary table.

    Args:
        config: The validated params (the setting's lr, schedule, batch size, epochs).
        name: The setting.
        metrics: Its ``evaluation/<setting>/metrics.json`` content.
        by_seed: Its per-epoch history per seed (``read_live_history``).
    """
    spec = config.run(name)
    mean_curve = strict_mean_curve(by_seed)
    val_loss = mean_curve["val_loss"].to_numpy(dtype=float)
    best = int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else 0
    reached = np.flatnonzero(
        np.nan_to_num(mean_curve["val_accuracy"].to_numpy(dtype=float)) >= TARGET_VAL_ACCURACY
    )
    accuracy = metrics.get("test_accuracy")
    if not isinstance(accuracy, Mapping) or not isinstance(accuracy.get("seeds"), Mapping):
        raise ValueError(f"{name}: metrics have no test_accuracy with per-seed values")
    return SettingSummary(
        name=name,
        lr=spec.lr,
        schedule=describe(spec.schedule),
        batch_size=spec.batch_size,
        epochs=spec.epochs,
        seeds=len(spec.seeds),
        accuracy={key: accuracy[key] for key in ("mean", "std", "min", "max")},
        per_seed_accuracy=list(accuracy["seeds"].values()),
        best_val_loss=float(val_loss[best]),
        best_val_loss_epoch=int(mean_curve["epoch"].iloc[best]),
        epochs_to_target=int(mean_curve["epoch"].iloc[reached[0]]) if reached.size else None,
        diverged_seeds=[seed for seed, history in by_seed.items() if diverged(history)],
    )


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
        "Each dot is one seed; the black whisker is the mean ± one standard deviation over "
        "seeds; the dashed line is chance. Best setting on top.",
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
        "Smoothed training loss while the rate rises exponentially every optimizer step, "
        "one line per seed, up to divergence; markers are each seed's suggestions, "
        "vertical lines their medians over seeds (what settings under `suggested` use).",
    ),
)


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def summary_table(summaries: Sequence[SettingSummary]) -> str:
    """The per-setting markdown table, in the order given (params.yaml order)."""
    header = (
        "| setting | lr | schedule | batch | epochs | seeds | test accuracy (mean ± std) "
        "| range | best val_loss (epoch) | epochs to 95% val acc | diverged seeds |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for item in summaries:
        accuracy = item.accuracy
        best = (
            f"{_number(item.best_val_loss)} ({item.best_val_loss_epoch})"
            if math.isfinite(item.best_val_loss)
            else "n/a"
        )
        if accuracy["mean"] is not None:
            spread = f"{_number(accuracy['mean'])} ± {_number(accuracy['std'])}"
            extent = f"{_number(accuracy['min'])}–{_number(accuracy['max'])}"
        else:  # some seeds have no result: describe those that have one
            finite = item.finite_accuracies
            std = sample_std(finite)
            count = f" ({finite.size} of {item.seeds} seeds)"
            spread = "n/a" if not finite.size else f"{finite.mean():.4f} ± {std:.4f}{count}"
            extent = "n/a" if not finite.size else f"{finite.min():.4f}–{finite.max():.4f}"
        rows.append(
            f"| {item.name} | {item.lr:g} | {item.schedule} | {item.batch_size} "
            f"| {item.epochs} | {item.seeds} | {spread} | {extent} | {best} "
            f"| {item.epochs_to_target if item.epochs_to_target is not None else 'never'} "
            f"| {', '.join(map(str, item.diverged_seeds)) or 'none'} |"
        )
    return header + "\n".join(rows) + "\n"


def _names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def reading(summaries: Sequence[SettingSummary]) -> str:
    """A plain-language paragraph generated from the numbers.

    Which setting was best on test accuracy and on validation loss, which failed to
    learn, which diverged, and where seeds disagreed most.
    """
    scored = [item for item in summaries if item.accuracy["mean"] is not None]
    sentences = []
    if scored:
        # Only settings where every seed has a result compete: survivors alone don't win.
        best = max(scored, key=lambda item: item.accuracy["mean"] or 0.0)
        sentences.append(
            f"Best on test accuracy: **{best.name}**, {_number(best.accuracy['mean'])} ± "
            f"{_number(best.accuracy['std'])} over {best.seeds} "
            f"seed{'s' if best.seeds != 1 else ''}, with lr {best.lr:g} and schedule "
            f"{best.schedule}."
        )
    validated = [item for item in summaries if math.isfinite(item.best_val_loss)]
    if validated:
        by_val = min(validated, key=lambda item: item.best_val_loss)
        sentences.append(
            f"Best on validation: **{by_val.name}** reached the lowest validation loss, "
            f"{_number(by_val.best_val_loss)} at epoch {by_val.best_val_loss_epoch} "
            "(mean over seeds)."
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
            f"{FAILED_ACCURACY:.2f}, where chance is {CHANCE_ACCURACY:.2f}."
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
        f"{item.name} ({len(item.diverged_seeds)} of {item.seeds} seeds)"
        for item in summaries
        if item.diverged_seeds
    ]
    if unstable:
        sentences.append(
            f"Diverged (training loss non-finite or ending above its first epoch): "
            f"{_names(unstable)}."
        )
    else:
        sentences.append("No run diverged.")
    spread = [
        item
        for item in summaries
        if item.seeds > 1 and None not in (item.accuracy["min"], item.accuracy["max"])
    ]
    if spread:
        widest = max(spread, key=lambda item: item.accuracy["max"] - item.accuracy["min"])
        if widest.accuracy["max"] > widest.accuracy["min"]:
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
) -> str:
    """reports/summary.md: the reading, the table, then every figure with its caption.

    Args:
        summaries: One entry per setting, in table order.
        figures: The figures to embed.
        figures_folder: Their folder, relative to the summary file.
    """
    parts = [
        "# Learning-rate study: summary\n",
        reading(summaries) + "\n",
        "## Settings\n",
        summary_table(summaries),
        "lr is the base rate: the initial rate, or the peak of a warmup, cyclic or one_cycle "
        "schedule. Test accuracy is measured on the test split; std is the "
        "sample standard deviation over seeds and the range is min–max. Validation columns "
        "use the mean curve over seeds (an epoch where any seed's value is NaN or infinite "
        "does not count); *diverged* means the training loss went non-finite or ended "
        "above its first epoch.\n",
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
