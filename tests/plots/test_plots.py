"""The figures' content: panels, scales, labels, one line per setting, bands, NaN runs."""

from __future__ import annotations

import io
import struct

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lrstudy import plots
from lrstudy.report.curves import (
    averaging_weight_curves,
    epoch_summary,
    learning_rate_curves,
    long_history,
)


def history(epochs: int, start: float, rate: float, lr: float | list[float]) -> pd.DataFrame:
    """A plausible per-epoch history: loss decays from ``start``, accuracy rises."""
    t = np.arange(epochs, dtype=float)
    loss = start * np.exp(-rate * t) + 0.05
    return pd.DataFrame(
        {
            "epoch": t.astype(int) + 1,
            "loss": loss,
            "accuracy": 1 - loss / 2,
            "val_loss": loss * 1.1,
            "val_accuracy": 1 - loss / 1.8,
            "learning_rate": np.broadcast_to(np.asarray(lr, dtype=float), (epochs,)).copy(),
        }
    )


def histories(names: list[str], seeds: int, epochs: int = 12) -> dict[str, dict[int, pd.DataFrame]]:
    return {
        name: {
            seed: history(epochs, 0.7 + 0.02 * seed, 0.1 + 0.05 * index, 10.0 ** -(index % 4 + 1))
            for seed in range(seeds)
        }
        for index, name in enumerate(names)
    }


def render(figure: Figure) -> bytes:
    """Draw the figure completely (as saving does) and return the PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def setting_lines(panel, color) -> list[Line2D]:
    """Lines of one setting's colour that carry data (not the legend, not markers)."""
    return [
        line
        for line in panel.get_lines()
        if to_rgba(line.get_color()) == to_rgba(color) and line.get_linestyle() != "None"
    ]


NAMES = ["lr_large", "lr_small", "lr_medium", "plateau"]


# --- styles and layout ---


def test_the_41st_setting_no_longer_takes_the_1sts_style_and_80_are_distinct() -> None:
    """Issue 21: the 41st setting silently got the 1st one's colour and style."""
    names = [f"s{index}" for index in range(80)]
    styles = plots.setting_styles(names)
    assert len({(style.color, str(style.linestyle)) for style in styles.values()}) == 80
    assert len({(style.color, style.marker) for style in styles.values()}) == 80
    assert styles["s40"].color == styles["s0"].color
    assert (styles["s40"].linestyle, styles["s40"].marker) != ("-", "o")
    # The first 40 keep the styles they always had (committed figures do not change).
    assert [
        (styles[f"s{block * 10}"].linestyle, styles[f"s{block * 10}"].marker) for block in range(4)
    ] == [
        ("-", "o"),
        ("--", "s"),
        (":", "^"),
        ("-.", "D"),
    ]


def test_beyond_80_settings_styles_repeat_and_a_warning_says_so() -> None:
    names = [f"s{index}" for index in range(81)]
    with pytest.warns(UserWarning, match=r"setting 81 \(s80\) and those after it repeat"):
        styles = plots.setting_styles(names)
    assert styles["s80"] == styles["s0"]


def test_a_41st_setting_draws_its_own_line_style_in_the_learning_curves() -> None:
    names = [f"s{index}" for index in range(41)]
    summary = epoch_summary(long_history(histories(names, seeds=1, epochs=3)))
    figure = plots.learning_curves(summary, names)
    color = plots.setting_styles(names)["s0"].color
    # tab10's first colour: s0, s10, s20, s30 and s40, each with its own dashes (matplotlib
    # has no public getter of a line's dash pattern)
    patterns = {
        (line.get_linestyle(), str(line._unscaled_dash_pattern))
        for line in setting_lines(figure.axes[0], color)
    }
    assert len(patterns) == 5
    render(figure)


