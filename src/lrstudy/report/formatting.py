"""Numbers and lists as the reports print them: the one home of their text.

Used by reports/summary.md, the ``make metrics`` table and the PR report alike, so a
number reads the same wherever it appears. Standard library only: the PR report imports
it without pulling in pandas or NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MISSING = "—"
"""What a PR-report cell shows where a revision has no value."""


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (a bool is not a number here)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def plural(count: int, noun: str) -> str:
    """``1 comparison``, ``3 comparisons``."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def join_names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# --- reports/summary.md and the metrics table ---


def number(value: float | None, digits: int = 4) -> str:
    """A number for a table: fixed decimals, scientific where fixed would mislead.

    A huge finite loss (a run blowing up) prints as ``1.2346e+30``, not 31 digits.
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if value != 0 and not 10**-digits <= abs(value) < 1e4:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def signed_number(value: float | None, digits: int = 4) -> str:
    """A difference with its sign, to ``digits`` decimals; one that rounds to 0 is ``0.0000``.

    Differences of accuracies stored to 6 decimals carry float noise (``-5e-08``) that
    must not print as a number in scientific notation.
    """
    if value is not None and math.isfinite(value) and abs(value) < 1e4:
        value = round(value, digits) + 0.0  # + 0.0: no "-0.0000"
        if value == 0:
            return f"{0:.{digits}f}"
    text = number(value, digits)
    return text if value is None or text == "n/a" or value < 0 else f"+{text}"


def not_enough(count: int) -> str:
    """What stands in for an interval or test that needs two seeds."""
    return f"n/a ({plural(count, 'seed')})"


def interval(low: float | None, high: float | None, count: int, signed: bool = False) -> str:
    """``low to high`` of a 95 % interval over ``count`` seeds; ``n/a (1 seed)`` if none."""
    if low is None or high is None:
        return not_enough(count)
    show = signed_number if signed else number
    return f"{show(low)} to {show(high)}"


def p_value(value: float | None, count: int) -> str:
    """A p-value to three decimals, ``< 0.001`` below that; ``n/a (1 seed)`` if none."""
    if value is None:
        return not_enough(count)
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_phrase(value: float | None, count: int) -> str:
    """``= 0.012`` or ``< 0.001``, to follow a "p" in prose."""
    text = p_value(value, count)
    return text if text.startswith("<") else f"= {text}"


# --- the PR report ---


def decimals_for(half_width: float | None, default: int = 4) -> int:
    """Decimals that show a value to the precision its interval supports.

    The Particle Data Group's rounding rule (Review of Particle Physics, Introduction,
    "Rounding"): take the interval half-width's three leading digits; 100–354 keep two
    significant digits, 355–949 one, 950–999 round up to 1000 and keep two. Bounded to
    1–6 decimals; ``default`` without an interval. Half-width 0.127 → 2 decimals,
    0.0062 → 3, 0.0025 → 4.
    """
    if half_width is None or not math.isfinite(half_width) or half_width <= 0:
        return default
    exponent = math.floor(math.log10(half_width))
    leading = int(half_width / 10 ** (exponent - 2))
    decimals = 1 - exponent if leading <= 354 else -exponent
    return int(min(6, max(1, decimals)))


def format_value(value: Any) -> str:
    """A param or metric value for a table cell (five significant digits, like dvc)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return str(value).replace("|", "\\|")


def format_change(value: float | None) -> str:
    """A signed difference, or a dash where there is none."""
    if value is None:
        return MISSING
    return "0" if value == 0 else f"{value:+.5g}"


def fixed(value: Any, decimals: int = 4) -> str:
    """A number to ``decimals`` fixed decimals; ``n/a`` for anything else."""
    return f"{value:.{decimals}f}" if is_number(value) else "n/a"


def signed_fixed(value: float, decimals: int) -> str:
    """A number with its sign to ``decimals`` fixed decimals: ``+0.004``."""
    return f"{value:+.{decimals}f}"


def digits_cell(value: Any, digits: int | None, signed: bool = False) -> str:
    """A metric value to ``digits`` decimals, or as ``format_value`` (``format_change``).

    Without ``digits``, or for a value that is not a number, five significant digits.
    """
    if digits is None or not is_number(value):
        return format_change(value) if signed else format_value(value)
    if signed and value == 0:
        return "0"
    return signed_fixed(value, digits) if signed else fixed(value, digits)
