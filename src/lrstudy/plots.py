"""Every static figure of the study: data in, matplotlib ``Figure`` out.

Figures are built with the object-oriented API on ``matplotlib.figure.Figure`` (never
``pyplot``), so no global state is touched and nothing needs a GUI backend; ``save_figure``
writes a PNG atomically, without timestamp metadata, and closes the figure.

Every figure stays readable with many settings (a setting keeps the same colour and line
style in every figure; panel grids and legends are sized from the count) and with
diverged runs (non-finite values are gaps in a line and a diverged seed is marked with a
cross; nothing raises).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator
from matplotlib.transforms import blended_transform_factory

from lrstudy.data import CHANCE_ACCURACY
from lrstudy.io import atomic_path
from lrstudy.statistics import finite, mean_interval

DPI = 110
LINE_STYLES = ("-", "--", ":", "-.")
LEGEND_FONT_SIZE = 9
# Loss axes stop at this multiple of the highest first-epoch loss, so one run that blows
# up does not flatten every other curve; a curve leaving the top is a curve diverging.
LOSS_CEILING_FACTOR = 10.0
# The test-accuracy figure zooms in on the settings within this of the highest mean.
ZOOM_WIDTH = 0.05
# (history column, split, log scale) of the four learning-curve panels, row by row.
CURVE_PANELS = (
    ("loss", "training", True),
    ("val_loss", "validation", True),
    ("accuracy", "training", False),
    ("val_accuracy", "validation", False),
)


MARKERS = ("o", "s", "^", "D")


@dataclass(frozen=True)
class Style:
    """How one setting is drawn in every figure (lines: colour, line style; dots: marker)."""

    color: tuple[float, float, float, float]
    linestyle: str
    marker: str = "o"


def setting_styles(names: Sequence[str]) -> dict[str, Style]:
    """One style per setting, stable for a given order.

    The ten tab10 colours first; from the eleventh setting on the colours repeat with
    another line style (dashed, dotted, dash-dot) and dot marker (square, triangle,
    diamond): a dot plot has no line style, so the marker tells the two settings of one
    colour apart there (tab20's light shades would read as the same hue at a dot's size).
    Distinct up to 40 settings.
    """
    palette = mpl.colormaps["tab10"]
    return {
        name: Style(
            color=palette(index % palette.N),
            linestyle=LINE_STYLES[(index // palette.N) % len(LINE_STYLES)],
            marker=MARKERS[(index // palette.N) % len(MARKERS)],
        )
        for index, name in enumerate(names)
    }


def grid_shape(count: int, max_columns: int = 4) -> tuple[int, int]:
    """Rows and columns of a near-square panel grid for ``count`` panels."""
    if count < 1:
        raise ValueError("a panel grid needs at least one panel")
    columns = min(max_columns, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


def legend_columns(labels: Sequence[str], width_inches: float, font_size: float) -> int:
    """How many legend columns fit across ``width_inches`` (rows then balanced)."""
    if not labels:
        return 1
    character = 0.6 * font_size / 72  # inches per character, roughly
    entry = (max(len(label) for label in labels) + 6) * character  # + handle and gap
    fit = max(1, min(len(labels), int(width_inches * 0.95 // entry)))
    rows = math.ceil(len(labels) / fit)
    return math.ceil(len(labels) / rows)


def _finite(values: pd.Series | np.ndarray) -> np.ndarray:
    """Non-finite values become NaN, which matplotlib draws as a gap."""
    array = np.asarray(values, dtype=float).copy()
    array[~np.isfinite(array)] = np.nan
    return array


def _bottom_legend(
    figure: Figure, handles: Sequence[object], labels: Sequence[str], width: float
) -> None:
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=legend_columns(labels, width, LEGEND_FONT_SIZE),
        fontsize=LEGEND_FONT_SIZE,
        frameon=False,
        handlelength=2.6,
    )


def _setting_handle(style: Style) -> Line2D:
    return Line2D([], [], color=style.color, linestyle=style.linestyle, linewidth=2)


def decision_boundaries(
    axis: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    points_x: np.ndarray,
    points_y: np.ndarray,
) -> Figure:
    """Each setting's decision boundary on the grid, one panel per setting.

    Two classes: the notebook's contour of P(y=1) (RdBu, 25 levels) with one colour bar.
    k > 2 classes: the region each class is predicted in (the most probable class), one
    colour per class, the same colours for the test points' true classes, and a legend.
    More than two features: the grid is the slice x2 = ... = 0 and the points are projected
    onto (x0, x1), which the title says. One feature: no 2-D boundary exists; the figure
    says so instead of drawing one.

    Args:
        axis: Grid coordinates along each axis (the same for x0 and x1).
        probabilities: Per setting, on the grid indexed ``[x0, x1]``: P(y=1), shape
            (points, points), or the k class probabilities, shape (points, points, k);
            empty (size 0) when the model has one feature.
        titles: Per setting, the panel title (the setting's name if missing).
        points_x: Points drawn on top (usually the test split), shape (n, features).
        points_y: Their true classes (0 .. k - 1), coloured like the regions.

    Returns:
        One figure with a near-square grid of panels sharing axes.
    """
    names = list(probabilities)
    n_features = points_x.shape[1] if points_x.ndim == 2 else 1
    if n_features < 2 or any(np.asarray(grid).size == 0 for grid in probabilities.values()):
        figure = Figure(figsize=(6.4, 2.2), layout="constrained")
        panel = figure.subplots()
        panel.axis("off")
        panel.text(
            0.5,
            0.5,
            f"No decision-boundary figure: the data have {n_features} feature"
            f"{'s' if n_features != 1 else ''},\nand a boundary over (x0, x1) needs "
            "at least 2 (data.n_features).",
            ha="center",
            va="center",
            fontsize=11,
        )
        figure.suptitle("Decision boundary of each setting")
        return figure
    rows, columns = grid_shape(max(len(names), 1))
    # At least 6.4 inches wide, so the title and the class legend fit over one panel.
    width = max(3.1 * columns + 1.2, 6.4)
    figure = Figure(figsize=(width, 3.2 * rows + 0.9), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    first, second = np.meshgrid(axis, axis, indexing="ij")
    n_classes = max(
        [int(np.max(points_y)) + 1 if len(points_y) else 2]
        + [np.shape(grid)[2] for grid in probabilities.values() if np.ndim(grid) == 3]
    )
    multiclass = n_classes > 2
    class_colors = mpl.colormaps["tab10" if n_classes <= 10 else "tab20"].colors[:n_classes]
    class_cmap = mpl.colors.ListedColormap(class_colors)
    levels = np.linspace(0, 1, 26)
    contour = None
    for index, (panel, name) in enumerate(zip(axes.flat, names, strict=False)):
        grid = _finite(probabilities[name])
        if multiclass:
            # A diverged model predicts NaN: argmax of all-NaN rows is class 0 after
            # nan_to_num, so such cells are left blank instead.
            undecided = ~np.isfinite(grid).all(axis=-1)
            predicted = np.argmax(np.nan_to_num(grid, nan=-1.0), axis=-1).astype(float)
            predicted[undecided] = np.nan
            panel.contourf(
                first,
                second,
                predicted,
                levels=np.arange(n_classes + 1) - 0.5,
                cmap=class_cmap,
                alpha=0.45,
            )
            colors = dict(c=points_y, cmap=class_cmap, vmin=-0.5, vmax=n_classes - 0.5)
        else:
            # A diverged model predicts NaN: show it as undecided (0.5), never crash.
            grid = np.clip(np.nan_to_num(grid, nan=0.5), 0, 1)
            contour = panel.contourf(first, second, grid, levels=levels, cmap="RdBu")
            colors = dict(c=points_y, cmap="RdBu", vmin=-0.2, vmax=1.2)
        panel.scatter(
            points_x[:, 0], points_x[:, 1], s=10, edgecolors="white", linewidths=0.4, **colors
        )
        panel.set_title(titles.get(name, name), fontsize=9)
        panel.set_xlim(axis[0], axis[-1])
        panel.set_ylim(axis[0], axis[-1])
        panel.set_aspect("equal")
        row, column = divmod(index, columns)
        if column == 0:
            panel.set_ylabel("$x_1$")
        # The lowest panel of each column carries the x labels, also above an empty slot.
        if row == rows - 1 or index + columns >= len(names):
            panel.xaxis.set_tick_params(labelbottom=True)
            panel.set_xlabel("$x_0$")
    for panel in list(axes.flat)[len(names) :]:
        panel.set_visible(False)
    if multiclass:
        handles = [
            Line2D([], [], marker="s", linestyle="", markersize=9, color=color, alpha=0.7)
            for color in class_colors
        ]
        figure.legend(
            handles,
            [f"class {label}" for label in range(n_classes)],
            loc="outside lower center",
            ncols=min(n_classes, 10),
            fontsize=LEGEND_FONT_SIZE,
            frameon=False,
            title="shaded: class the model predicts; points: true class of each test point",
            title_fontsize=LEGEND_FONT_SIZE,
        )
    elif contour is not None:
        bar = figure.colorbar(contour, ax=axes, shrink=min(0.9, 0.45 + 0.15 * rows))
        bar.set_label("model's $P(y = 1)$; points: true class of each test sample")
        bar.set_ticks([0, 0.25, 0.5, 0.75, 1])
    title = "Decision boundary of each setting (test points on top)"
    if n_features > 2:
        others = ", ".join(f"$x_{index}$" for index in range(2, n_features))
        title += f"\nslice at {others} = 0; test points projected onto ($x_0$, $x_1$)"
    figure.suptitle(title)
    return figure


def _diverged_markers(panel: Axes, rows: pd.DataFrame, style: Style) -> bool:
    """Mark the first epoch where a seed's loss went non-finite; return whether drawn.

    The mark is a cross in the setting's colour just below the panel's top edge.
    """
    if "diverged" not in rows:
        return False
    hit = rows.loc[rows["diverged"].to_numpy(dtype=float) > 0, "epoch"]
    if hit.empty:
        return False
    transform = blended_transform_factory(panel.transData, panel.transAxes)
    panel.plot(
        [float(hit.iloc[0])],
        [0.96],
        marker="x",
        markersize=8,
        markeredgewidth=2,
        color=style.color,
        transform=transform,
        clip_on=False,
        linestyle="none",
        zorder=5,
    )
    return True


def _loss_limits(summary: pd.DataFrame, columns: Sequence[str]) -> tuple[float, float] | None:
    """Log-axis limits for the loss panels: all finite data, capped above."""
    values = np.concatenate(
        [
            _finite(summary[f"{column}{suffix}"])
            for column in columns
            for suffix in ("", "_min", "_max")
            if f"{column}{suffix}" in summary
        ]
    )
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    first_epoch = summary.loc[summary["epoch"] == summary["epoch"].min(), list(columns)]
    start = _finite(first_epoch.to_numpy().ravel())
    start = start[np.isfinite(start) & (start > 0)]
    ceiling = LOSS_CEILING_FACTOR * float(start.max()) if start.size else math.inf
    low, high = float(values.min()), min(float(values.max()), ceiling)
    if high <= low:
        high = low * 10
    return low / 1.25, high * 1.25


def learning_curves(
    summary: pd.DataFrame, settings: Sequence[str], chance: float = CHANCE_ACCURACY
) -> Figure:
    """Training and validation loss (log scale) and accuracy per epoch, per setting.

    Args:
        summary: ``report.epoch_summary`` output: per setting and epoch the mean over
            seeds of each metric, its ``_min``/``_max`` and the number of ``seeds``
            (optional ``diverged``: seeds whose loss was non-finite at that epoch).
        settings: Settings to draw, in legend (and colour) order.
        chance: Accuracy of guessing (1 / number of classes), a dotted line.

    Returns:
        A 2 × 2 figure (rows loss, accuracy; columns training, validation; y shared
        along a row). The mean over seeds is the line; where a setting has more than
        one seed, the min–max over seeds is a shaded band. Non-finite values are gaps;
        a cross on a panel's top edge marks the first epoch at which a seed diverged.
    """
    styles = setting_styles(settings)
    width = 11.0
    labels = list(settings)
    legend_rows = math.ceil(len(labels) / legend_columns(labels, width, LEGEND_FONT_SIZE))
    figure = Figure(figsize=(width, 7.6 + 0.22 * legend_rows), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True, sharey="row")
    any_band = any_diverged = False
    band_alpha = 0.18 if len(settings) <= 6 else 0.1  # many bands: keep the lines readable
    for panel, (column, split, log) in zip(axes.flat, CURVE_PANELS, strict=True):
        for name in settings:
            rows = summary[summary["setting"] == name]
            if rows.empty:
                continue
            style = styles[name]
            epochs = rows["epoch"].to_numpy(dtype=float)
            panel.plot(
                epochs,
                _finite(rows[column]),
                color=style.color,
                linestyle=style.linestyle,
                linewidth=1.5,
            )
            if "seeds" in rows and rows["seeds"].max() > 1:
                any_band = True
                panel.fill_between(
                    epochs,
                    _finite(rows[f"{column}_min"]),
                    _finite(rows[f"{column}_max"]),
                    color=style.color,
                    alpha=band_alpha,
                    linewidth=0,
                )
            any_diverged |= _diverged_markers(panel, rows, style)
        if log:
            panel.set_yscale("log")
        else:
            panel.axhline(chance, color="grey", linestyle=":", linewidth=1)
        panel.set_title(f"{split} {column.removeprefix('val_')}")
        panel.grid(True, which="major", alpha=0.3)
    limits = _loss_limits(summary, ("loss", "val_loss")) if not summary.empty else None
    if limits is not None:
        axes[0, 0].set_ylim(*limits)
        # Plain numbers at 1-2-5 steps over a short range: 0.05 reads faster than 5×10⁻².
        decades = math.log10(limits[1] / limits[0])
        subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
        axes[0, 0].yaxis.set_major_locator(LogLocator(base=10, subs=subs))
        axes[0, 0].yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    accuracy = _finite(summary[["accuracy_min", "val_accuracy_min"]].to_numpy().ravel())
    lowest = float(np.nanmin(accuracy)) if np.isfinite(accuracy).any() else 0.0
    axes[1, 0].set_ylim(max(0.0, min(lowest, chance) - 0.03), 1.02)
    axes[0, 0].set_ylabel("loss (cross-entropy, log scale)")
    axes[1, 0].set_ylabel("accuracy (dotted: chance)")
    for panel in axes[1]:
        panel.set_xlabel("epoch")
    spread = "; shaded: min–max over seeds" if any_band else ""
    figure.suptitle(f"Learning curves (line: mean over seeds{spread})")
    handles: list[object] = [_setting_handle(styles[name]) for name in settings]
    if any_diverged:
        handles.append(
            Line2D([], [], color="black", marker="x", linestyle="none", markeredgewidth=2)
        )
        labels.append("seed diverged (loss NaN/inf)")
    _bottom_legend(figure, handles, labels, width)
    return figure


def learning_rates(curves: pd.DataFrame, settings: Sequence[str]) -> Figure:
    """The rate the optimizer used against training progress, all settings on one axis.

    Args:
        curves: ``report.learning_rate_curves`` output: polylines with columns
            ``setting``, ``seed`` (``"all"`` when every seed used the same rates),
            ``epoch`` (training progress in epochs, fractional for per-step rates) and
            ``learning_rate``.
        settings: Settings to draw, in legend (and colour) order.

    Returns:
        One log-scale axis; a setting whose seeds used different rates (for example
        reduce-on-plateau) is one thin line per seed.
    """
    styles = setting_styles(settings)
    width = 10.0
    labels: list[str] = []
    handles: list[object] = []
    legend_guess = [f"{name} (per seed)" for name in settings]
    legend_rows = math.ceil(len(settings) / legend_columns(legend_guess, width, LEGEND_FONT_SIZE))
    figure = Figure(figsize=(width, 5.6 + 0.22 * legend_rows), layout="constrained")
    axis = figure.subplots()
    for name in settings:
        style = styles[name]
        rows = curves[curves["setting"] == name]
        seeds = list(dict.fromkeys(rows["seed"].astype(str)))
        per_seed = len(seeds) > 1
        for seed in seeds:
            line = rows[rows["seed"].astype(str) == seed]
            axis.plot(
                line["epoch"].to_numpy(dtype=float),
                _finite(line["learning_rate"]),
                color=style.color,
                linestyle=style.linestyle,
                linewidth=1.0 if per_seed else 1.8,
                alpha=0.8 if per_seed else 1.0,
            )
        handles.append(_setting_handle(style))
        labels.append(f"{name} (per seed)" if per_seed else name)
    axis.set_yscale("log")
    axis.set_xlim(left=0)
    axis.set_xlabel("epoch (training progress)")
    axis.set_ylabel("learning rate (log scale)")
    axis.set_title("Learning rate the optimizer actually used")
    axis.grid(True, which="major", alpha=0.35)
    axis.grid(True, which="minor", axis="y", alpha=0.1)
    _bottom_legend(figure, handles, labels, width)
    return figure


def _describe_accuracy(values: np.ndarray, missing: int) -> str:
    interval = mean_interval(values)
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
        seed a dot, the mean a bar whose whisker is the 95 % t-interval of the mean
        (``statistics.mean_interval``, clipped to [0, 1]; none with one seed), each
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
        if values.size == 0:
            return cls(
                name, values, missing, None, math.nan, math.nan, _describe_accuracy(values, missing)
            )
        mean = float(values.mean())
        low, high = mean_interval(values) or (mean, mean)
        # The whisker stops at the possible range [0, 1].
        return cls(
            name,
            values,
            missing,
            mean,
            max(0.0, low),
            min(1.0, high),
            _describe_accuracy(values, missing),
        )


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


def save_figure(figure: Figure, path: str | Path) -> None:
    """Write ``figure`` as a PNG atomically, then close it.

    The PNG carries no ``Software`` or date metadata, so the same figure always gives the
    same bytes and re-running the pipeline leaves committed figures unchanged.
    """
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        close(figure)


def close(figure: Figure) -> None:
    """Close a figure: drop its artists (it is never registered with pyplot)."""
    figure.clear()


# --- The LR sweep and the LR range test (issue 12) ------------------------------------

SPLIT_COLORS = {"val_accuracy": "tab:blue", "test_accuracy": "tab:orange"}
SUGGESTION_MARKERS = {"minimum": "v", "steep": "s", "valley": "o"}


def _log_rate_axis(axis: Axes, label: str = "learning rate (log scale)") -> None:
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(LogLocator(base=10))
    axis.set_xlabel(label)
    axis.grid(True, which="major", alpha=0.3)


def lr_sweep(
    per_rate: pd.DataFrame,
    results: pd.DataFrame,
    summary: Mapping[str, object],
    marks: Mapping[str, float],
    warning: str | None,
) -> Figure:
    """Validation and test accuracy against a constant learning rate, over seeds.

    Args:
        per_rate: ``lrstudy.sweep.curve`` output: per rate the mean, min and max accuracy.
        results: One row per rate and seed (``lr``, ``seed``, ``val_accuracy``,
            ``test_accuracy``): each seed is drawn as a faint dot.
        summary: ``lrstudy.sweep.summary`` output: ``best_lr`` and ``one_se_range`` are
            marked.
        marks: The study's constant-rate settings, name → rate; each inside the grid is
            marked at its rate on the mean test-accuracy curve (interpolated on the log
            axis).
        warning: Shown in a red box when not ``None`` (the best rate at a grid edge).

    Returns:
        One panel, learning rate on a log axis, chance as a dashed line.
    """
    figure = Figure(figsize=(9, 5.4), layout="constrained")
    axis = figure.subplots()
    rates = per_rate["lr"].to_numpy(dtype=float)
    one_se = summary["one_se_range"]
    one_se_band = one_se["high"] > one_se["low"]  # a single rate has no band to draw
    if one_se_band:
        axis.axvspan(one_se["low"], one_se["high"], color="tab:green", alpha=0.12, lw=0)
    for column, color in SPLIT_COLORS.items():
        axis.fill_between(
            rates, per_rate[f"{column}_min"], per_rate[f"{column}_max"], color=color, alpha=0.18
        )
        axis.plot(rates, per_rate[column], color=color, linewidth=2, marker=".")
        jitter = 1.04 if column == "test_accuracy" else 1 / 1.04  # keep the splits apart
        axis.scatter(results["lr"] * jitter, results[column], color=color, s=9, alpha=0.35, lw=0)
    axis.axhline(CHANCE_ACCURACY, color="grey", linestyle="--", linewidth=1.2)
    best = float(summary["best_lr"])
    axis.axvline(best, color="tab:green", linewidth=1.6)
    # The label goes on the side of the line with more room.
    right_half = math.log10(best) > (math.log10(rates[0]) + math.log10(rates[-1])) / 2
    axis.annotate(
        f"best by validation: {best:.3g}\n(val {summary['best_val_accuracy']:.3f}, "
        f"test {summary['best_test_accuracy']:.3f})",
        xy=(best, 0.02),
        xycoords=("data", "axes fraction"),
        xytext=(-4 if right_half else 4, 0),
        textcoords="offset points",
        fontsize=8.5,
        color="tab:green",
        va="bottom",
        ha="right" if right_half else "left",
    )
    log_rates = np.log10(rates)
    curve_y = per_rate["test_accuracy"].to_numpy(dtype=float)
    inside = sorted((rate, name) for name, rate in marks.items() if rates[0] <= rate <= rates[-1])
    for index, (rate, name) in enumerate(inside):
        y = float(np.interp(np.log10(rate), log_rates, curve_y))
        axis.plot(rate, y, marker="D", color="black", markersize=6, zorder=5)
        # Below the point near the top of the panel, above it lower down; neighbours
        # alternate their distance so close rates do not overprint each other.
        below = y > 0.8
        offset = (12 + 12 * (index % 2)) * (-1 if below else 1)
        axis.annotate(
            f"{name} ({rate:.3g})",
            xy=(rate, y),
            xytext=(4, offset),
            textcoords="offset points",
            fontsize=8,
            va="top" if below else "bottom",
            arrowprops={"arrowstyle": "-", "color": "black", "linewidth": 0.6},
        )
    _log_rate_axis(axis, "constant learning rate (Adam, log scale)")
    axis.set_ylim(min(0.4, float(np.nanmin(results[list(SPLIT_COLORS)].to_numpy()))) - 0.02, 1.02)
    axis.set_ylabel("accuracy after training")
    seeds = int(per_rate["seeds"].max())
    title = f"LR sweep: accuracy against learning rate ({len(rates)} rates × {seeds} seeds)"
    if warning is None:
        axis.set_title(title)
    else:  # the warning sits right above the panel, clear of every curve
        figure.suptitle(title)
        axis.set_title(
            "warning: " + textwrap.fill(warning, 95),
            color="white",
            fontsize=9.5,
            bbox={"boxstyle": "round", "facecolor": "tab:red", "edgecolor": "none"},
        )
    handles = [
        Line2D([], [], color=SPLIT_COLORS["val_accuracy"], linewidth=2, marker="."),
        Line2D([], [], color=SPLIT_COLORS["test_accuracy"], linewidth=2, marker="."),
        mpl.patches.Patch(color="grey", alpha=0.3),
        Line2D([], [], color="grey", marker="o", linestyle="none", alpha=0.5, markersize=4),
        Line2D([], [], color="tab:green", linewidth=1.6),
        Line2D([], [], color="black", marker="D", linestyle="none"),
        Line2D([], [], color="grey", linestyle="--"),
    ]
    labels = [
        "validation (mean over seeds)",
        "test (mean over seeds)",
        "min–max over seeds",
        "one seed",
        "best rate by validation" + ("" if one_se_band else " (alone within one std. error)"),
        "a study setting (on the test curve)",
        f"chance ({CHANCE_ACCURACY:g})",
    ]
    if one_se_band:
        handles.insert(5, mpl.patches.Patch(color="tab:green", alpha=0.15))
        labels.insert(5, "within one std. error of best")
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8.5, frameon=False)
    return figure


SUGGESTION_COLORS = {"minimum": "tab:orange", "steep": "tab:red", "valley": "tab:blue"}
SUGGESTION_LINES = {"minimum": ":", "steep": "-.", "valley": "--"}


def lr_range_test(
    curves: pd.DataFrame,
    per_seed: Mapping[int, Mapping[str, float | None]],
    medians: Mapping[str, float | None],
) -> Figure:
    """The LR range test: smoothed training loss against the rising rate, one line a seed.

    Args:
        curves: One row per seed and step: ``seed``, ``lr``, ``smoothed_loss``.
        per_seed: Each seed's suggestions (name → rate or ``None``), marked on its line.
        medians: The median suggestion over seeds (what ``suggested`` settings use), drawn
            as labelled vertical lines.

    Returns:
        One panel, rate on a log axis: each seed a thin grey line (one legend entry for
        all, however many seeds), the median loss over the seeds at each step in black
        (while at least half of them still run), each seed's suggestions as markers
        coloured by suggestion and their medians as vertical lines of the same colour.
        The loss axis is zoomed on the range below the starting loss (its top is the
        highest start plus twice the largest fall), so the blow-up at the end leaves
        through the top instead of flattening the rest.
    """
    figure = Figure(figsize=(9, 5.2), layout="constrained")
    axis = figure.subplots()
    starts = []
    seeds = 0
    for seed, line in curves.groupby("seed", sort=True):
        seeds += 1
        rates = line["lr"].to_numpy(dtype=float)
        losses = line["smoothed_loss"].to_numpy(dtype=float)
        starts.append(float(losses[0]))
        axis.plot(
            rates, losses, color="grey", linewidth=0.8, alpha=0.55, zorder=2, label=f"seed {seed}"
        )
        for name, rate in per_seed.get(int(seed), {}).items():
            if rate is None or name not in SUGGESTION_MARKERS:
                continue
            y = float(np.interp(np.log10(rate), np.log10(rates), losses))
            axis.plot(
                rate,
                y,
                marker=SUGGESTION_MARKERS[name],
                color=SUGGESTION_COLORS[name],
                markeredgecolor="black",
                markeredgewidth=0.6,
                markersize=6.5,
                alpha=0.85,
                linestyle="none",
                zorder=4,
            )
    if seeds:
        # Every seed steps through the same rates; a seed that stopped (diverged) drops out.
        median = curves.groupby("step" if "step" in curves else "lr", sort=True).agg(
            lr=("lr", "median"), loss=("smoothed_loss", "median"), n=("smoothed_loss", "size")
        )
        median = median[median["n"] * 2 >= seeds]  # while at least half the seeds run
        axis.plot(
            median["lr"], median["loss"], color="black", linewidth=2.2, zorder=3, label="median"
        )
    for name, rate in medians.items():
        if rate is None:
            continue
        color = SUGGESTION_COLORS.get(name, "black")
        axis.axvline(rate, color=color, linestyle=SUGGESTION_LINES.get(name, "-"), linewidth=1.6)
        axis.annotate(
            f"{name}: {rate:.3g}",
            xy=(rate, 0.98),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            rotation=90,
            va="top",
            fontsize=8.5,
            color=color,
        )
    _log_rate_axis(axis, "learning rate of the step (log scale)")
    if starts:
        # Zoomed on the fall below the starting loss, where the suggestions are; a line
        # leaving the top is a seed diverging.
        low = float(np.nanmin(curves["smoothed_loss"]))
        top = max(starts) + 2 * max(max(starts) - low, 0.02)
        axis.set_ylim(low - 0.1 * (top - low), top)
    axis.set_ylabel("training loss (EMA-smoothed, bias-corrected)")
    steps = int(curves.groupby("seed").size().max()) if len(curves) else 0
    axis.set_title(
        f"LR range test: loss while the rate rises every step ({seeds} seeds, up to {steps} steps)"
    )
    handles = [
        Line2D([], [], color="grey", linewidth=0.8, alpha=0.55),
        Line2D([], [], color="black", linewidth=2.2),
    ]
    labels = [f"one seed ({seeds} in all)", "median loss over seeds"]
    for name in SUGGESTION_MARKERS:
        color = SUGGESTION_COLORS[name]
        handles.append(
            Line2D(
                [],
                [],
                marker=SUGGESTION_MARKERS[name],
                color=color,
                markeredgecolor="black",
                linestyle=SUGGESTION_LINES[name],
            )
        )
        labels.append(name)
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=len(labels),
        fontsize=8.5,
        frameon=False,
        title="suggestions: a marker per seed, a vertical line at their median over seeds",
        title_fontsize=8.5,
    )
    return figure
