"""The test-accuracy figure: each setting's seeds as dots and the mean's 95 % interval."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lrstudy.data import CHANCE_ACCURACY
from lrstudy.plots.style import Style, setting_styles
from lrstudy.statistics import ACCURACY_BOUNDS, finite, mean_interval

# The test-accuracy figure zooms in on the settings within this of the highest mean.
ZOOM_WIDTH = 0.05


def _describe_accuracy(values: np.ndarray, missing: int) -> str:
    interval = mean_interval(values, bounds=ACCURACY_BOUNDS)
    if values.size == 0:
        text = "n/a"
    elif interval is None:
        text = f"{values.mean():.3f} [n/a ({values.size} seed)]"
    else:
        text = f"{values.mean():.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"
    return text + (f", {missing} diverged" if missing else "")


def test_accuracy(
    per_seed: Mapping[str, Sequence[float | None]],
    chance: float = CHANCE_ACCURACY,
    best: str | None = None,
) -> Figure:
    """Test accuracy per setting: seeds as dots, the mean's 95 % interval, highest on top.

    Args:
        per_seed: Per setting (in colour order), each seed's test accuracy; ``None`` or
            a non-finite value is a seed that diverged (no accuracy).
        chance: Accuracy of guessing (1 / number of classes), a dashed line.
        best: The summary's best setting (chosen on validation accuracy, so it need not
            be the top row): its name is bold and the title says so.

    Returns:
        A horizontal dot plot sorted by mean (settings without any result last): each
        seed a dot, the mean a bar whose whisker is the 95 % interval of the mean
        (``statistics.mean_interval`` with ``ACCURACY_BOUNDS``: a t-interval on the
        logit scale, inside [0, 1] by construction, so no whisker is ever cut and each
        ends in a cap; none with one seed), each
        diverged seed a red cross at the left edge, the chance level dashed, and the
        mean [interval] written at the right. Where the settings near the top would
        crowd into a sliver of the full range, a second panel (same rows) zooms in on
        those within ``ZOOM_WIDTH`` of the highest mean.
    """
    styles = setting_styles(list(per_seed))
    kept = {name: finite(seeds) for name, seeds in per_seed.items()}
    order = sorted(
        per_seed,
        key=lambda name: (
            kept[name].size == 0,
            -float(kept[name].mean()) if kept[name].size else 0.0,
        ),
    )
    rows = [
        _AccuracyRow.of(name, kept[name], len(per_seed[name]) - kept[name].size) for name in order
    ]
    lowest = min([chance, *(row.low for row in rows if row.mean is not None)])
    left = max(0.0, lowest - 0.04)
    zoom = _zoom_limits(rows, left)
    figure = Figure(figsize=(12.5 if zoom else 9.0, 1.9 + 0.42 * len(order)), layout="constrained")
    axes = figure.subplots(1, 2 if zoom else 1, sharey=True, squeeze=False)[0]
    for axis, limits in zip(axes, [(left, 1.01), *([zoom] if zoom else [])], strict=True):
        _draw_accuracy_rows(axis, rows, styles, limits, chance)
    axes[0].set_yticks(range(len(order)), order)
    for label in axes[0].get_yticklabels():
        if label.get_text() == best:
            label.set_fontweight("bold")
    axes[0].set_ylim(len(order) - 0.5, -0.5)  # highest mean at the top
    title = "Test accuracy per setting, sorted by mean test accuracy"
    if best in per_seed:
        title += "\nbold: the best on validation accuracy (the summary's reference)"
    axes[0].set_title(title)
    if zoom:
        axes[1].set_title(f"zoom: settings within {ZOOM_WIDTH:g} of the highest mean")
    right = axes[-1].secondary_yaxis("right")
    right.set_yticks(range(len(order)), [row.label for row in rows])
    right.tick_params(length=0, labelsize=9)
    right.set_ylabel("mean [95 % CI of the mean] over seeds", fontsize=9)
    handles = [
        Line2D([], [], marker="o", color="grey", markeredgecolor="black", linestyle="none"),
        Line2D([], [], marker="|", color="black", markersize=12, markeredgewidth=2),
        Line2D([], [], color="grey", linestyle="--"),
    ]
    labels = ["one seed", "mean, whisker: 95 % CI of the mean", f"chance ({chance:.3g})"]
    if any(row.missing for row in rows):
        handles.append(
            Line2D([], [], marker="x", color="tab:red", markeredgewidth=2, linestyle="none")
        )
        labels.append("seed diverged (no accuracy)")
    figure.legend(
        handles, labels, loc="outside lower center", ncols=len(labels), fontsize=9, frameon=False
    )
    return figure


@dataclass(frozen=True)
class _AccuracyRow:
    """One setting's row of the test-accuracy figure."""

    name: str
    values: np.ndarray
    missing: int
    mean: float | None
    low: float
    high: float
    label: str

    @classmethod
    def of(cls, name: str, values: np.ndarray, missing: int) -> _AccuracyRow:
        """A setting's row from its finite per-seed accuracies and its count of missing ones."""
        if values.size == 0:
            return cls(
                name, values, missing, None, math.nan, math.nan, _describe_accuracy(values, missing)
            )
        mean = float(values.mean())
        low, high = mean_interval(values, bounds=ACCURACY_BOUNDS) or (mean, mean)
        return cls(name, values, missing, mean, low, high, _describe_accuracy(values, missing))


