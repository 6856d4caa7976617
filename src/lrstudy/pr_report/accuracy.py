"""The changed settings' test accuracy in the PR report: base against head, over seeds.

A table (each revision's mean with its 95 % interval, the change with its interval and
whether it is within seed noise) and the same as a text chart, from the two revisions'
reports/metrics.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lrstudy.pr_report.text_chart import TEXT_CHART_LEGEND, TextRow, interval_text_chart
from lrstudy.report.formatting import (
    MISSING,
    decimals_for,
    fixed,
    is_number,
    not_enough,
    plural,
    signed_fixed,
)
from lrstudy.statistics import ACCURACY_BOUNDS, difference_interval, mean_interval


def accuracy_of(metrics: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """A setting's ``test_accuracy`` block of a metrics file; None if it has none."""
    values = metrics.get(name, {})
    accuracy = values.get("test_accuracy") if isinstance(values, Mapping) else None
    return accuracy if isinstance(accuracy, Mapping) else None


def seed_values(accuracy: Mapping[str, Any]) -> dict[str, float | None]:
    """Per-seed values by seed key; ``None`` for a seed without a (finite) value."""
    seeds = accuracy.get("seeds") or {}
    return {key: float(value) if is_number(value) else None for key, value in seeds.items()}


def spread_cell(accuracy: Mapping[str, Any] | None) -> str:
    """``mean [95 % CI] (n seeds)`` of one setting's test accuracy, or a dash.

    The interval is the t-interval of the mean on the logit scale, inside [0, 1], over
    the seeds that have a value (``statistics.mean_interval`` with ``ACCURACY_BOUNDS``),
    computed from the per-seed values so that a base revision written before intervals
    existed (or with unbounded ones) gets the same kind; the digits shown are those the
    interval supports (``formatting.decimals_for``).
    """
    if accuracy is None:
        return MISSING
    values = seed_values(accuracy)
    present = [value for value in values.values() if value is not None]
    if not present:
        return f"n/a ({plural(len(values), 'seed')}, none with a result)"
    interval = mean_interval(present, bounds=ACCURACY_BOUNDS)
    mean = sum(present) / len(present)
    if interval is None:
        return f"{fixed(mean)} [{not_enough(len(present))}]"
    decimals = decimals_for((interval[1] - interval[0]) / 2)
    lost = len(values) - len(present)
    diverged = f", {lost} diverged" if lost else ""
    return (
        f"{fixed(mean, decimals)} [{fixed(interval[0], decimals)}, "
        f"{fixed(interval[1], decimals)}] ({plural(len(present), 'seed')}{diverged})"
    )


def delta_cells(
    base: Mapping[str, Any] | None, head: Mapping[str, Any] | None, paired: bool = True
) -> tuple[str, str]:
    """Head − base mean test accuracy with its 95 % interval, and whether it is noise.

    Seeds are paired by seed key when both revisions ran the same seeds and ``paired``
    (the architecture did not change, so a seed starts from the same weights in both);
    otherwise Welch's; either on the logit scale of [-1, 1], so it stays inside
    (``statistics.difference_interval`` with ``ACCURACY_BOUNDS``). The difference is
    *within seed noise* when its interval contains 0.

    Returns:
        ``(difference [interval], verdict)``; dashes where a revision lacks the setting.
    """
    if base is None or head is None:
        return MISSING, MISSING
    old, new = seed_values(base), seed_values(head)
    paired = paired and list(old) == list(new)  # same seeds, same order
    count, difference, interval = difference_interval(
        list(new.values()), list(old.values()), paired, bounds=ACCURACY_BOUNDS
    )
    if difference is None:
        return "n/a", "n/a"
    if paired and old == new:
        return "0", f"unchanged (identical on all {plural(count, 'seed')})"
    how = "" if paired else ", unpaired"
    if interval is None:
        return signed_fixed(difference, 4), not_enough(count)
    decimals = decimals_for((interval[1] - interval[0]) / 2)
    verdict = "within seed noise" if interval[0] <= 0 <= interval[1] else "**beyond seed noise**"
    return (
        f"{signed_fixed(difference, decimals)} [{signed_fixed(interval[0], decimals)}, "
        f"{signed_fixed(interval[1], decimals)}]",
        f"{verdict} ({plural(count, 'seed')}{how})",
    )


def per_seed_cell(accuracy: Mapping[str, Any] | None) -> str:
    """Each seed's test accuracy: ``0: 0.9500, 1: 0.9350``."""
    if accuracy is None:
        return MISSING
    seeds = accuracy.get("seeds") or {}
    return ", ".join(f"{str(seed).removeprefix('seed_')}: {fixed(v)}" for seed, v in seeds.items())


def accuracy_section(
    names: Sequence[str],
    base_metrics: Mapping[str, Any],
    head_metrics: Mapping[str, Any],
    paired: bool = True,
) -> str:
    """The changed settings' test accuracy, base against head, with the interval of the change.

    Args:
        names: The changed settings.
        base_metrics: The base revision's metrics file.
        head_metrics: The head's.
        paired: Whether a seed is the same starting point in both revisions (false when
            the architecture changed).
    """
    if not names:
        return "No setting's results changed.\n"
    rows = []
    for name in names:
        base, head = accuracy_of(base_metrics, name), accuracy_of(head_metrics, name)
        difference, verdict = delta_cells(base, head, paired)
        rows.append(
            f"| {name} | {spread_cell(base)} | {spread_cell(head)} | {difference} | {verdict} "
            f"| {per_seed_cell(head)} |"
        )
    return (
        "| setting | base: mean [95 % CI] | head: mean [95 % CI] "
        "| head − base [95 % CI] | seed noise? | head per seed |\n"
        "|---|---:|---:|---:|---|---|\n" + "\n".join(rows) + "\n\n"
        "Test accuracy: the mean over seeds with its 95 % t-interval on the logit scale "
        "(inside [0, 1] by construction). head − base is the "
        "change in mean, over seeds paired by seed number where both revisions ran the "
        "same seeds and the architecture did not change (else unpaired, Welch), with its "
        "95 % interval (on the logit scale of [−1, 1]): *within seed noise* when the "
        "interval contains 0, so a reviewer "
        "need not chase it. Digits: as many as the interval supports. "
        "— means the revision has no such setting; n/a (1 seed): an interval needs two.\n"
    )


def accuracy_chart(
    names: Sequence[str], base_metrics: Mapping[str, Any], head_metrics: Mapping[str, Any]
) -> str:
    """The changed settings' per-seed test accuracy, base over head, as a text figure.

    A fenced ``text_chart.interval_text_chart`` (each setting on its own scale, the
    intervals inside [0, 1]) with its legend; "" without changed settings. Text, not a PNG: a
    PR comment shows images only from URLs, and a figure drawn while the report is built
    is committed nowhere, while a code block shows in the comment, the run summary and
    the local file alike.
    """
    groups = []
    for name in names:
        rows = []
        for label, metrics in (("base", base_metrics), ("head", head_metrics)):
            accuracy = accuracy_of(metrics, name)
            values = list(seed_values(accuracy).values()) if accuracy else []
            note = spread_cell(accuracy) if accuracy else f"— (the {label} has no {name})"
            rows.append(TextRow(label, values, note))
        groups.append((name, rows))
    if not groups:
        return ""
    chart = interval_text_chart(groups, bounds=ACCURACY_BOUNDS)
    return f"```text\n{chart}\n```\n\n{TEXT_CHART_LEGEND}\n"
