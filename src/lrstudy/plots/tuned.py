"""Figures of the tuned comparison: accuracy against base rate (isolation), good-rate ranges.

``isolation``: the Google tuning playbook's isolation plot, every setting's mean
validation and test accuracy over the tuning seeds against its base rate, each tuned rate
marked. ``sensitivity``: per setting the range of base rates whose mean validation
accuracy is within ``tune.margin`` of its best, as a bar on a log axis. ``budgets``: test
accuracy against training budget (``tune.budgets``) at the tuned rate, one panel per setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lrstudy.plots.accuracy import test_accuracy
from lrstudy.plots.style import (
    LEGEND_FONT_SIZE,
    Style,
    bottom_legend,
    finite_values,
    grid_shape,
    log_rate_axis,
    setting_styles,
)


def isolation(
    curves: pd.DataFrame, table: pd.DataFrame, chance: float, max_columns: int = 4
) -> Figure:
    """Accuracy against base rate over the tuning seeds: one panel per setting.

    Args:
        curves: ``tuned_comparison.isolation_table``: per setting and grid rate the mean,
            min and max validation and test accuracy over the tuning seeds.
        table: ``tuned_comparison.tuned_table`` rows (``setting``, ``tuned_lr``,
            ``given_lr``, ``good_low``, ``good_high``), in colour (params) order.
        chance: Accuracy of guessing, a dashed line.
        max_columns: Widest panel grid.

    Returns:
        A panel grid sharing both axes (base rate on a log axis): in each, every other
        setting's mean validation curve in light grey, the setting's own in its colour
        with its min–max band, its mean test curve dotted, its good-rate range shaded,
        a dot at the tuned rate and an open diamond at the hand-picked rate.
    """
    names = list(table["setting"])
    styles, rows = setting_styles(names), table.set_index("setting")
    shape = grid_shape(len(names), max_columns)
    width = 3.3 * shape[1]
    figure = Figure(figsize=(width, 1.2 + 2.6 * shape[0]), layout="constrained")
    axes = figure.subplots(*shape, sharex=True, sharey=True, squeeze=False).ravel()
    by_setting = {name: curves[curves["setting"] == name].sort_values("lr") for name in names}
    for axis, name in zip(axes, names, strict=False):
        for other in names:
            if other != name:
                axis.plot(by_setting[other]["lr"], finite_values(by_setting[other]["val_accuracy"]),
                          color="0.82", linewidth=0.9)  # fmt: skip
        _isolation_panel(axis, name, by_setting[name], rows.loc[name], styles[name])
        axis.axhline(chance, color="grey", linestyle="--", linewidth=1)
    for axis in axes[len(names) :]:
        axis.set_visible(False)
    axes[0].set_xlim(curves["lr"].min() / 1.5, curves["lr"].max() * 1.5)
    low = float(np.nanmin(curves[["val_accuracy_min", "test_accuracy_min"]].to_numpy()))
    axes[0].set_ylim(min(chance, low) - 0.03, 1.02)
    for axis in axes[:: shape[1]]:
        axis.set_ylabel("accuracy")
    figure.suptitle(
        "Isolation plot: accuracy after training against the base rate (schedule's shape kept)"
    )
    _isolation_legend(figure, width)
    return figure


def _isolation_panel(
    axis: Axes, name: str, own: pd.DataFrame, row: pd.Series, style: Style
) -> None:
    """One setting's panel of ``isolation``: its curves, good range, tuned and given rate."""
    rates = own["lr"].to_numpy(float)
    axis.axvspan(row["good_low"], row["good_high"], color=style.color, alpha=0.12, lw=0)
    axis.fill_between(rates, own["val_accuracy_min"], own["val_accuracy_max"],
                      color=style.color, alpha=0.25, lw=0)  # fmt: skip
    axis.plot(rates, finite_values(own["val_accuracy"]), color=style.color, linewidth=2)
    axis.plot(rates, finite_values(own["test_accuracy"]), color="black", linestyle=":",
              linewidth=1.2)  # fmt: skip
    at = own[np.isclose(rates, row["tuned_lr"], rtol=1e-6)]
    axis.plot(at["lr"], at["val_accuracy"], marker="o", color=style.color, mec="k", ms=7)
    title = f"{name}: tuned {row['tuned_lr']:.3g}"
    if rates.min() <= row["given_lr"] <= rates.max():
        axis.axvline(row["given_lr"], color="black", linewidth=0.8, linestyle=(0, (1, 2)))
    else:  # drawn, it would stretch every panel's axis
        title += f" (hand-picked {row['given_lr']:.3g}: off the grid)"
    axis.set_title(title, fontsize=9.5)
    log_rate_axis(axis, "base rate (log)")
    axis.tick_params(labelbottom=True)  # every panel, not only the bottom row's