def test_setting_styles_are_distinct_for_many_settings() -> None:
    names = [f"s{index}" for index in range(25)]
    styles = plots.setting_styles(names)
    assert len({(style.color, style.linestyle) for style in styles.values()}) == 25
    assert styles["s0"].linestyle == "-" and styles["s10"].linestyle == "--"
    # Dots have no line style: colour and marker tell every setting apart.
    assert len({(style.color, style.marker) for style in styles.values()}) == 25
    assert styles["s0"].marker == "o" and styles["s10"].marker == "s"
    assert plots.setting_styles(names[:3]) == {name: styles[name] for name in names[:3]}


@pytest.mark.parametrize(
    ("count", "shape"),
    [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (4, (2, 2)), (5, (2, 3)), (10, (3, 4)), (17, (5, 4))],
)
def test_grid_shape_is_near_square_and_fits(count: int, shape: tuple[int, int]) -> None:
    rows, columns = plots.grid_shape(count)
    assert (rows, columns) == shape
    assert rows * columns >= count > (rows - 1) * columns


def test_legend_columns_wrap_long_legends() -> None:
    short = plots.legend_columns(["a", "b", "c"], 10, 9)
    assert short == 3
    many = plots.legend_columns([f"cosine_restarts_{index}" for index in range(12)], 10, 9)
    assert 1 < many < 12
    rows = -(-12 // many)
    assert -(-12 // rows) == many  # balanced: no row shorter than needed


# --- decision boundaries ---


def boundaries(count: int, nan_first: bool = False) -> Figure:
    axis = np.linspace(-1.5, 1.5, 15)
    first, second = np.meshgrid(axis, axis, indexing="ij")
    grid = 1 / (1 + np.exp(-(np.hypot(first, second) - 0.5) * 8))
    probabilities = {f"setting_{index}": grid.copy() for index in range(count)}
    if nan_first:
        probabilities["setting_0"][:] = np.nan
    titles = {name: f"{name}\ntest acc 0.9{index}" for index, name in enumerate(probabilities)}
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, size=(30, 2))
    labels = (np.hypot(points[:, 0], points[:, 1]) > 0.5).astype(int)
    return plots.decision_boundaries(axis, probabilities, titles, points, labels)


@pytest.mark.parametrize("count", [1, 4, 10])
def test_decision_boundaries_has_one_panel_per_setting(count: int) -> None:
    figure = boundaries(count)
    panels = [axes for axes in figure.axes if axes.get_visible() and axes.get_title()]
    assert len(panels) == count
    assert [panel.get_title() for panel in panels] == [
        f"setting_{index}\ntest acc 0.9{index}" for index in range(count)
    ]
    for panel in panels:
        assert panel.collections, "a contour and the points"
        assert (panel.get_xlim(), panel.get_ylim()) == ((-1.5, 1.5), (-1.5, 1.5))
    colorbars = [axes for axes in figure.axes if "P(y = 1)" in axes.get_ylabel()]
    assert len(colorbars) == 1
    render(figure)


def test_decision_boundaries_draw_the_half_line_above_small_translucent_points() -> None:
    """Issue 21: 600 test points hid the boundary; it is now a line drawn over them."""
    figure = boundaries(2)
    panels = [axes for axes in figure.axes if axes.get_visible() and axes.get_title()]
    for panel in panels:
        (points,) = [item for item in panel.collections if isinstance(item, PathCollection)]
        (line,) = [
            item for item in panel.collections if isinstance(item, ContourSet) and not item.filled
        ]
        assert list(line.levels) == [0.5]
        assert line.get_zorder() > points.get_zorder()
        # P(y = 1) = 1 / (1 + exp(-8 (r - 0.5))) is 0.5 on the circle r = 0.5
        vertices = np.concatenate([path.vertices for path in line.get_paths()])
        assert np.abs(np.hypot(vertices[:, 0], vertices[:, 1]) - 0.5).max() < 0.03
        assert max(points.get_sizes()) <= 5 and points.get_alpha() < 1
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "test point of class 0",
        "test point of class 1",
        "decision boundary: $P(y = 1) = 0.5$",
    ]
    render(figure)


