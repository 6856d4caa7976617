"""The params and metrics diffs of the PR report: dvc's diff rows and their tables.

Parses ``dvc params diff --json`` / ``dvc metrics diff --json`` output into ``Change``
rows in a stable order, prints them as markdown tables (metric values to the digits the
seed spread supports) and names the settings a change touches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lrstudy.pr_report.accuracy import seed_values
from lrstudy.report.formatting import decimals_for, digits_cell, format_value, is_number
from lrstudy.statistics import ACCURACY_BOUNDS, mean_interval

METRICS_FILE = "reports/metrics.json"

Diff = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""``dvc params diff --json`` / ``dvc metrics diff --json``: file → key → old/new."""


@dataclass(frozen=True)
class Change:
    """One row of a params or metrics diff."""

    file: str
    key: str
    old: Any
    new: Any

    @property
    def change(self) -> float | None:
        """``new - old`` when both are finite numbers, else None."""
        if is_number(self.old) and is_number(self.new):
            return float(self.new) - float(self.old)
        return None

    @property
    def setting(self) -> str:
        """The setting a metrics key belongs to (its first component)."""
        return self.key.split(".", 1)[0]

    @property
    def per_seed(self) -> bool:
        """Whether this is one seed's value rather than a summary over seeds."""
        return ".seeds." in f".{self.key}."


def _natural_key(text: str) -> list[Any]:
    """Sort ``seed_10`` after ``seed_2``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested mapping, in its order: ``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def diff_changes(diff: Diff, order: Sequence[str] = ()) -> list[Change]:
    """The rows of a dvc diff, in a stable order.

    Args:
        diff: Parsed ``dvc params diff --json`` or ``dvc metrics diff --json``.
        order: Keys in the order to list them (for metrics, the flattened metrics file);
            keys not in it follow in natural order (``seed_2`` before ``seed_10``).

    Returns:
        One ``Change`` per changed key, files in the order given.
    """
    rank = {key: index for index, key in enumerate(order)}
    changes = []
    for file, keys in diff.items():
        listed = sorted(keys, key=lambda key: (rank.get(key, len(rank)), _natural_key(key)))
        changes += [Change(file, key, keys[key].get("old"), keys[key].get("new")) for key in listed]
    return changes


def _key(change: Change, default_file: str) -> str:
    """A diff row's key in backticks, prefixed with its file unless ``default_file``."""
    name = change.key if change.file == default_file else f"{change.file}:{change.key}"
    return f"`{name}`"


def params_table(changes: Sequence[Change]) -> str:
    """``dvc params diff`` as a markdown table.

    Keys of params files other than params.yaml are prefixed with their file.
    """
    if not changes:
        return "No parameter changed.\n"
    rows = [
        f"| {_key(item, 'params.yaml')} | {format_value(item.old)} | {format_value(item.new)} |"
        for item in changes
    ]
    return "| param | base | head |\n|---|---:|---:|\n" + "\n".join(rows) + "\n"


PRECISION_METRICS = ("test_accuracy", "test_loss")
METRIC_BOUNDS = {"test_accuracy": ACCURACY_BOUNDS, "test_loss": None}
ACCURACY_UNITS = ("difference", "ci_low", "ci_high")  # vs_best leaves in accuracy units


def metric_decimals(*metrics: Mapping[str, Any]) -> dict[str, int]:
    """Decimals per ``<setting>.<metric>`` that the seed spread supports.

    From the 95 % interval of the mean over seeds (``formatting.decimals_for``): a change
    of 0.001666 where the interval is ±0.004 shows as +0.002. The first metrics document
    that gives a setting an interval wins (pass the head's first).
    """
    decimals: dict[str, int] = {}
    for document in metrics:
        for name, values in document.items():
            for metric in PRECISION_METRICS:
                block = values.get(metric) if isinstance(values, Mapping) else None
                if not isinstance(block, Mapping) or f"{name}.{metric}" in decimals:
                    continue
                present = [v for v in seed_values(block).values() if v is not None]
                interval = mean_interval(present, bounds=METRIC_BOUNDS[metric])
                if interval is not None:
                    decimals[f"{name}.{metric}"] = decimals_for((interval[1] - interval[0]) / 2)
    return decimals


def _key_decimals(key: str, decimals: Mapping[str, int]) -> int | None:
    parts = key.split(".")
    if len(parts) < 3:
        return None
    if parts[1] in PRECISION_METRICS and parts[2] != "n":
        return decimals.get(f"{parts[0]}.{parts[1]}")
    if parts[1] == "vs_best" and parts[2] in ACCURACY_UNITS:
        return decimals.get(f"{parts[0]}.test_accuracy")
    return None


def metrics_table(
    changes: Sequence[Change],
    default_file: str = METRICS_FILE,
    decimals: Mapping[str, int] | None = None,
) -> str:
    """``dvc metrics diff`` rows as a markdown table with the change head − base.

    ``decimals`` (``metric_decimals``) fixes the digits of test accuracy and loss values
    to what the seed spread supports; other values keep five significant digits.
    """
    rows = []
    for item in changes:
        digits = _key_decimals(item.key, decimals or {})
        old, new = digits_cell(item.old, digits), digits_cell(item.new, digits)
        rows.append(
            f"| {_key(item, default_file)} | {old} | {new} "
            f"| {digits_cell(item.change, digits, signed=True)} |"
        )
    return "| metric | base | head | change |\n|---|---:|---:|---:|\n" + "\n".join(rows) + "\n"


def metrics_section(
    changes: Sequence[Change],
    default_file: str = METRICS_FILE,
    decimals: Mapping[str, int] | None = None,
) -> str:
    """Summary metrics in a table, per-seed values folded below (digits: ``metrics_table``)."""
    if not changes:
        return "No metric changed.\n"
    summary = [item for item in changes if not item.per_seed]
    per_seed = [item for item in changes if item.per_seed]
    parts = [metrics_table(summary, default_file, decimals) if summary else ""]
    if per_seed:
        parts.append(
            f"<details><summary>Per-seed values ({len(per_seed)} changed)</summary>\n\n"
            f"{metrics_table(per_seed, default_file, decimals)}\n</details>\n"
        )
    return "\n".join(part for part in parts if part)


def setting_names(*metrics: Mapping[str, Any]) -> list[str]:
    """Every setting of the given metrics documents, first seen first."""
    return list(dict.fromkeys(name for document in metrics for name in document))


def changed_settings(
    param_changes: Sequence[Change],
    metric_changes: Sequence[Change],
    base_metrics: Mapping[str, Any],
    head_metrics: Mapping[str, Any],
) -> list[str]:
    """Settings the change touches, in head order (then settings the head removed).

    A setting counts as changed if one of its own params (``settings.<name>.…``) or one of
    its own results changed, or if only one revision has it. Its comparison with the best
    (``vs_best``) is not its own result: it moves whenever the best does.
    """
    touched = {item.setting for item in metric_changes if item.key.split(".")[1:2] != ["vs_best"]}
    touched |= {
        item.key.split(".")[1]
        for item in param_changes
        if item.key.startswith("settings.") and item.key.count(".") >= 2
    }
    touched |= set(base_metrics) ^ set(head_metrics)
    return [name for name in setting_names(head_metrics, base_metrics) if name in touched]