def _isolation_legend(figure: Figure, width: float) -> None:
    """The legend of ``isolation``, below the panels (one example colour)."""
    handles = [
        Line2D([], [], color="tab:blue", linewidth=2),
        Patch(color="tab:blue", alpha=0.25),
        Line2D([], [], color="black", linestyle=":"),
        Line2D([], [], marker="o", color="tab:blue", mec="k", linestyle="none", ms=7),
        Patch(color="tab:blue", alpha=0.12),
        Line2D([], [], color="black", linewidth=0.8, linestyle=(0, (1, 2))),
        Line2D([], [], color="0.82"),
    ]
    labels = [
        "validation, mean over tuning seeds",
        "validation, min–max over tuning seeds",
        "test, mean over tuning seeds",
        "tuned rate (best mean validation)",
        "good rates (within tune.margin)",
        "hand-picked rate (settings.<name>.lr)",
        "the other settings' validation means",
    ]
    bottom_legend(figure, handles, labels, width)


def tuned_accuracy(
    per_seed: Mapping[str, Sequence[float | None]], chance: float, best: str
) -> Figure:
    """``accuracy.test_accuracy`` of the settings at their tuned rates, titled as such.

    Args:
        per_seed: Per ``"<setting> @ <tuned rate>"`` label, each evaluation seed's test
            accuracy.
        chance: Accuracy of guessing.
        best: The label of the best tuned setting (on validation accuracy), in bold.
    """
    figure = test_accuracy(per_seed, chance, best=best)
    figure.axes[0].set_title("all settings")
    figure.suptitle(
        "Test accuracy per setting at its tuned base rate (after the @), evaluation seeds\n"
        "bold: the best tuned setting on validation accuracy (the reference)"
    )
    return figure


def sensitivity(table: pd.DataFrame, grid: Sequence[float], margin: float) -> Figure:
    """Each setting's good-rate range as a horizontal bar on a log axis, widest on top.

    Args:
        table: ``tuned_comparison.tuned_table`` (``setting``, ``given_lr``, ``tuned_lr``,
            ``good_low``, ``good_high``, ``good_decades``), in colour order of settings.
        grid: The tuning grid's rates (its ends are drawn as dotted lines).
        margin: ``tune.margin``, for the title.

    Returns:
        One row per setting: a bar from ``good_low`` to ``good_high``, a dot at the tuned
        rate, an open diamond at the hand-picked rate, the width in decades at the right.
    """
    styles = setting_styles(list(table["setting"]))
    order = table.sort_values(["good_decades", "tuned_lr"], ascending=[False, True], kind="stable")
    figure = Figure(figsize=(9.5, 1.9 + 0.42 * len(order)), layout="constrained")
    axis = figure.subplots()
    for row_index, row in enumerate(order.itertuples()):
        style = styles[row.setting]
        axis.plot([row.good_low, row.good_high], [row_index] * 2, color=style.color, lw=7,
                  solid_capstyle="butt", alpha=0.55)  # fmt: skip
        axis.plot(row.tuned_lr, row_index, marker="o", color=style.color, mec="k", ms=8)
        axis.plot(row.given_lr, row_index, marker="D", mfc="none", mec="k", ms=6)
    for end in (min(grid), max(grid)):
        axis.axvline(end, color="grey", linestyle=":", linewidth=1.2)
    axis.set_yticks(range(len(order)), order["setting"])
    axis.set_ylim(len(order) - 0.5, -0.5)
    right = axis.secondary_yaxis("right")
    widths = [f"{d:.2g} decade{'' if d == 1 else 's'}" for d in order["good_decades"]]
    right.set_yticks(range(len(order)), widths)
    right.tick_params(length=0, labelsize=9)
    log_rate_axis(axis, "base rate (log scale)")
    axis.set_title(
        f"Good base rates: mean validation accuracy within {margin:g} of the setting's best\n"
        "(contiguous grid rates around the tuned one; widest range, the least fussy, on top)"
    )
    handles = [
        Line2D([], [], color="grey", lw=7, alpha=0.55),
        Line2D([], [], marker="o", color="grey", mec="k", linestyle="none", ms=8),
        Line2D([], [], marker="D", mfc="none", mec="k", linestyle="none", ms=6),
        Line2D([], [], color="grey", linestyle=":"),
    ]
    labels = ["good rates", "tuned rate", "hand-picked rate (settings.<name>.lr)", "grid ends"]
    figure.legend(handles, labels, loc="outside lower center", ncols=4,
                  fontsize=LEGEND_FONT_SIZE, frameon=False)  # fmt: skip
    return figure