def test_decision_boundaries_draw_no_half_line_where_the_model_never_crosses_it() -> None:
    axis = np.linspace(-1.5, 1.5, 15)
    sure = np.full((15, 15), 0.9)  # one class everywhere (a collapsed seed)
    figure = plots.decision_boundaries(axis, {"sure": sure}, {}, np.zeros((3, 2)), np.ones(3))
    (panel,) = [axes for axes in figure.axes if axes.get_visible() and axes.get_title()]
    assert [item.filled for item in panel.collections if isinstance(item, ContourSet)] == [True]
    render(figure)


def test_decision_boundaries_label_the_lowest_panel_of_every_column() -> None:
    figure = boundaries(10)  # 3 rows x 4 columns, two empty slots in the last row
    panels = [axes for axes in figure.axes if axes.get_visible() and axes.get_title()]
    render(figure)
    labelled = [index for index, panel in enumerate(panels) if panel.get_xlabel()]
    assert labelled == [6, 7, 8, 9]  # above the two empty slots, and the last row
    for index in labelled:
        assert any(label.get_visible() for label in panels[index].get_xticklabels())
    assert [index for index, panel in enumerate(panels) if panel.get_ylabel()] == [0, 4, 8]


def test_decision_boundaries_draw_a_nan_grid() -> None:
    figure = boundaries(2, nan_first=True)
    panels = [axes for axes in figure.axes if axes.get_visible() and axes.get_title()]
    filled = [
        [index for index, path in enumerate(panel.collections[0].get_paths()) if len(path)]
        for panel in panels
    ]
    # The NaN grid is drawn as undecided: only the band 0.48-0.52 (the 13th of 25) is
    # filled; the finite grid fills every band.
    assert filled == [[12], list(range(25))]
    render(figure)


def test_decision_boundaries_for_three_classes_colour_the_predicted_class() -> None:
    axis = np.linspace(-1.5, 1.5, 15)
    first, second = np.meshgrid(axis, axis, indexing="ij")
    radius = np.hypot(first, second)
    # Class 0 inside r < 0.5, class 1 for 0.5 < r < 1, class 2 outside.
    predicted = np.digitize(radius, [0.5, 1.0])
    probabilities = np.eye(3)[predicted] * 0.8 + 0.2 / 3
    diverged = np.full_like(probabilities, np.nan)
    rng = np.random.default_rng(0)
    points = rng.uniform(-1.4, 1.4, size=(40, 3))  # a third feature: a slice is drawn
    labels = np.digitize(np.hypot(points[:, 0], points[:, 1]), [0.5, 1.0])
    figure = plots.decision_boundaries(
        axis, {"good": probabilities, "diverged": diverged}, {}, points, labels
    )
    panels = [axes for axes in figure.axes if axes.get_visible() and axes.get_title()]
    filled = [
        [index for index, path in enumerate(panel.collections[0].get_paths()) if len(path)]
        for panel in panels
    ]
    assert filled == [[0, 1, 2], []]  # every class region; nothing for the NaN grid
    assert not [axes for axes in figure.axes if "P(y = 1)" in axes.get_ylabel()]
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == ["class 0", "class 1", "class 2"]
    assert "$x_2$ = 0" in figure.get_suptitle()
    render(figure)


def test_decision_boundaries_explain_their_absence_for_one_feature() -> None:
    figure = plots.decision_boundaries(
        np.linspace(-1, 1, 5), {"a": np.zeros((0, 0))}, {}, np.zeros((4, 1)), np.zeros(4)
    )
    texts = [text.get_text() for axes in figure.axes for text in axes.texts]
    assert any("1 feature" in text and "at least 2" in text for text in texts)
    render(figure)


# --- learning curves ---


