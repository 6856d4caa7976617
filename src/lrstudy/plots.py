"""Every figure of the study: data in, matplotlib Figure out (object-oriented API).

``save_figure`` writes a figure atomically and closes it. Figures stay readable with many
settings (panel grid and legend sized from the count) and with diverged runs (non-finite
values are gaps in a line, never an error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lrstudy.io import atomic_path

CHANCE_ACCURACY = 0.5
DPI = 110


def setting_colors(names: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """One distinct colour per setting, stable for a given order (tab10, then tab20)."""
    palette = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: palette(index % palette.N) for index, name in enumerate(names)}


def _grid_shape(count: int, max_columns: int = 4) -> tuple[int, int]:
    columns = min(count, max_columns)
    return math.ceil(count / columns), columns


def _finite(values: np.ndarray) -> np.ndarray:
    """Non-finite values become NaN, which matplotlib draws as a gap."""
    values = np.asarray(values, dtype=float).copy()
    values[~np.isfinite(values)] = np.nan
    return values


def decision_boundaries(
    axis: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    points_x: np.ndarray,
    points_y: np.ndarray,
) -> Figure:
    """The notebook's contour of P(y=1) (RdBu, 25 levels), one panel per setting.

    ``probabilities[name]`` is indexed [x0, x1] over ``axis`` × ``axis``; the points
    (usually the test split) are drawn on top, edged in white.
    """
    names = list(probabilities)
    rows, columns = _grid_shape(len(names))
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(3.6 * columns + 0.9, 3.5 * rows),
        squeeze=False,
        constrained_layout=True,
    )
    first, second = np.meshgrid(axis, axis, indexing="ij")
    contour = None
    for panel, name in zip(axes.flat, names, strict=False):
        grid = np.nan_to_num(_finite(probabilities[name]), nan=0.5)
        contour = panel.contourf(
            first, second, grid, levels=np.linspace(0, 1, 26), cmap="RdBu", vmin=0, vmax=1
        )
        panel.scatter(
            points_x[:, 0],
            points_x[:, 1],
            c=points_y,
            s=12,
            cmap="RdBu",
            vmin=-0.2,
            vmax=1.2,
            edgecolor="white",
            linewidth=0.5,
        )
        panel.set_title(titles.get(name, name), fontsize=9)
        panel.set_xlim(axis[0], axis[-1])
        panel.set_ylim(axis[0], axis[-1])
        panel.set_aspect("equal")
        panel.set_xlabel("$x_0$")
        panel.set_ylabel("$x_1$")
    for panel in list(axes.flat)[len(names) :]:
        panel.set_visible(False)
    if contour is not None:
        bar = figure.colorbar(contour, ax=axes, shrink=0.8)
        bar.set_label("$P(y = 1)$")
        bar.set_ticks([0, 0.25, 0.5, 0.75, 1])
    figure.suptitle("Decision boundaries (test points on top)")
    return figure


def _legend(figure: Figure, names: Sequence[str], colors: Mapping[str, tuple[float, ...]]) -> None:
    handles = [plt.Line2D([], [], color=colors[name], linewidth=2) for name in names]
    figure.legend(
        handles,
        names,
        loc="outside lower center",
        ncols=min(len(names), 5),
        fontsize=9,
        frameon=False,
    )


def learning_curves(summary: pd.DataFrame, settings: Sequence[str], band: bool = True) -> Figure:
    """Train and validation loss (log) and accuracy per epoch, one colour per setting.

    ``summary`` is ``report.epoch_summary`` output: the mean over seeds is the line and,
    when ``band`` (more than one seed), the min–max over seeds is the shaded band.
    """
    colors = setting_colors(settings)
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True, layout="constrained")
    panels = [
        ("loss", "training loss", True),
        ("val_loss", "validation loss", True),
        ("accuracy", "training accuracy", False),
        ("val_accuracy", "validation accuracy", False),
    ]
    for panel, (column, label, log) in zip(axes.flat, panels, strict=True):
        for name in settings:
            rows = summary[summary["setting"] == name]
            epochs = rows["epoch"].to_numpy()
            panel.plot(epochs, _finite(rows[column]), color=colors[name], linewidth=1.6)
            if band:
                panel.fill_between(
                    epochs,
                    _finite(rows[f"{column}_min"]),
                    _finite(rows[f"{column}_max"]),
                    color=colors[name],
                    alpha=0.2,
                    linewidth=0,
                )
        if log:
            panel.set_yscale("log")
        else:
            panel.axhline(CHANCE_ACCURACY, color="grey", linestyle=":", linewidth=1)
        panel.set_title(label)
        panel.set_ylabel(label)
        panel.grid(True, which="major", alpha=0.3)
    for panel in axes[1]:
        panel.set_xlabel("epoch")
    spread = "min–max over seeds shaded" if band else "one seed"
    figure.suptitle(f"Learning curves (mean over seeds; {spread})")
    _legend(figure, settings, colors)
    return figure


def learning_rates(
    summary: pd.DataFrame,
    settings: Sequence[str],
    steps: Mapping[str, pd.DataFrame] | None = None,
) -> Figure:
    """The rate the optimizer used, per epoch (log scale), all settings on one axis.

    ``steps`` optionally maps a setting to a per-step frame (``epoch_fraction``,
    ``learning_rate``) for schedules that change the rate within an epoch.
    """
    colors = setting_colors(settings)
    figure, axis = plt.subplots(figsize=(10, 5.5), layout="constrained")
    for name in settings:
        if steps and name in steps:
            rows = steps[name]
            axis.plot(
                rows["epoch_fraction"], rows["learning_rate"], color=colors[name], linewidth=1.4
            )
            continue
        rows = summary[summary["setting"] == name]
        # The rate holds for a whole epoch: draw it as a step from epoch e-1 to e.
        epochs = rows["epoch"].to_numpy()
        rates = _finite(rows["learning_rate"])
        axis.stairs(
            rates,
            np.concatenate([[epochs[0] - 1], epochs]) if len(epochs) else [0],
            color=colors[name],
            linewidth=1.6,
            baseline=None,
        )
    axis.set_yscale("log")
    axis.set_xlabel("epoch")
    axis.set_ylabel("learning rate (as used by the optimizer)")
    axis.set_title("Learning rate per epoch (mean over seeds)")
    axis.grid(True, which="both", alpha=0.3)
    _legend(figure, settings, colors)
    return figure


def test_accuracy(per_seed: Mapping[str, Sequence[float | None]]) -> Figure:
    """Mean ± std of test accuracy per setting with each seed as a dot, sorted by mean."""

    def mean_of(values: Sequence[float | None]) -> float:
        finite = [value for value in values if value is not None and math.isfinite(value)]
        return float(np.mean(finite)) if finite else math.nan

    order = sorted(per_seed, key=lambda name: -np.nan_to_num(mean_of(per_seed[name]), nan=-1))
    colors = setting_colors(list(per_seed))
    figure, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(order) + 2), 4.8), layout="constrained")
    rng = np.random.default_rng(0)  # jitter only: fixed so the figure is reproducible
    for position, name in enumerate(order):
        values = np.array(
            [np.nan if value is None else value for value in per_seed[name]], dtype=float
        )
        finite = values[np.isfinite(values)]
        if finite.size:
            mean = float(finite.mean())
            std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
            axis.bar(position, mean, color=colors[name], alpha=0.35, width=0.6)
            axis.errorbar(position, mean, yerr=std, color="black", capsize=6, linewidth=1.2)
            axis.annotate(
                f"{mean:.3f}",
                (position, mean),
                xytext=(0, 6 + 0 * std),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
            )
        jitter = rng.uniform(-0.12, 0.12, size=finite.size)
        axis.scatter(
            position + jitter, finite, color=colors[name], edgecolor="black", zorder=3, s=22
        )
    axis.axhline(CHANCE_ACCURACY, color="grey", linestyle="--", linewidth=1)
    axis.annotate(
        "chance",
        (len(order) - 0.5, CHANCE_ACCURACY),
        xytext=(0, 3),
        textcoords="offset points",
        ha="right",
        fontsize=8,
        color="grey",
    )
    axis.set_xticks(
        range(len(order)),
        order,
        rotation=30 if len(order) > 5 else 0,
        ha="right" if len(order) > 5 else "center",
    )
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("test accuracy")
    axis.set_title("Test accuracy per setting: mean ± std (bar, whisker) and each seed (dots)")
    axis.grid(True, axis="y", alpha=0.3)
    return figure


def save_figure(figure: Figure, path: str | Path) -> None:
    """Write a PNG atomically (no timestamp, so identical data give identical bytes), close."""
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(figure)
