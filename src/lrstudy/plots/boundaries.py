"""The decision-boundary figure: each setting's predictions over the grid, one panel each."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lrstudy.plots.style import LEGEND_FONT_SIZE, finite_values, grid_shape

# The test points' colours by true class (two classes): the ends of RdBu, the colour map
# of P(y = 1), so a point sits on the colour of its class where the model is right.
POINT_COLORS = mpl.colors.ListedColormap([mpl.colormaps["RdBu"](0.0), mpl.colormaps["RdBu"](1.0)])
# The P(y = 1) shading: RdBu mixed 45 % with white, so dark points of either class show
# on it (opaque, unlike an alpha, which leaves seams between the filled levels).
SHADING = mpl.colors.ListedColormap(
    0.55 * mpl.colormaps["RdBu"](np.linspace(0, 1, 256))[:, :3] + 0.45, name="RdBu_light"
)


def decision_boundaries(
    axis: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    points_x: np.ndarray,
    points_y: np.ndarray,
) -> Figure:
    """Each setting's decision boundary on the grid, one panel per setting.

    Two classes: the notebook's filled contour of P(y=1) (RdBu, 25 levels, lightened) with
    one colour bar, and the decision boundary P(y=1) = 0.5 as a black line drawn above the
    test points, which are small translucent dots (600 of them covered the inner class,
    and the boundary with it); a legend names the points and the line.
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
        return _no_boundary_figure(n_features)
    rows, columns = grid_shape(max(len(names), 1))
    # At least 6.4 inches wide, so the title and the class legend fit over one panel.
    width = max(3.1 * columns + 1.2, 6.4)
    figure = Figure(figsize=(width, 3.2 * rows + 0.9), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    grid_points = np.meshgrid(axis, axis, indexing="ij")
    n_classes = max(
        [int(np.max(points_y)) + 1 if len(points_y) else 2]
        + [np.shape(grid)[2] for grid in probabilities.values() if np.ndim(grid) == 3]
    )
    class_colors = mpl.colormaps["tab10" if n_classes <= 10 else "tab20"].colors[:n_classes]
    class_cmap = mpl.colors.ListedColormap(class_colors)
    contour = None
    for index, (panel, name) in enumerate(zip(axes.flat, names, strict=False)):
        contour = _draw_boundary(
            panel, grid_points, probabilities[name], points_x, points_y, n_classes, class_cmap
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
    _boundary_key(figure, axes, contour, class_colors, n_classes, rows)
    title = "Decision boundary of each setting, over the test points"
    if n_features > 2:
        others = ", ".join(f"$x_{index}$" for index in range(2, n_features))
        title += f"\nslice at {others} = 0; test points projected onto ($x_0$, $x_1$)"
    figure.suptitle(title)
    return figure


def _no_boundary_figure(n_features: int) -> Figure:
    """A figure that says why there is no boundary to draw (fewer than 2 features)."""
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


def _draw_boundary(
    panel: Axes,
    grid_points: list[np.ndarray],
    probabilities: np.ndarray,
    points_x: np.ndarray,
    points_y: np.ndarray,
    n_classes: int,
    class_cmap: Colormap,
) -> QuadContourSet | None:
    """One setting's regions (k > 2 classes) or P(y=1) contour, the points, the 0.5 line.

    Returns:
        The P(y=1) contour set (for the colour bar) with two classes, else ``None``.
    """
    first, second = grid_points
    grid = finite_values(probabilities)
    contour = None
    if n_classes > 2:
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
        contour = panel.contourf(first, second, grid, levels=np.linspace(0, 1, 26), cmap=SHADING)
        colors = dict(c=points_y, cmap=POINT_COLORS, vmin=0, vmax=1)
    # Small, translucent points, so the regions and the boundary stay visible through them.
    panel.scatter(points_x[:, 0], points_x[:, 1], s=5, alpha=0.7, linewidths=0, zorder=2, **colors)
    if n_classes == 2 and np.ptp(grid) > 0 and grid.min() < 0.5 < grid.max():
        # The boundary itself, P(y = 1) = 0.5, drawn above the points.
        panel.contour(first, second, grid, levels=[0.5], colors="black", linewidths=1.4, zorder=3)
    return contour


def _boundary_key(
    figure: Figure,
    axes: np.ndarray,
    contour: QuadContourSet | None,
    class_colors: tuple[tuple[float, float, float], ...],
    n_classes: int,
    rows: int,
) -> None:
    """The class legend (k > 2 classes) or the P(y=1) colour bar (two classes)."""
    if n_classes > 2:
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
        bar.set_label("shaded: the model's $P(y = 1)$")
        bar.set_ticks([0, 0.25, 0.5, 0.75, 1])
        handles = [
            Line2D([], [], marker="o", linestyle="", markersize=4, color=POINT_COLORS(label))
            for label in (0, 1)
        ]
        handles.append(Line2D([], [], color="black", linewidth=1.4))
        figure.legend(
            handles,
            [
                "test point of class 0",
                "test point of class 1",
                "decision boundary: $P(y = 1) = 0.5$",
            ],
            loc="outside lower center",
            ncols=3,
            fontsize=LEGEND_FONT_SIZE,
            frameon=False,
        )
