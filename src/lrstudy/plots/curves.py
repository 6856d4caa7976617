"""Learning curves (loss and accuracy per epoch) and the learning rate each setting used."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator
from matplotlib.transforms import blended_transform_factory

from lrstudy.data import CHANCE_ACCURACY
from lrstudy.plots.style import (
    LEGEND_FONT_SIZE,
    Style,
    bottom_legend,
    finite_values,
    legend_columns,
    setting_handle,
    setting_styles,
)

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


def learning_curves(
    summary: pd.DataFrame, settings: Sequence[str], chance: float = CHANCE_ACCURACY
) -> Figure:
    """Training and validation loss (log scale) and accuracy per epoch, per setting.

    Args:
        summary: ``report.curves.epoch_summary`` output: per setting and epoch the mean over
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
        band, diverged = _draw_curve_panel(panel, summary, settings, styles, column, band_alpha)
        any_band |= band
        any_diverged |= diverged
        if log:
            panel.set_yscale("log")
        else:
            panel.axhline(chance, color="grey", linestyle=":", linewidth=1)
        panel.set_title(f"{split} {column.removeprefix('val_')}")
        panel.grid(True, which="major", alpha=0.3)
    _curve_limits(axes, summary, chance)
    axes[0, 0].set_ylabel("loss (cross-entropy, log scale)")
    axes[1, 0].set_ylabel("accuracy (dotted: chance)")
    for panel in axes[1]:
        panel.set_xlabel("epoch")
    spread = "; shaded: min–max over seeds" if any_band else ""
    figure.suptitle(f"Learning curves (line: mean over seeds{spread})")
    handles: list[object] = [setting_handle(styles[name]) for name in settings]
    if any_diverged:
        handles.append(
            Line2D([], [], color="black", marker="x", linestyle="none", markeredgewidth=2)
        )
        labels.append("seed diverged (loss NaN/inf)")
    bottom_legend(figure, handles, labels, width)
    return figure


def _draw_curve_panel(
    panel: Axes,
    summary: pd.DataFrame,
    settings: Sequence[str],
    styles: Mapping[str, Style],
    column: str,
    band_alpha: float,
) -> tuple[bool, bool]:
    """Every setting's mean line of ``column``, its min–max band and diverged crosses.

    Returns:
        Whether a band was drawn (some setting has more than one seed) and whether a
        diverged cross was.
    """
    any_band = any_diverged = False
    for name in settings:
        rows = summary[summary["setting"] == name]
        if rows.empty:
            continue
        style = styles[name]
        epochs = rows["epoch"].to_numpy(dtype=float)
        panel.plot(
            epochs,
            finite_values(rows[column]),
            color=style.color,
            linestyle=style.linestyle,
            linewidth=1.5,
        )
        if "seeds" in rows and rows["seeds"].max() > 1:
            any_band = True
            panel.fill_between(
                epochs,
                finite_values(rows[f"{column}_min"]),
                finite_values(rows[f"{column}_max"]),
                color=style.color,
                alpha=band_alpha,
                linewidth=0,
            )
        any_diverged |= _diverged_markers(panel, rows, style)
    return any_band, any_diverged


def _curve_limits(axes: np.ndarray, summary: pd.DataFrame, chance: float) -> None:
    """y-limits of the loss row (capped, 1-2-5 ticks) and the accuracy row (chance shown)."""
    limits = _loss_limits(summary, ("loss", "val_loss")) if not summary.empty else None
    if limits is not None:
        axes[0, 0].set_ylim(*limits)
        # Plain numbers at 1-2-5 steps over a short range: 0.05 reads faster than 5×10⁻².
        decades = math.log10(limits[1] / limits[0])
        subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
        axes[0, 0].yaxis.set_major_locator(LogLocator(base=10, subs=subs))
        axes[0, 0].yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    accuracy = finite_values(summary[["accuracy_min", "val_accuracy_min"]].to_numpy().ravel())
    lowest = float(np.nanmin(accuracy)) if np.isfinite(accuracy).any() else 0.0
    axes[1, 0].set_ylim(max(0.0, min(lowest, chance) - 0.03), 1.02)


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
            finite_values(summary[f"{column}{suffix}"])
            for column in columns
            for suffix in ("", "_min", "_max")
            if f"{column}{suffix}" in summary
        ]
    )
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    first_epoch = summary.loc[summary["epoch"] == summary["epoch"].min(), list(columns)]
    start = finite_values(first_epoch.to_numpy().ravel())
    start = start[np.isfinite(start) & (start > 0)]
    ceiling = LOSS_CEILING_FACTOR * float(start.max()) if start.size else math.inf
    low, high = float(values.min()), min(float(values.max()), ceiling)
    if high <= low:
        high = low * 10
    return low / 1.25, high * 1.25


