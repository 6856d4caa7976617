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

from lrstudy.contract import CHANCE_ACCURACY
from lrstudy.evaluation import sample_std
from lrstudy.io import atomic_path

DPI = 110
LINE_STYLES = ("-", "--", ":", "-.")
LEGEND_FONT_SIZE = 9
# Loss axes stop at this multiple of the highest first-epoch loss, so one run that blows
# up does not flatten every other curve; a curve leaving the top is a curve diverging.
LOSS_CEILING_FACTOR = 10.0
# (history column, split, log scale) of the four learning-curve panels, row by row.
CURVE_PANELS = (
    ("loss", "training", True),
    ("val_loss", "validation", True),
    ("accuracy", "training", False),
    ("val_accuracy", "validation", False),
)


@dataclass(frozen=True)
class Style:
    """How one setting is drawn in every figure."""

    color: tuple[float, float, float, float]
    linestyle: str


def setting_styles(names: Sequence[str]) -> dict[str, Style]:
    """One style per setting, stable for a given order.

    The ten tab10 colours first; from the eleventh setting on the colours repeat with
    another line style (dashed, dotted, dash-dot), which stays easier to tell apart than
    the paired light/dark shades of tab20.
    """
    palette = mpl.colormaps["tab10"]
    return {
        name: Style(
            color=palette(index % palette.N),
            linestyle=LINE_STYLES[(index // palette.N) % len(LINE_STYLES)],
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
    """The notebook's contour of P(y=1) (RdBu, 25 levels), one panel per setting.

    Args:
        axis: Grid coordinates along each axis (the same for x0 and x1).
        probabilities: Per setting, P(y=1) on the grid, indexed ``[x0, x1]``.
        titles: Per setting, the panel title (the setting's name if missing).
        points_x: Points drawn on top (usually the test split), shape (n, 2).
        points_y: Their true classes (0 or 1), coloured like the contour.

    Returns:
        One figure with a near-square grid of panels sharing axes and one colour bar.
    """
    names = list(probabilities)
    rows, columns = grid_shape(max(len(names), 1))
    figure = Figure(figsize=(3.1 * columns + 1.2, 3.2 * rows + 0.7), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    first, second = np.meshgrid(axis, axis, indexing="ij")
    levels = np.linspace(0, 1, 26)
    contour = None
    for index, (panel, name) in enumerate(zip(axes.flat, names, strict=False)):
        # A diverged model predicts NaN: show it as undecided (0.5), never crash.
        grid = np.clip(np.nan_to_num(_finite(probabilities[name]), nan=0.5), 0, 1)
        contour = panel.contourf(first, second, grid, levels=levels, cmap="RdBu")
        panel.scatter(
            points_x[:, 0],
            points_x[:, 1],
            c=points_y,
            s=10,
            cmap="RdBu",
            vmin=-0.2,
            vmax=1.2,
            edgecolors="white",
            linewidths=0.4,
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
    if contour is not None:
        bar = figure.colorbar(contour, ax=axes, shrink=min(0.9, 0.45 + 0.15 * rows))
        bar.set_label("model's $P(y = 1)$; points: true class of each test sample")
        bar.set_ticks([0, 0.25, 0.5, 0.75, 1])
    figure.suptitle("Decision boundary of each setting (test points on top)")
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


def learning_curves(summary: pd.DataFrame, settings: Sequence[str]) -> Figure:
    """Training and validation loss (log scale) and accuracy per epoch, per setting.

    Args:
        summary: ``report.epoch_summary`` output: per setting and epoch the mean over
            seeds of each metric, its ``_min``/``_max`` and the number of ``seeds``
            (optional ``diverged``: seeds whose loss was non-finite at that epoch).
        settings: Settings to draw, in legend (and colour) order.

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
            panel.axhline(CHANCE_ACCURACY, color="grey", linestyle=":", linewidth=1)
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
    axes[1, 0].set_ylim(max(0.0, min(lowest, CHANCE_ACCURACY) - 0.03), 1.02)
    axes[0, 0].set_ylabel("loss (binary cross-entropy, log scale)")
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


def _describe_accuracy(finite: np.ndarray, missing: int) -> str:
    if finite.size == 0:
        text = "n/a"
    elif finite.size == 1:
        text = f"{finite[0]:.3f}"
    else:
        text = f"{finite.mean():.3f} ± {sample_std(finite):.3f}"
    return text + (f" ({missing} n/a)" if missing else "")


def test_accuracy(per_seed: Mapping[str, Sequence[float | None]]) -> Figure:
    """Test accuracy per setting: each seed a dot, mean ± std a whisker, best on top.

    Args:
        per_seed: Per setting (in colour order), each seed's test accuracy; ``None`` or
            a non-finite value is a seed without a result.

    Returns:
        A horizontal dot plot sorted by mean (settings without any result last), with
        the chance level as a dashed line and the mean ± std written at the right.
    """
    styles = setting_styles(list(per_seed))
    values = {
        name: np.array([np.nan if v is None else v for v in seeds], dtype=float)
        for name, seeds in per_seed.items()
    }

    def sort_key(name: str) -> tuple[bool, float]:
        finite = values[name][np.isfinite(values[name])]
        return (finite.size == 0, -float(finite.mean()) if finite.size else 0.0)

    order = sorted(per_seed, key=sort_key)
    figure = Figure(figsize=(8.5, 1.9 + 0.42 * len(order)), layout="constrained")
    axis = figure.subplots()
    right_labels = []
    lowest = CHANCE_ACCURACY
    for position, name in enumerate(order):
        style = styles[name]
        finite = values[name][np.isfinite(values[name])]
        right_labels.append(_describe_accuracy(finite, int(values[name].size - finite.size)))
        if finite.size == 0:
            continue
        lowest = min(lowest, float(finite.min()))
        # Evenly spread seeds vertically: reproducible, and no two dots on top of each other.
        offsets = np.linspace(-0.2, 0.2, finite.size) if finite.size > 1 else np.zeros(1)
        axis.scatter(
            finite,
            position + offsets,
            color=style.color,
            edgecolors="black",
            linewidths=0.5,
            s=26,
            zorder=3,
        )
        mean = float(finite.mean())
        std = sample_std(finite)
        # The whisker stops at the possible range [0, 1]; the axis shows all of it.
        low, high = max(0.0, mean - std), min(1.0, mean + std)
        lowest = min(lowest, low)
        axis.errorbar(
            mean,
            position,
            xerr=[[mean - low], [high - mean]],
            fmt="|",
            markersize=16,
            markeredgewidth=2.2,
            color="black",
            capsize=5,
            elinewidth=1.4,
            zorder=4,
        )
    axis.axvline(CHANCE_ACCURACY, color="grey", linestyle="--", linewidth=1.2, zorder=1)
    axis.set_yticks(range(len(order)), order)
    axis.set_ylim(len(order) - 0.5, -0.5)  # best at the top
    axis.set_xlim(max(0.0, lowest - 0.04), 1.01)
    axis.set_xlabel("test accuracy")
    axis.grid(True, axis="x", alpha=0.3)
    right = axis.secondary_yaxis("right")
    right.set_yticks(range(len(order)), right_labels)
    right.tick_params(length=0, labelsize=9)
    right.set_ylabel("mean ± std over seeds", fontsize=9)
    axis.set_title("Test accuracy per setting (best first)")
    handles = [
        Line2D([], [], marker="o", color="grey", markeredgecolor="black", linestyle="none"),
        Line2D([], [], marker="|", color="black", markersize=12, markeredgewidth=2),
        Line2D([], [], color="grey", linestyle="--"),
    ]
    labels = ["one seed", "mean ± std", f"chance ({CHANCE_ACCURACY:g})"]
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return figure


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
SPLIT_LABELS = {"val_accuracy": "validation", "test_accuracy": "test"}
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
        One panel, rate on a log axis; the loss axis is zoomed on the range below the
        starting loss (its top is the highest start plus twice the largest fall), so the
        blow-up at the end leaves through the top instead of flattening the rest.
    """
    figure = Figure(figsize=(9, 5.2), layout="constrained")
    axis = figure.subplots()
    colors = mpl.colormaps["tab10"].colors
    starts = []
    for index, (seed, line) in enumerate(curves.groupby("seed", sort=True)):
        color = colors[index % len(colors)]
        rates = line["lr"].to_numpy(dtype=float)
        losses = line["smoothed_loss"].to_numpy(dtype=float)
        starts.append(float(losses[0]))
        axis.plot(rates, losses, color=color, linewidth=1.2, alpha=0.8, label=f"seed {seed}")
        for name, rate in per_seed.get(int(seed), {}).items():
            if rate is None or name not in SUGGESTION_MARKERS:
                continue
            y = float(np.interp(np.log10(rate), np.log10(rates), losses))
            axis.plot(
                rate,
                y,
                marker=SUGGESTION_MARKERS[name],
                color=color,
                markeredgecolor="black",
                markersize=7,
                linestyle="none",
                zorder=4,
            )
    styles = {"minimum": ":", "steep": "-.", "valley": "--"}
    for name, rate in medians.items():
        if rate is None:
            continue
        axis.axvline(rate, color="black", linestyle=styles.get(name, "-"), linewidth=1.2)
        axis.annotate(
            f"{name}: {rate:.3g}",
            xy=(rate, 0.98),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            rotation=90,
            va="top",
            fontsize=8.5,
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
    axis.set_title(f"LR range test: loss while the rate rises every step (up to {steps} steps)")
    seed_legend = axis.legend(loc="lower left", fontsize=8, title="seed", title_fontsize=8)
    axis.add_artist(seed_legend)
    handles = [
        Line2D([], [], marker=marker, color="grey", markeredgecolor="black", linestyle="none")
        for marker in SUGGESTION_MARKERS.values()
    ] + [Line2D([], [], color="black", linestyle=styles[name]) for name in SUGGESTION_MARKERS]
    labels = [f"{name} (one seed)" for name in SUGGESTION_MARKERS] + [
        f"{name} (median over seeds)" for name in SUGGESTION_MARKERS
    ]
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8.5, frameon=False)
    return figure