def budgets(table: pd.DataFrame, chance: float, max_columns: int = 4) -> Figure:
    """Test accuracy against training budget at the tuned rates: one panel per setting.

    Args:
        table: ``budgets.budget_table``: per setting (params order) and budget the mean
            test accuracy over the evaluation seeds, its 95 % interval and the change
            from the full run.
        chance: Accuracy of guessing: a dashed line if the axis reaches down to it.
        max_columns: Widest panel grid.

    Returns:
        A panel grid sharing both axes (budget as a fraction of the setting's epochs,
        linear, ticks at the budgets): in each, the other settings' means in light grey,
        the setting's own mean in its colour with its interval band, and the change from
        the full run at the smallest budget, with its paired 95 % interval, in its title.
    """
    names = list(dict.fromkeys(table["setting"]))
    styles = setting_styles(names)
    shape = grid_shape(len(names), max_columns)
    width = 3.3 * shape[1]
    figure = Figure(figsize=(width, 1.2 + 2.6 * shape[0]), layout="constrained")
    axes = figure.subplots(*shape, sharex=True, sharey=True, squeeze=False).ravel()
    by_setting = {name: table[table["setting"] == name].sort_values("budget") for name in names}
    smallest = float(table["budget"].min())
    for axis, name in zip(axes, names, strict=False):
        for other in names:
            if other != name:
                rows = by_setting[other]
                axis.plot(rows["budget"], finite_values(rows["test_accuracy"]),
                          color="0.82", linewidth=0.9)  # fmt: skip
        own, style = by_setting[name], styles[name]
        axis.fill_between(own["budget"], own["test_accuracy_low"], own["test_accuracy_high"],
                          color=style.color, alpha=0.25, lw=0)  # fmt: skip
        axis.plot(own["budget"], finite_values(own["test_accuracy"]), color=style.color,
                  marker="o", ms=4, linewidth=2)  # fmt: skip
        axis.set_title(_budget_title(name, own, smallest), fontsize=9.5)
        axis.tick_params(labelbottom=True)
    for axis in axes[len(names) :]:
        axis.set_visible(False)
    budgets_run = sorted(set(table["budget"]))
    axes[0].set_xticks(budgets_run, [f"{b:g}" for b in budgets_run])
    axes[0].set_xlim(max(0.0, smallest - 0.08), 1.04)
    low = float(np.nanmin(table[["test_accuracy_low", "test_accuracy"]].to_numpy(float)))
    if low - 0.03 <= chance:
        for axis in axes[: len(names)]:
            axis.axhline(chance, color="grey", linestyle="--", linewidth=1)
    axes[0].set_ylim(min(low, 1.0) - 0.01, 1.005)
    for axis in axes[max(0, len(names) - shape[1]) : len(names)]:  # each column's lowest
        axis.set_xlabel("budget (fraction of the run's epochs)")
    for axis in axes[:: shape[1]]:
        axis.set_ylabel("test accuracy")
    figure.suptitle(
        "Test accuracy against training budget, each setting at its tuned rate with its "
        "schedule's horizon set to the budget"
    )
    handles = [
        Line2D([], [], color="tab:blue", marker="o", ms=4, linewidth=2),
        Patch(color="tab:blue", alpha=0.25),
        Line2D([], [], color="0.82"),
    ]
    labels = [
        "mean over the evaluation seeds",
        "95 % interval of the mean",
        "the other settings' means",
    ]
    bottom_legend(figure, handles, labels, width)
    return figure


def _budget_title(name: str, own: pd.DataFrame, smallest: float) -> str:
    """``wsd`` over ``0.25 vs 1: -0.200 [-0.220, -0.179]``: the change at the smallest budget."""
    if smallest >= 1:
        return name
    row = own[own["budget"] == smallest].iloc[0]
    if not np.isfinite(row["change"]):
        return name
    interval = ""
    if np.isfinite(row["change_low"]) and np.isfinite(row["change_high"]):
        interval = f" [{row['change_low']:+.3f}, {row['change_high']:+.3f}]"
    return f"{name}\n{smallest:g} vs 1: {row['change']:+.3f}{interval}"
