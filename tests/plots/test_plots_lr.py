"""The LR sweep and range-test figures: log rate axis, marks, the edge warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D

from lrstudy import plots
from lrstudy.sweep import curve, edge_warning, log_grid, summary


def sweep_results(max_lr: float) -> pd.DataFrame:
    """Three seeds per rate; accuracy peaks at 1e-2 (0.5 far from it)."""
    rows = []
    for rate in log_grid(1e-5, max_lr, 3):
        peak = 0.5 + 0.46 * np.exp(-(((np.log10(rate) + 2) / 1.2) ** 2))
        for seed in range(3):
            value = peak + 0.01 * (seed - 1)
            rows.append(
                {
                    "lr": rate,
                    "seed": seed,
                    "val_accuracy": value,
                    "test_accuracy": value - 0.005,
                    "diverged": False,
                }
            )
    return pd.DataFrame(rows)


def texts(figure) -> str:
    return "\n".join(
        [text.get_text() for axis in figure.axes for text in axis.texts]
        + [axis.get_title() for axis in figure.axes]
        + [figure._suptitle.get_text() if figure._suptitle else ""]
    )


def draw_sweep(max_lr: float, marks: dict[str, float]):
    results = sweep_results(max_lr)
    per_rate = curve(results)
    result = summary(per_rate)
    return plots.lr_sweep(per_rate, results, result, marks, edge_warning(result)), result


def test_sweep_figure_default_grid_has_no_warning_and_marks_the_settings() -> None:
    figure, result = draw_sweep(1.0, {"lr_medium": 0.005, "lr_large": 0.5, "far": 100.0})
    (axis,) = figure.axes
    assert axis.get_xscale() == "log"
    assert result["best_lr"] == pytest.approx(1e-2) and not result["at_edge"]
    assert "warning" not in texts(figure)
    assert "16 rates × 3 seeds" in axis.get_title()
    # Settings inside the grid are marked on the curve; one outside it is not.
    labels = [text.get_text() for text in axis.texts]
    assert "lr_medium (0.005)" in labels and "lr_large (0.5)" in labels
    assert not any(label.startswith("far") for label in labels)
    diamonds = [line for line in axis.lines if line.get_marker() == "D"]
    assert len(diamonds) == 2
    # Chance, and the best rate as a vertical line at 1e-2.
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in axis.lines)
    assert any(list(line.get_xdata()) == [result["best_lr"]] * 2 for line in axis.lines)
    plots.close(figure)


def test_sweep_figure_warns_when_the_best_is_at_the_edge() -> None:
    figure, result = draw_sweep(1e-3, {})
    assert result["edge"] == "high"
    assert "warning: best rate 0.001 is the highest rate of the grid" in texts(figure)
    plots.close(figure)


def test_range_test_figure_one_line_per_seed_and_each_suggestion_marked() -> None:
    rates = np.geomspace(1e-6, 1.0, 40)
    curves = pd.concat(
        pd.DataFrame(
            {"seed": seed, "lr": rates, "smoothed_loss": 0.7 - 0.2 / (1 + (1e-2 / rates) ** 2)}
        )
        for seed in (0, 1)
    )
    per_seed = {0: {"minimum": 1e-2, "steep": 3e-3, "valley": 5e-3}, 1: {"minimum": None}}
    medians = {"minimum": 1e-2, "steep": 3e-3, "valley": None}
    figure = plots.lr_range_test(curves, per_seed, medians)
    (axis,) = figure.axes
    assert axis.get_xscale() == "log"
    seed_lines = [line for line in axis.lines if line.get_label().startswith("seed ")]
    assert [line.get_label() for line in seed_lines] == ["seed 0", "seed 1"]
    assert {line.get_color() for line in seed_lines} == {"grey"}  # seeds recede
    (median,) = [line for line in axis.lines if line.get_label() == "median"]
    assert np.allclose(median.get_ydata(), curves[curves["seed"] == 0]["smoothed_loss"])
    # One legend entry for all seeds, however many, then the median and the suggestions.
    (legend,) = figure.legends
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == ["one seed (2 in all)", "median loss over seeds", "minimum", "steep", "valley"]
    markers = [line.get_marker() for line in axis.lines if isinstance(line, Line2D)]
    assert sorted(m for m in markers if m in ("v", "s", "o")) == ["o", "s", "v"]
    labels = [text.get_text() for text in axis.texts]
    assert labels == ["minimum: 0.01", "steep: 0.003"]  # no line for a missing median
    plots.close(figure)
