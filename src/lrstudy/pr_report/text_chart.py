"""A chart in plain text, for places that show text but no image made on the spot.

The PR report prints ``interval_text_chart`` in a code block (``accuracy.accuracy_chart``):
a GitHub comment shows images only from URLs of committed files, and this chart is drawn
when the report is built. Kept apart from ``lrstudy.plots`` so the report does not import
matplotlib's figure machinery (only its tick locator, when a chart is drawn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lrstudy.statistics import finite, mean_interval


@dataclass(frozen=True)
class TextRow:
    """One row of ``interval_text_chart``: a label, per-seed values and a note after it."""

    label: str
    values: Sequence[float | None]
    note: str = ""


TEXT_CHART_LEGEND = (
    "`[---|---]` the 95 % interval of the mean over seeds and the mean; `.` one seed "
    "outside the interval, `:` two or more in the same place; each group on its own scale."
)
"""What the marks of ``interval_text_chart`` mean, to print under it."""


def _nice_ticks(low: float, high: float, count: int = 4) -> np.ndarray:
    """Round tick values covering ``[low, high]`` (matplotlib's locator, no figure)."""
    from matplotlib.ticker import MaxNLocator

    if high <= low:
        pad = max(abs(low) * 0.01, 0.005)
        low, high = low - pad, high + pad
    ticks = MaxNLocator(nbins=count, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return ticks[(ticks >= ticks[ticks <= low].max()) & (ticks <= ticks[ticks >= high].min())]


def _step_decimals(step: float) -> int:
    """The fewest decimals that write every multiple of ``step`` exactly (0.025 → 3)."""
    return next((d for d in range(7) if abs(step * 10**d - round(step * 10**d)) < 1e-6), 6)


def interval_text_chart(
    groups: Sequence[tuple[str, Sequence[TextRow]]],
    width: int = 44,
    bounds: tuple[float, float] | None = None,
) -> str:
    """Per-seed values and the 95 % interval of their mean, as monospace ASCII.

    For places that show text but no image made on the spot, such as a PR comment (its
    images must be URLs of committed files). Each group (a setting: base and head) has
    its own axis covering its seeds and intervals, so a setting whose seeds sit at 0.99
    is not squashed by one whose seeds collapse to 0.5; rows of a group share the axis.
    A row draws its seeds as ``.`` (``:`` where several fall in one character), then the
    interval ``[---]`` over them, the mean as ``|``; the note follows the strip.

    Args:
        groups: ``(title, rows)``; the title is printed above the group's axis.
        width: Characters of the strip.
        bounds: The range the values lie in (an accuracy's [0, 1]), or ``None``: the
            intervals are then built inside it (``statistics.mean_interval`` with
            ``bounds``), so none is ever cut at an edge.

    Returns:
        The chart, lines joined by newlines (no fence), or "" without groups.
    """
    if width < 12:
        raise ValueError(f"a text chart needs at least 12 characters of width, got {width}")
    label_width = max((len(row.label) for _, rows in groups for row in rows), default=0)
    indent = " " * (label_width + 2)
    lines: list[str] = []
    for title, rows in groups:
        samples = [mean_interval(row.values, bounds=bounds) for row in rows]
        seeds = [finite(row.values) for row in rows]
        points = [value for values in seeds for value in values]
        points += [end for interval in samples if interval for end in interval]
        if lines:
            lines.append("")
        lines.append(title)
        if not points:
            lines += [f"{row.label:<{label_width}}  {row.note}".rstrip() for row in rows]
            continue
        ticks = _nice_ticks(min(points), max(points))
        low, high = float(ticks[0]), float(ticks[-1])

        def column(value: float, low: float = low, high: float = high) -> int:
            return round((min(max(value, low), high) - low) / (high - low) * (width - 1))

        # Tick labels centred on their "+", reaching into the label column on the left.
        shift = min(3, len(indent))
        scale, rule = [" "] * (shift + width + 3), ["-"] * width
        decimals = _step_decimals(float(ticks[1] - ticks[0]))
        for tick in ticks:
            place, text = column(float(tick)), f"{tick:.{decimals}f}"
            start = max(0, shift + place - len(text) // 2)
            scale[start : start + len(text)] = text
            rule[place] = "+"
        lines.append(indent[shift:] + "".join(scale).rstrip())
        lines.append(indent + "".join(rule))
        for row, values, interval in zip(rows, seeds, samples, strict=True):
            strip = [" "] * width
            for value in values:
                place = column(float(value))
                strip[place] = ":" if strip[place] in ".:" else "."
            if values.size:
                left, right = interval if interval else (values.mean(), values.mean())
                if interval:
                    first, last = column(left), column(right)
                    for place in range(first + 1, last):
                        strip[place] = "-"
                    strip[first], strip[last] = "[", "]"
                strip[column(float(values.mean()))] = "|"
            lines.append(f"{row.label:<{label_width}}  {''.join(strip)}  {row.note}".rstrip())
    return "\n".join(lines)