def _zoom_limits(rows: Sequence[_AccuracyRow], left: float) -> tuple[float, float] | None:
    """x-limits of the zoom panel, or None when the full range shows the top well."""
    scored = [row for row in rows if row.mean is not None]
    if not scored:
        return None
    top = max(row.mean for row in scored if row.mean is not None)
    near = [row for row in scored if row.mean is not None and row.mean >= top - ZOOM_WIDTH]
    if len(near) < 2:  # nothing to tell apart
        return None
    low = min(min(row.low, float(row.values.min())) for row in near)
    high = max(max(row.high, float(row.values.max())) for row in near)
    span = max(high - low, 1e-3)
    if (1.01 - left) < 4 * span:
        return None
    margin = 0.08 * span
    return low - margin, high + margin


def _draw_accuracy_rows(
    axis: Axes,
    rows: Sequence[_AccuracyRow],
    styles: Mapping[str, Style],
    limits: tuple[float, float],
    chance: float,
) -> None:
    """Dots, whiskers, diverged crosses and the chance line of every row on one axis."""
    for position, row in enumerate(rows):
        if row.missing:
            offsets = np.linspace(-0.2, 0.2, row.missing) if row.missing > 1 else np.zeros(1)
            axis.scatter(
                np.full(row.missing, limits[0] + 0.02 * (limits[1] - limits[0])),
                position + offsets,
                marker="x",
                color="tab:red",
                s=40,
                linewidths=2,
                zorder=5,
            )
        if row.mean is None:
            continue
        # Evenly spread seeds vertically: reproducible, and no two dots on top of each other.
        offsets = np.linspace(-0.2, 0.2, row.values.size) if row.values.size > 1 else np.zeros(1)
        axis.scatter(
            row.values,
            position + offsets,
            color=styles[row.name].color,
            marker=styles[row.name].marker,
            edgecolors="black",
            linewidths=0.5,
            s=26,
            zorder=3,
        )
        axis.errorbar(
            row.mean,
            position,
            xerr=[[row.mean - row.low], [row.high - row.mean]],
            fmt="|",
            markersize=16,
            markeredgewidth=2.2,
            color="black",
            capsize=5 if row.high > row.low else 0,
            elinewidth=1.4,
            zorder=4,
        )
    axis.axvline(chance, color="grey", linestyle="--", linewidth=1.2, zorder=1)
    axis.set_xlim(*limits)
    axis.set_xlabel("test accuracy")
    axis.grid(True, axis="x", alpha=0.3)


test_accuracy.__test__ = False  # type: ignore[attr-defined]  # a figure, not a pytest test