def test_learning_curves_panels_scales_labels_and_one_line_per_setting() -> None:
    summary = epoch_summary(long_history(histories(NAMES, seeds=3)))
    figure = plots.learning_curves(summary, NAMES)
    panels = figure.axes
    assert [panel.get_title() for panel in panels] == [
        "training loss",
        "validation loss",
        "training accuracy",
        "validation accuracy",
    ]
    assert [panel.get_yscale() for panel in panels] == ["log", "log", "linear", "linear"]
    assert "loss" in panels[0].get_ylabel() and "log" in panels[0].get_ylabel()
    assert "accuracy" in panels[2].get_ylabel()
    assert panels[2].get_xlabel() == panels[3].get_xlabel() == "epoch"
    styles = plots.setting_styles(NAMES)
    for panel in panels:
        for name in NAMES:
            lines = setting_lines(panel, styles[name].color)
            assert len(lines) == 1
            assert list(lines[0].get_xdata()) == list(range(1, 13))
    for panel in panels[2:]:  # chance level on the accuracy panels
        assert any(list(line.get_ydata()) == [0.5, 0.5] for line in panel.get_lines())
    legend = figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == NAMES
    render(figure)


def test_learning_curves_bands_when_seeds_exceed_one() -> None:
    several = plots.learning_curves(epoch_summary(long_history(histories(NAMES, 3))), NAMES)
    for panel in several.axes:
        bands = [item for item in panel.collections if isinstance(item, PolyCollection)]
        assert len(bands) == len(NAMES)
    assert "min–max" in several.get_suptitle()
    single = plots.learning_curves(epoch_summary(long_history(histories(NAMES, 1))), NAMES)
    for panel in single.axes:
        assert not [item for item in panel.collections if isinstance(item, PolyCollection)]
    assert "min–max" not in single.get_suptitle()


def test_learning_curves_with_nan_and_inf_history_render_and_mark_divergence() -> None:
    runs = histories(["stable", "diverging"], seeds=2)
    broken = runs["diverging"][0]
    broken.loc[5:, ["loss", "val_loss"]] = np.nan
    broken.loc[4, "loss"] = np.inf
    runs["diverging"][1].loc[:, ["loss", "val_loss"]] = np.nan  # every epoch non-finite
    summary = epoch_summary(long_history(runs))
    figure = plots.learning_curves(summary, ["stable", "diverging"])
    render(figure)
    color = plots.setting_styles(["stable", "diverging"])["diverging"].color
    crosses = [
        line
        for line in figure.axes[0].get_lines()
        if line.get_marker() == "x" and to_rgba(line.get_color()) == to_rgba(color)
    ]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [1.0]
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels[-1].startswith("seed diverged")
    low, high = figure.axes[0].get_ylim()
    assert np.isfinite([low, high]).all() and low > 0


def test_learning_curves_cap_an_exploding_loss() -> None:
    runs = histories(["stable", "exploding"], seeds=1)
    runs["exploding"][0]["loss"] = np.geomspace(0.7, 1e9, 12)
    figure = plots.learning_curves(epoch_summary(long_history(runs)), ["stable", "exploding"])
    _, high = figure.axes[0].get_ylim()
    assert high < 100  # the stable run stays readable; the exploding one leaves the top
    render(figure)


def test_learning_curves_stay_readable_with_twelve_settings() -> None:
    names = [f"schedule_{index:02d}" for index in range(12)]
    figure = plots.learning_curves(epoch_summary(long_history(histories(names, 2))), names)
    legend = figure.legends[0]
    assert len(legend.get_texts()) == 12
    assert 1 < legend._ncols < 12  # wrapped over several rows, not one long line
    styles = plots.setting_styles(names)
    for name in names:
        assert len(setting_lines(figure.axes[0], styles[name].color)) >= 1
    render(figure)


# --- learning rate ---


