"""Tables and text of the comparison: per-epoch histories, metrics.json, summary.md.

Pure pandas/NumPy: frames and dicts in, frames, dicts and markdown out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lrstudy.config import Config
from lrstudy.schedules import describe

HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
CHANCE_ACCURACY = 0.5
FAILED_ACCURACY = 0.6  # mean test accuracy below this: the setting did not learn
TARGET_VAL_ACCURACY = 0.95


def read_live_history(directory: str | Path) -> pd.DataFrame:
    """One DVCLive folder's per-epoch metrics as a frame: epoch (1-based) + metrics."""
    folder = Path(directory) / "plots" / "metrics"
    frame: pd.DataFrame | None = None
    for column in HISTORY_COLUMNS:
        series = pd.read_csv(folder / f"{column}.tsv", sep="\t")[["step", column]]
        frame = series if frame is None else frame.merge(series, on="step", how="outer")
    assert frame is not None
    frame = frame.sort_values("step").reset_index(drop=True)
    frame.insert(0, "epoch", frame.pop("step") + 1)
    return frame


def long_history(histories: Mapping[str, Mapping[int, pd.DataFrame]]) -> pd.DataFrame:
    """Stack per-setting, per-seed histories into one frame: setting, seed, epoch, ..."""
    frames = [
        history.assign(setting=setting, seed=seed)
        for setting, by_seed in histories.items()
        for seed, history in by_seed.items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["setting", "seed", "epoch", *HISTORY_COLUMNS]]


def epoch_summary(long: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max over seeds per setting and epoch (settings in input order).

    Non-finite values (a diverged seed) are left out of the mean; an epoch where every
    seed diverged stays NaN.
    """
    finite = long.replace([np.inf, -np.inf], np.nan)
    grouped = finite.groupby(["setting", "epoch"], sort=False)[list(HISTORY_COLUMNS)]
    mean = grouped.mean()
    low = grouped.min().add_suffix("_min")
    high = grouped.max().add_suffix("_max")
    return pd.concat([mean, low, high], axis=1).reset_index()


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


def diverged(history: pd.DataFrame) -> bool:
    """A run diverged if its training loss went non-finite or ended above where it began."""
    loss = history["loss"].to_numpy(dtype=float)
    return bool(not np.all(np.isfinite(loss)) or loss[-1] > loss[0])


def summarize_setting(
    config: Config,
    name: str,
    metrics: Mapping[str, object],
    by_seed: Mapping[int, pd.DataFrame],
) -> SettingSummary:
    """Collect one setting's numbers for the summary table."""
    spec = config.run(name)
    mean_curve = epoch_summary(long_history({name: by_seed}))
    val_loss = mean_curve["val_loss"].to_numpy(dtype=float)
    best = int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else 0
    reached = np.flatnonzero(
        mean_curve["val_accuracy"].to_numpy(dtype=float) >= TARGET_VAL_ACCURACY
    )
    accuracy = metrics["test_accuracy"]
    assert isinstance(accuracy, Mapping)
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


def metrics_document(metrics: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """The content of reports/metrics.json: every setting's test metrics, by setting."""
    return {name: dict(values) for name, values in metrics.items()}


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def summary_table(summaries: Sequence[SettingSummary]) -> str:
    """The per-setting markdown table."""
    header = (
        "| setting | lr | schedule | batch | epochs | seeds | test accuracy (mean ± std) "
        "| range | best val_loss (epoch) | epochs to 95% val acc | diverged seeds |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for item in summaries:
        accuracy = item.accuracy
        rows.append(
            f"| {item.name} | {item.lr:g} | {item.schedule} | {item.batch_size} "
            f"| {item.epochs} | {item.seeds} "
            f"| {_number(accuracy['mean'])} ± {_number(accuracy['std'])} "
            f"| {_number(accuracy['min'])}–{_number(accuracy['max'])} "
            f"| {_number(item.best_val_loss)} ({item.best_val_loss_epoch}) "
            f"| {item.epochs_to_target if item.epochs_to_target is not None else 'never'} "
            f"| {', '.join(map(str, item.diverged_seeds)) or 'none'} |"
        )
    return header + "\n".join(rows) + "\n"


def reading(summaries: Sequence[SettingSummary]) -> str:
    """A plain-language paragraph generated from the numbers."""
    ranked = sorted(
        summaries,
        key=lambda item: -(item.accuracy["mean"] if item.accuracy["mean"] is not None else -1),
    )
    best = ranked[0]
    sentences = [
        f"Best on test accuracy: **{best.name}** (lr {best.lr:g}, {best.schedule}) with "
        f"{_number(best.accuracy['mean'])} ± {_number(best.accuracy['std'])} "
        f"over {best.seeds} seeds."
    ]
    by_val = min(
        summaries,
        key=lambda item: item.best_val_loss if math.isfinite(item.best_val_loss) else math.inf,
    )
    sentences.append(
        f"Lowest validation loss: **{by_val.name}** ({_number(by_val.best_val_loss)} at epoch "
        f"{by_val.best_val_loss_epoch})."
    )
    failed = [
        item.name
        for item in summaries
        if item.accuracy["mean"] is None or item.accuracy["mean"] < FAILED_ACCURACY
    ]
    if failed:
        sentences.append(
            f"Failed to learn (mean test accuracy below {FAILED_ACCURACY:.2f}, chance is "
            f"{CHANCE_ACCURACY:.2f}): {', '.join(failed)}."
        )
    unstable = [
        f"{item.name} ({len(item.diverged_seeds)} of {item.seeds} seeds)"
        for item in summaries
        if item.diverged_seeds
    ]
    if unstable:
        sentences.append(
            "Diverged (training loss non-finite or ending above its first epoch): "
            + ", ".join(unstable)
            + "."
        )
    widest = max(
        summaries, key=lambda item: (item.accuracy["max"] or 0) - (item.accuracy["min"] or 0)
    )
    spread = (widest.accuracy["max"] or 0) - (widest.accuracy["min"] or 0)
    if widest.seeds > 1 and spread > 0:
        sentences.append(
            f"Widest spread between seeds: {widest.name} (test accuracy "
            f"{_number(widest.accuracy['min'])}–{_number(widest.accuracy['max'])}), a reminder "
            "that a single run can mislead."
        )
    return " ".join(sentences)


def summary_markdown(summaries: Sequence[SettingSummary], figures: Mapping[str, str]) -> str:
    """reports/summary.md: reading, table, figures (paths relative to the summary)."""
    parts = [
        "# Learning-rate study: summary\n",
        reading(summaries) + "\n",
        "## Settings\n",
        summary_table(summaries),
        "Test accuracy is over the test split (600 samples by default); std is the sample "
        "standard deviation over seeds. Validation columns use the mean curve over seeds.\n",
        "## Figures\n",
    ]
    parts += [f"![{title}]({path})\n" for title, path in figures.items()]
    return "\n".join(parts)
