"""What every figure shares: setting styles, panel grids, legends, log-rate axes, saving.

A setting keeps the same colour, line style and dot marker in every figure
(``setting_styles``); panel grids and legends are sized from the number of settings;
non-finite values become gaps (``finite_values``); ``save_figure`` writes a PNG atomically
without timestamp metadata and closes the figure.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator

from lrstudy.io import atomic_path

DPI = 110
LineStyle = str | tuple[float, tuple[float, ...]]
# One line style and one dot marker per block of ten settings (a block: the ten tab10
# colours). Matplotlib's four named styles, then dash patterns (offset, (on, off, ...)),
# in line widths, chosen to stay distinct in a legend's short handle: dense dashes,
# dash-dot-dot, sparse dots, long dash with three dots.
LINE_STYLES: tuple[LineStyle, ...] = (
    "-",
    "--",
    ":",
    "-.",
    (0, (5, 1)),
    (0, (3, 1, 1, 1, 1, 1)),
    (0, (1, 3)),
    (0, (7, 2, 1, 2, 1, 2, 1, 2)),
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
COLORS = mpl.colormaps["tab10"]
# Settings that get a style of their own: beyond, styles repeat (and setting_styles warns).
DISTINCT_STYLES = COLORS.N * min(len(LINE_STYLES), len(MARKERS))
LEGEND_FONT_SIZE = 9


@dataclass(frozen=True)
class Style:
    """How one setting is drawn in every figure (lines: colour, line style; dots: marker)."""

    color: tuple[float, float, float, float]
    linestyle: LineStyle
    marker: str = "o"


def setting_styles(names: Sequence[str]) -> dict[str, Style]:
    """One style per setting, stable for a given order.

    The ten tab10 colours first; from the eleventh setting on the colours repeat with
    another line style (dashed, dotted, dash-dot, then four dash patterns) and dot marker
    (square, triangle, diamond, then four more), one of each per block of ten: a dot plot
    has no line style, so the marker tells the settings of one colour apart there
    (tab20's light shades would read as the same hue at a dot's size). Both the
    (colour, line style) and the (colour, marker) pairs are distinct up to
    ``DISTINCT_STYLES`` (80) settings (with four blocks, the 41st setting silently took
    the 1st's style). Beyond 80 the styles repeat, and a ``UserWarning`` says from which
    setting on.

    Args:
        names: Setting names, in legend (and colour) order.

    Returns:
        ``{name: Style}`` in the order of ``names``; colours are RGBA tuples in [0, 1].
    """
    if len(names) > DISTINCT_STYLES:
        warnings.warn(
            f"{len(names)} settings: the figures have {DISTINCT_STYLES} distinct styles "
            f"(colour, line style, marker), so setting {DISTINCT_STYLES + 1} "
            f"({names[DISTINCT_STYLES]}) and those after it repeat the styles of the "
            f"settings {DISTINCT_STYLES} places before them",
            stacklevel=2,
        )
    blocks = DISTINCT_STYLES // COLORS.N
    return {
        name: Style(
            color=COLORS(index % COLORS.N),
            linestyle=LINE_STYLES[(index // COLORS.N) % blocks],
            marker=MARKERS[(index // COLORS.N) % blocks],
        )
        for index, name in enumerate(names)
    }


def grid_shape(count: int, max_columns: int = 4) -> tuple[int, int]:
    """Rows and columns of a near-square panel grid for ``count`` panels.

    Args:
        count: Number of panels (≥ 1).
        max_columns: Widest grid allowed.

    Returns:
        ``(rows, columns)`` with ``rows * columns >= count``.

    Raises:
        ValueError: if ``count`` is less than 1.
    """
    if count < 1:
        raise ValueError("a panel grid needs at least one panel")
    columns = min(max_columns, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


def legend_columns(labels: Sequence[str], width_inches: float, font_size: float) -> int:
    """How many legend columns fit across ``width_inches`` (rows then balanced).

    Args:
        labels: The legend's labels.
        width_inches: Width available, in inches.
        font_size: Legend font size, in points.

    Returns:
        Number of columns, at least 1 and at most ``len(labels)`` (1 when empty).
    """
    if not labels:
        return 1
    character = 0.6 * font_size / 72  # inches per character, roughly
    entry = (max(len(label) for label in labels) + 6) * character  # + handle and gap
    fit = max(1, min(len(labels), int(width_inches * 0.95 // entry)))
    rows = math.ceil(len(labels) / fit)
    return math.ceil(len(labels) / rows)


def finite_values(values: pd.Series | np.ndarray) -> np.ndarray:
    """A float copy of ``values`` whose non-finite entries are NaN (drawn as a gap)."""
    array = np.asarray(values, dtype=float).copy()
    array[~np.isfinite(array)] = np.nan
    return array


def bottom_legend(
    figure: Figure, handles: Sequence[object], labels: Sequence[str], width: float
) -> None:
    """The settings' legend below the panels, as many columns as fit across ``width`` inches."""
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=legend_columns(labels, width, LEGEND_FONT_SIZE),
        fontsize=LEGEND_FONT_SIZE,
        frameon=False,
        handlelength=2.6,
    )


def setting_handle(style: Style) -> Line2D:
    """A legend handle: a line in the setting's colour and line style."""
    return Line2D([], [], color=style.color, linestyle=style.linestyle, linewidth=2)


def log_rate_axis(axis: Axes, label: str = "learning rate (log scale)") -> None:
    """Make ``axis``'s x a log learning-rate axis: decade ticks, ``label``, major grid."""
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(LogLocator(base=10))
    axis.set_xlabel(label)
    axis.grid(True, which="major", alpha=0.3)


def save_figure(figure: Figure, path: str | Path) -> None:
    """Write ``figure`` as a PNG atomically, then close it.

    The PNG carries no ``Software`` or date metadata, so the same figure always gives the
    same bytes and re-running the pipeline leaves committed figures unchanged.

    Args:
        figure: The figure to write (closed afterwards, also on error).
        path: The PNG file; written at ``DPI`` dots per inch.
    """
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        close(figure)


def close(figure: Figure) -> None:
    """Close a figure: drop its artists (it is never registered with pyplot)."""
    figure.clear()