def rate_curves(names: list[str], seeds: int = 2) -> pd.DataFrame:
    runs = histories(names, seeds)
    if "plateau" in runs:  # seeds cut the rate at different epochs
        for seed, frame in runs["plateau"].items():
            frame["learning_rate"] = 0.05 * 0.5 ** ((frame["epoch"] + 3 * seed) // 5)
    return learning_rate_curves(runs)


def test_learning_rates_log_scale_labels_and_one_line_per_setting() -> None:
    figure = plots.learning_rates(rate_curves(NAMES), NAMES)
    (axis,) = figure.axes
    assert axis.get_yscale() == "log"
    assert "learning rate" in axis.get_ylabel() and "epoch" in axis.get_xlabel()
    styles = plots.setting_styles(NAMES)
    for name in NAMES:
        lines = setting_lines(axis, styles[name].color)
        assert len(lines) == (2 if name == "plateau" else 1)  # per seed where seeds differ
        assert min(lines[0].get_xdata()) == 0 and max(lines[0].get_xdata()) == 12
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == ["lr_large", "lr_small", "lr_medium", "plateau (per seed)"]
    render(figure)


def test_learning_rates_draw_per_step_curves() -> None:
    runs = histories(["cosine"], seeds=2)
    steps = np.arange(12 * 10)
    per_step = pd.DataFrame(
        {
            "step": steps,
            "epoch_fraction": steps / 10,
            "learning_rate": 0.01 * (1 + np.cos(np.pi * steps / steps.size)) / 2 + 1e-5,
        }
    )
    curves = learning_rate_curves(runs, {"cosine": {0: per_step, 1: per_step}})
    figure = plots.learning_rates(curves, ["cosine"])
    (line,) = figure.axes[0].get_lines()
    x = np.asarray(line.get_xdata())
    assert len(x) > 10 and np.any(x % 1 != 0)  # points inside epochs
    render(figure)


def test_learning_rates_label_prodigys_d_lr_and_show_schedule_free_weights_below() -> None:
    runs = histories(["schedule_free", "prodigy", "adam"], seeds=2)
    for seed, frame in runs["prodigy"].items():
        frame["effective_lr"] = np.geomspace(1e-6, 1e-2, 12) * (1 + seed)
    for frame in runs["schedule_free"].values():
        frame["averaging_weight"] = 1 / (10 * frame["epoch"])
    names = list(runs)
    averaging = averaging_weight_curves(runs)
    figure = plots.learning_rates(learning_rate_curves(runs), names, ["prodigy"], averaging)
    rates, weights = figure.axes
    assert "d·lr" in rates.get_ylabel() and weights.get_yscale() == "log"
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == ["schedule_free", "prodigy (median d·lr)", "adam"]
    styles = plots.setting_styles(names)
    *seeds, median = setting_lines(rates, styles["prodigy"].color)  # one per seed, the median
    assert len(seeds) == 2 and all(line.get_alpha() < 0.5 for line in seeds)
    # The median of the two seeds' d·lr (v and 2v) on a log axis: their geometric mean
    # (each a straight line on it, kept as its two ends).
    assert list(median.get_xdata()) == [1.0, 12.0]
    np.testing.assert_allclose(median.get_ydata(), [2**0.5 * 1e-6, 2**0.5 * 1e-2])
    (weight,) = setting_lines(weights, styles["schedule_free"].color)
    assert list(weight.get_xdata()) == list(range(1, 13))
    assert "1/t" in weights.get_title() and "epoch" in weights.get_xlabel()
    assert not setting_lines(weights, styles["adam"].color)
    render(figure)


def test_learning_rates_survive_nan_rates() -> None:
    runs = histories(["broken"], seeds=1)
    runs["broken"][0].loc[3:, "learning_rate"] = np.nan
    figure = plots.learning_rates(learning_rate_curves(runs), ["broken"])
    (line,) = [line for line in figure.axes[0].get_lines() if line.get_label() != "_nolegend_"]
    # Epochs 1-3 (x 0-3) are drawn; from the first NaN on there is nothing to draw.
    assert list(line.get_xdata()) == [0.0, 3.0]
    assert list(line.get_ydata()) == [0.1, 0.1]
    render(figure)


# --- test accuracy ---


def test_test_accuracy_marks_the_best_on_validation_and_says_how_it_is_sorted() -> None:
    # The best on validation accuracy need not have the highest test mean.
    per_seed = {"top_on_test": [0.99, 0.98], "best_on_val": [0.95, 0.96], "other": [0.9, 0.91]}
    figure = plots.test_accuracy(per_seed, best="best_on_val")
    axis = figure.axes[0]
    labels = {label.get_text(): label.get_fontweight() for label in axis.get_yticklabels()}
    assert list(labels) == ["top_on_test", "best_on_val", "other"]  # still by test mean
    assert labels == {"top_on_test": "normal", "best_on_val": "bold", "other": "normal"}
    assert "sorted by mean test accuracy" in axis.get_title()
    assert "bold: the best on validation accuracy" in axis.get_title()
    unmarked = plots.test_accuracy(per_seed).axes[0]
    assert "bold" not in unmarked.get_title()
    assert {label.get_fontweight() for label in unmarked.get_yticklabels()} == {"normal"}
    render(figure)


def test_test_accuracy_sorted_with_chance_dots_and_spread() -> None:
    per_seed = {
        "lr_large": [0.80, 0.95, 0.90],
        "lr_small": [0.50, 0.52, 0.49],
        "lr_medium": [0.98, 0.99, 0.985],
        "broken": [None, 0.7, float("nan")],
    }
    figure = plots.test_accuracy(per_seed)
    axis = figure.axes[0]
    order = [label.get_text() for label in axis.get_yticklabels()]
    assert order == ["lr_medium", "lr_large", "broken", "lr_small"]
    assert axis.get_xlabel() == "test accuracy"
    chance = [line for line in axis.get_lines() if list(line.get_xdata()) == [0.5, 0.5]]
    assert len(chance) == 1
    dots = [item for item in axis.collections if item.get_offsets().shape[0] > 0]
    dots = [item for item in dots if not isinstance(item, PolyCollection)]
    counts = sorted(item.get_offsets().shape[0] for item in dots)
    assert counts[-4:] == [2, 3, 3, 3]  # every seed with a value is a dot; 2 crosses
    right = next(child for child in axis.child_axes)
    texts = [label.get_text() for label in right.get_yticklabels()]
    # 0.98, 0.99, 0.985: mean 0.985, se = 0.005 / sqrt(3), t(0.975, 2) = 4.302653; on the
    # logit scale ln(0.985 / 0.015) = 4.184591 -/+ 4.302653 * 0.0028868 / 0.014775 =
    # 0.840656, back through expit: 0.965906, 0.993473 (the plain t: 0.973 to 0.997)
    assert texts[0] == "0.985 [0.966, 0.993]"
    assert texts[2] == "0.700 [n/a (1 seed)], 2 diverged"
    whiskers = [item for item in axis.collections if isinstance(item, LineCollection)]
    segments = [segment for item in whiskers for segment in item.get_segments()]
    assert any(np.allclose(seg[:, 0], [0.965906, 0.993473], atol=1e-6) for seg in segments)
    crosses = [item for item in dots if item.get_offsets().shape[0] == 2]
    assert len(crosses) == 1  # the two diverged seeds of "broken", on its row
    np.testing.assert_allclose(crosses[0].get_offsets()[:, 1], [2 - 0.2, 2 + 0.2])
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == [
        "one seed",
        "mean, whisker: 95 % CI of the mean",
        "chance (0.5)",
        "seed diverged (no accuracy)",
    ]
    render(figure)


def test_test_accuracy_whiskers_stay_inside_0_1_and_always_end_in_caps() -> None:
    # Two seeds 0.45 and 0.65: the plain t-interval is 0.55 -/+ 12.7062 * 0.1 = -0.721 to
    # 1.821; the bounded one expit(0.200671 -/+ 12.7062 * 0.1 / 0.2475) = 0.007152 to
    # 0.995201, drawn whole, so both of its ends get a cap (no interval is ever cut).
    figure = plots.test_accuracy({"two": [0.45, 0.65], "three": [0.97, 0.99, 1.0]})
    axis = figure.axes[0]
    whiskers = [item for item in axis.collections if isinstance(item, LineCollection)]
    ends = [seg[:, 0] for item in whiskers for seg in item.get_segments()]
    assert any(np.allclose(end, [0.007152, 0.995201], atol=1e-6) for end in ends)
    assert all(0.0 < value < 1.0 for end in ends for value in end)
    # each errorbar container: (mean marker, its caps, its whisker)
    caps = {
        round(float(bar[2][0].get_segments()[0][0, 0]), 6): sorted(
            round(float(cap.get_xdata()[0]), 6) for cap in bar[1]
        )
        for bar in axis.containers
    }
    assert caps[0.007152] == [0.007152, 0.995201]
    assert all(len(ends) == 2 for ends in caps.values()) and len(caps) == 2
    render(figure)


def test_test_accuracy_with_no_results_at_all() -> None:
    figure = plots.test_accuracy({"a": [None, None], "b": [0.9]})
    axis = figure.axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == ["b", "a"]
    assert len([panel for panel in figure.axes if panel.get_xlabel()]) == 1  # no zoom
    right = axis.child_axes[0]
    assert [label.get_text() for label in right.get_yticklabels()] == [
        "0.900 [n/a (1 seed)]",
        "n/a, 2 diverged",
    ]
    render(figure)


# --- saving ---


def png_chunks(data: bytes) -> list[bytes]:
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return chunks


def test_save_figure_is_deterministic_without_metadata_and_closes(tmp_path) -> None:
    summary = epoch_summary(long_history(histories(NAMES, 2)))
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    figure = plots.learning_curves(summary, NAMES)
    plots.save_figure(figure, first)
    assert not figure.axes  # closed: nothing left to draw
    plots.save_figure(plots.learning_curves(summary, NAMES), second)
    assert first.read_bytes() == second.read_bytes()
    chunks = png_chunks(first.read_bytes())
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(chunks)
    assert plt.get_fignums() == []  # figures never go through pyplot
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.png", "b.png"]


def test_test_accuracy_whiskers_stay_inside_the_axis() -> None:
    figure = plots.test_accuracy({"wild": [0.5, 0.92], "steady": [0.99, 0.991]})
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    for line in axis.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        if line.get_linestyle() != "--":
            assert low <= x.min() and x.max() <= high
    render(figure)


def test_test_accuracy_zooms_in_on_settings_crowded_near_the_top() -> None:
    per_seed = {
        "a": [0.990, 0.991, 0.989],
        "b": [0.985, 0.987, 0.986],
        "small": [0.50, 0.52, 0.49],
    }
    figure = plots.test_accuracy(per_seed)
    panels = [panel for panel in figure.axes if panel.get_xlabel() == "test accuracy"]
    assert len(panels) == 2
    full, zoom = panels
    assert full.get_xlim()[0] < 0.5 < 0.99 < full.get_xlim()[1]
    low, high = zoom.get_xlim()
    # both near-top settings' dots and intervals fit; the full range does not
    assert low < 0.985 and high > 0.991 and high - low < 0.05
    assert "zoom" in zoom.get_title()
    render(figure)
    spread_out = plots.test_accuracy({"a": [0.9, 0.95], "b": [0.6, 0.7]})
    assert len([panel for panel in spread_out.axes if panel.get_xlabel()]) == 1
    render(spread_out)