def learning_rates(
    curves: pd.DataFrame,
    settings: Sequence[str],
    effective: Collection[str] = (),
    averaging: pd.DataFrame | None = None,
) -> Figure:
    """The rate the optimizer used against training progress, all settings on one axis.

    Args:
        curves: ``report.curves.learning_rate_curves`` output: polylines with columns
            ``setting``, ``seed`` (``"all"`` when every seed used the same rates),
            ``epoch`` (training progress in epochs, fractional for per-step rates) and
            ``learning_rate``.
        settings: Settings to draw, in legend (and colour) order.
        effective: Settings whose line is Prodigy's step size ``d · lr`` after each epoch
            (labelled so), not a scheduled rate.
        averaging: ``report.curves.averaging_weight_curves`` output; with rows, a small
            panel below shows each Schedule-Free setting's averaging weight ``c = 1/t``.

    Returns:
        One log-scale axis; a setting whose seeds used different rates (for example
        reduce-on-plateau, or Prodigy's ``d``) is one thin line per seed. With averaging
        weights, a second log-scale panel below it, sharing the epoch axis.
    """
    styles = setting_styles(settings)
    width = 10.0
    labels = [_rate_label(name, curves, effective) for name in settings]
    legend_rows = math.ceil(len(settings) / legend_columns(labels, width, LEGEND_FONT_SIZE))
    weights = averaging is not None and not averaging.empty
    figure = Figure(figsize=(width, 5.6 + 0.22 * legend_rows + 1.8 * weights), layout="constrained")
    if weights:
        axis, lower = figure.subplots(2, 1, sharex=True, height_ratios=(3.2, 1))
    else:
        axis, lower = figure.subplots(), None
    for name in settings:
        rows = curves[curves["setting"] == name]
        seeds = list(dict.fromkeys(rows["seed"].astype(str)))
        for seed in seeds:
            line = rows[rows["seed"].astype(str) == seed]
            axis.plot(
                line["epoch"].to_numpy(dtype=float),
                finite_values(line["learning_rate"]),
                color=styles[name].color,
                linestyle=styles[name].linestyle,
                # Prodigy's seeds faint, under their median: 20 lines would hide the rest.
                linewidth=1.8 if len(seeds) == 1 else 0.8 if name in effective else 1.0,
                alpha=1.0 if len(seeds) == 1 else 0.3 if name in effective else 0.6,
                # One line per setting over the bundles of per-seed lines (the eleventh
                # setting on shares a colour with the first ten: schedule_free's dashed
                # red under plateau's red seeds could not be seen).
                zorder=2.5 if len(seeds) == 1 else 2,
            )
        if name in effective and len(seeds) > 1:
            epochs, median = _median_polyline(rows)
            axis.plot(
                epochs,
                median,
                color=styles[name].color,
                linestyle=styles[name].linestyle,
                linewidth=2.2,
                zorder=2.5,
            )
    axis.set_yscale("log")
    axis.set_xlim(left=0)
    prodigy = " (Prodigy: its step size d·lr)" if effective else ""
    axis.set_ylabel(f"learning rate, log scale{prodigy}")
    axis.set_title("Learning rate the optimizer actually used")
    axis.grid(True, which="major", alpha=0.35)
    axis.grid(True, which="minor", axis="y", alpha=0.1)
    if lower is None:
        axis.set_xlabel("epoch (training progress)")
    else:
        _averaging_panel(lower, averaging, styles)
    bottom_legend(figure, [setting_handle(styles[name]) for name in settings], labels, width)
    return figure


def _median_polyline(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The median over seeds of per-seed polylines (``seed``, ``epoch``, ``learning_rate``).

    Each seed's polyline dropped the points its neighbours' straight line passes (in log
    space: ``report.curves``), so each is interpolated in log space onto every epoch any
    seed kept; where a seed has no line (before its first positive value), it is left out.
    The median is taken in log space (of an even count of seeds, the geometric mean of the
    middle two), as the axis shows it.
    """
    grid = np.unique(rows["epoch"].to_numpy(dtype=float))
    logs = []
    for _, line in rows.groupby(rows["seed"].astype(str), sort=False):
        x = line["epoch"].to_numpy(dtype=float)
        y = np.log10(line["learning_rate"].to_numpy(dtype=float))
        inside = (grid >= x.min()) & (grid <= x.max())
        logs.append(np.where(inside, np.interp(grid, x, y), np.nan))
    return grid, 10 ** np.nanmedian(np.stack(logs), axis=0)


def _rate_label(name: str, curves: pd.DataFrame, effective: Collection[str]) -> str:
    """A setting's legend label: ``d·lr`` for Prodigy's, ``per seed`` where seeds differ."""
    seeds = curves.loc[curves["setting"] == name, "seed"].astype(str).nunique()
    many = seeds > 1
    notes = ["median d·lr" if many else "d·lr"] if name in effective else []
    notes += ["per seed"] if many and name not in effective else []
    return f"{name} ({', '.join(notes)})" if notes else name


def _averaging_panel(panel: Axes, averaging: pd.DataFrame, styles: Mapping[str, Style]) -> None:
    """Schedule-Free's averaging weight per epoch, in each setting's colour (log scale)."""
    for name, rows in averaging.groupby("setting", sort=False):
        panel.plot(
            rows["epoch"].to_numpy(dtype=float),
            finite_values(rows["averaging_weight"]),
            color=styles[name].color,
            linestyle=styles[name].linestyle,
            linewidth=1.8,
            marker=".",
        )
    panel.set_yscale("log")
    panel.set_xlabel("epoch (training progress)")
    panel.set_ylabel("weight c, log scale")
    panel.set_title(
        "Schedule-Free's averaging weight: x ← (1 − c)·x + c·z, c = 1/t at step t "
        "(after each epoch's last step)",
        fontsize=9.5,
    )
    panel.grid(True, which="major", alpha=0.35)
