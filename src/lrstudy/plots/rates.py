"""The LR sweep (accuracy against a constant rate) and the LR range test figures."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lrstudy.data import CHANCE_ACCURACY
from lrstudy.plots.style import log_rate_axis

SPLIT_COLORS = {"val_accuracy": "tab:blue", "test_accuracy": "tab:orange"}
SUGGESTION_MARKERS = {"minimum": "v", "steep": "s", "valley": "o"}
SUGGESTION_COLORS = {"minimum": "tab:orange", "steep": "tab:red", "valley": "tab:blue"}
SUGGESTION_LINES = {"minimum": ":", "steep": "-.", "valley": "--"}


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
    _mark_best(axis, rates, summary)
    _mark_settings(axis, rates, per_rate["test_accuracy"].to_numpy(dtype=float), marks)
    log_rate_axis(axis, "constant learning rate (Adam, log scale)")
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
    _sweep_legend(figure, one_se_band)
    return figure


def _mark_best(axis: Axes, rates: np.ndarray, summary: Mapping[str, object]) -> None:
    """The best rate by validation: a vertical line, labelled on the side with more room."""
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


def _mark_settings(
    axis: Axes, rates: np.ndarray, curve_y: np.ndarray, marks: Mapping[str, float]
) -> None:
    """Each study setting inside the grid: a labelled diamond on the test-accuracy curve."""
    log_rates = np.log10(rates)
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


def _sweep_legend(figure: Figure, one_se_band: bool) -> None:
    """The sweep figure's legend below the panel (the band's entry only when drawn)."""
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
    starts = _draw_seed_curves(axis, curves, per_seed)
    seeds = len(starts)
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
    log_rate_axis(axis, "learning rate of the step (log scale)")
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
    _range_test_legend(figure, seeds)
    return figure


def _draw_seed_curves(
    axis: Axes, curves: pd.DataFrame, per_seed: Mapping[int, Mapping[str, float | None]]
) -> list[float]:
    """Each seed's smoothed loss as a thin grey line, its suggestions as markers on it.

    Returns:
        Each seed's first smoothed loss, in seed order (one entry per seed drawn).
    """
    starts = []
    for seed, line in curves.groupby("seed", sort=True):
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
    return starts


def _range_test_legend(figure: Figure, seeds: int) -> None:
    """The range test's legend: seed lines, the median, one entry per suggestion."""
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
