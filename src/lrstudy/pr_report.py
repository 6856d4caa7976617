"""The pull-request report: what a change does to the params, the metrics and the figures.

``make pr-report BASE=main`` (``python -m lrstudy.pr_report --base main``) compares the
workspace with a base revision and writes one markdown file, the same one the GitHub
workflow posts as a PR comment:

- the changed settings' test accuracy, base against head: each mean with its 95 %
  interval, the change with its interval (seeds paired) and whether it is within seed
  noise, to the digits the seed spread supports; then the same as a text figure, each
  seed and the interval of the mean of both revisions on one scale per setting (text,
  because a comment shows only images committed somewhere; see ``accuracy_chart``);
- ``dvc params diff`` and ``dvc metrics diff`` against the base, as markdown tables;
- the comparison figures: the head's full width, the base's folded below each, with the
  names of the settings the change touches said above them.

Everything that builds the markdown is a pure function of parsed
``dvc params diff --json`` / ``dvc metrics diff --json`` output and the two revisions'
``reports/metrics.json``; only ``main`` runs git and dvc.

Figures: in GitHub Actions (``GITHUB_SERVER_URL`` and ``GITHUB_REPOSITORY`` set, or
``--repo-url``) they link to the committed PNGs of each revision on GitHub, which a comment
can show with only the default token; elsewhere they are relative paths from the report
file (the base revision's PNGs are copied out of git beside the report).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrstudy.io import atomic_path, write_text
from lrstudy.statistics import decimals_for, difference_interval, mean_interval
from lrstudy.text_chart import TEXT_CHART_LEGEND, TextRow, interval_text_chart

MARKER = "<!-- lrstudy-pr-report -->"
"""Hidden first line of the report: the workflow finds its own comment by it."""

DEFAULT_OUT = Path("build/pr-report/report.md")
METRICS_FILE = "reports/metrics.json"
FIGURES_DIR = "reports/figures"
WATCHED = ("dvc.lock", "reports")
"""Pipeline results committed to git: uncommitted changes here mean the numbers in the
report are not the ones the branch carries."""

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
        if _is_number(self.old) and _is_number(self.new):
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


@dataclass(frozen=True)
class FigureLink:
    """One figure of the comparison: its title and where each revision's PNG is."""

    title: str
    base: str | None
    head: str | None


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


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


def format_value(value: Any) -> str:
    """A param or metric value for a table cell (five significant digits, like dvc)."""
    if value is None:
        return "—"
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
        return "—"
    return "0" if value == 0 else f"{value:+.5g}"


def _key(change: Change, default_file: str) -> str:
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
ACCURACY_UNITS = ("difference", "ci_low", "ci_high")  # vs_best leaves in accuracy units


def metric_decimals(*metrics: Mapping[str, Any]) -> dict[str, int]:
    """Decimals per ``<setting>.<metric>`` that the seed spread supports.

    From the 95 % interval of the mean over seeds (``statistics.decimals_for``): a change
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
                present = [v for v in _seed_values(block).values() if v is not None]
                interval = mean_interval(present)
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


def _cell(value: Any, digits: int | None, signed: bool = False) -> str:
    if digits is None or not _is_number(value):
        return format_change(value) if signed else format_value(value)
    if signed and value == 0:
        return "0"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


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
        rows.append(
            f"| {_key(item, default_file)} | {_cell(item.old, digits)} | {_cell(item.new, digits)} "
            f"| {_cell(item.change, digits, signed=True)} |"
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


def _accuracy(metrics: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    values = metrics.get(name, {})
    accuracy = values.get("test_accuracy") if isinstance(values, Mapping) else None
    return accuracy if isinstance(accuracy, Mapping) else None


def _fixed(value: Any, decimals: int = 4) -> str:
    return f"{value:.{decimals}f}" if _is_number(value) else "n/a"


def _seed_values(accuracy: Mapping[str, Any]) -> dict[str, float | None]:
    """Per-seed values by seed key; ``None`` for a seed without a (finite) value."""
    seeds = accuracy.get("seeds") or {}
    return {key: float(value) if _is_number(value) else None for key, value in seeds.items()}


def _seeds_text(count: int) -> str:
    return f"{count} seed{'s' if count != 1 else ''}"


def spread_cell(accuracy: Mapping[str, Any] | None) -> str:
    """``mean [95 % CI] (n seeds)`` of one setting's test accuracy, or a dash.

    The interval is the t-interval of the mean over the seeds that have a value
    (``statistics.mean_interval``), computed from the per-seed values so that a base
    revision written before intervals existed gets one too; the digits shown are those
    the interval supports (``statistics.decimals_for``).
    """
    if accuracy is None:
        return "—"
    values = _seed_values(accuracy)
    present = [value for value in values.values() if value is not None]
    if not present:
        return f"n/a ({_seeds_text(len(values))}, none with a result)"
    interval = mean_interval(present)
    mean = sum(present) / len(present)
    if interval is None:
        return f"{_fixed(mean)} [n/a ({_seeds_text(len(present))})]"
    decimals = decimals_for((interval[1] - interval[0]) / 2)
    lost = len(values) - len(present)
    diverged = f", {lost} diverged" if lost else ""
    return (
        f"{_fixed(mean, decimals)} [{_fixed(interval[0], decimals)}, "
        f"{_fixed(interval[1], decimals)}] ({_seeds_text(len(present))}{diverged})"
    )


def delta_cells(
    base: Mapping[str, Any] | None, head: Mapping[str, Any] | None, paired: bool = True
) -> tuple[str, str]:
    """Head − base mean test accuracy with its 95 % interval, and whether it is noise.

    Seeds are paired by seed key when both revisions ran the same seeds and ``paired``
    (the architecture did not change, so a seed starts from the same weights in both);
    otherwise Welch's interval (``statistics.difference_interval``). The difference is
    *within seed noise* when its interval contains 0.

    Returns:
        ``(difference [interval], verdict)``; dashes where a revision lacks the setting.
    """
    if base is None or head is None:
        return "—", "—"
    old, new = _seed_values(base), _seed_values(head)
    paired = paired and list(old) == list(new)  # same seeds, same order
    count, difference, interval = difference_interval(
        list(new.values()), list(old.values()), paired
    )
    if difference is None:
        return "n/a", "n/a"
    if paired and old == new:
        return "0", f"unchanged (identical on all {_seeds_text(count)})"
    how = "" if paired else ", unpaired"
    if interval is None:
        return f"{difference:+.4f}", f"n/a ({_seeds_text(count)})"
    decimals = decimals_for((interval[1] - interval[0]) / 2)
    verdict = "within seed noise" if interval[0] <= 0 <= interval[1] else "**beyond seed noise**"
    return (
        f"{difference:+.{decimals}f} [{interval[0]:+.{decimals}f}, {interval[1]:+.{decimals}f}]",
        f"{verdict} ({_seeds_text(count)}{how})",
    )


def per_seed_cell(accuracy: Mapping[str, Any] | None) -> str:
    """Each seed's test accuracy: ``0: 0.9500, 1: 0.9350``."""
    if accuracy is None:
        return "—"
    seeds = accuracy.get("seeds") or {}
    return ", ".join(f"{str(seed).removeprefix('seed_')}: {_fixed(v)}" for seed, v in seeds.items())


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
        base, head = _accuracy(base_metrics, name), _accuracy(head_metrics, name)
        difference, verdict = delta_cells(base, head, paired)
        rows.append(
            f"| {name} | {spread_cell(base)} | {spread_cell(head)} | {difference} | {verdict} "
            f"| {per_seed_cell(head)} |"
        )
    return (
        "| setting | base: mean [95 % CI] | head: mean [95 % CI] "
        "| head − base [95 % CI] | seed noise? | head per seed |\n"
        "|---|---:|---:|---:|---|---|\n" + "\n".join(rows) + "\n\n"
        "Test accuracy: the mean over seeds with its 95 % t-interval. head − base is the "
        "change in mean, over seeds paired by seed number where both revisions ran the "
        "same seeds and the architecture did not change (else unpaired, Welch), with its "
        "95 % interval: *within seed noise* when the interval contains 0, so a reviewer "
        "need not chase it. Digits: as many as the interval supports. "
        "— means the revision has no such setting; n/a (1 seed): an interval needs two.\n"
    )


def accuracy_chart(
    names: Sequence[str], base_metrics: Mapping[str, Any], head_metrics: Mapping[str, Any]
) -> str:
    """The changed settings' per-seed test accuracy, base over head, as a text figure.

    A fenced ``text_chart.interval_text_chart`` (each setting on its own scale, accuracy
    clipped to [0, 1]) with its legend; "" without changed settings. Text, not a PNG: a
    PR comment shows images only from URLs, and a figure drawn while the report is built
    is committed nowhere, while a code block shows in the comment, the run summary and
    the local file alike.
    """
    groups = []
    for name in names:
        rows = []
        for label, metrics in (("base", base_metrics), ("head", head_metrics)):
            accuracy = _accuracy(metrics, name)
            values = list(_seed_values(accuracy).values()) if accuracy else []
            note = spread_cell(accuracy) if accuracy else f"— (the {label} has no {name})"
            rows.append(TextRow(label, values, note))
        groups.append((name, rows))
    if not groups:
        return ""
    chart = interval_text_chart(groups, limits=(0.0, 1.0))
    return f"```text\n{chart}\n```\n\n{TEXT_CHART_LEGEND}\n"


def _image(link: str | None, title: str) -> str:
    return "—" if link is None else f"![{title}]({link})"


def figures_section(figures: Sequence[FigureLink], changed: Sequence[str] = ()) -> str:
    """The comparison figures: the head's full width, the base's folded below each.

    ``changed`` names the settings the change touches, said once above the figures: the
    committed figures are drawn by the pipeline, which does not know the base.
    """
    if not figures:
        return "No figures.\n"
    parts = []
    if changed:
        listed = ", ".join(f"`{name}`" for name in changed)
        parts.append(
            f"Settings this change touches: {listed}; their test accuracy, base against "
            "head, is charted under *Test accuracy of the changed settings* above.\n"
        )
    for item in figures:
        parts.append(f"#### {item.title}\n")
        head = _image(item.head, f"{item.title} (head)")
        parts.append(head if item.head else "The head has no such figure.")
        parts.append("")
        if item.base is None:
            parts.append("The base has no such figure.\n")
        else:
            parts.append(
                f"<details><summary>{item.title}: base</summary>\n\n"
                f"{_image(item.base, item.title + ' (base)')}\n\n</details>\n"
            )
    return "\n".join(parts)


def render_report(
    *,
    params_diff: Diff,
    metrics_diff: Diff,
    base_metrics: Mapping[str, Any],
    head_metrics: Mapping[str, Any],
    figures: Sequence[FigureLink],
    base_label: str,
    head_label: str,
    uncommitted: Sequence[str] = (),
) -> str:
    """The whole report as markdown, starting with ``MARKER``.

    Args:
        params_diff: Parsed ``dvc params diff <base> --json``.
        metrics_diff: Parsed ``dvc metrics diff <base> --json``.
        base_metrics: The base revision's metrics file ({} if it has none).
        head_metrics: The head's (workspace's) metrics file.
        figures: Links to each revision's figures.
        base_label: How to name the base revision (markdown).
        head_label: How to name the head (markdown).
        uncommitted: Pipeline results (dvc.lock, reports/…) that differ from the head
            commit; non-empty adds a warning.
    """
    params = diff_changes(params_diff)
    order = list(flatten(head_metrics)) + list(flatten(base_metrics))
    metrics = diff_changes(metrics_diff, order)
    names = changed_settings(params, metrics, base_metrics, head_metrics)
    parts = [
        MARKER,
        "## Learning-rate study: what this change does\n",
        f"**base**: {base_label} · **head**: {head_label}\n",
    ]
    if uncommitted:
        listed = ", ".join(f"`{path}`" for path in uncommitted[:8])
        more = f" and {len(uncommitted) - 8} more" if len(uncommitted) > 8 else ""
        parts.append(
            "> [!WARNING]\n"
            f"> The pipeline results differ from the committed ones ({listed}{more}). "
            "The numbers below are the workspace's; commit `dvc.lock` and `reports/` after "
            "`make repro` so that the branch carries them (figures linked on GitHub are "
            "the committed ones).\n"
        )
    parts += [
        "### Test accuracy of the changed settings\n",
        accuracy_section(
            names,
            base_metrics,
            head_metrics,
            paired=not any(item.key.startswith("model.") for item in params),
        ),
        accuracy_chart(names, base_metrics, head_metrics),
        "### Params diff (`dvc params diff`)\n",
        params_table(params),
        "### Metrics diff (`dvc metrics diff`)\n",
        metrics_section(metrics, decimals=metric_decimals(head_metrics, base_metrics)),
        "### Figures\n",
        figures_section(figures, names),
        "<sub>Built by `make pr-report` (src/lrstudy/pr_report.py); run it locally to read "
        "the same report before pushing.</sub>\n",
    ]
    return "\n".join(parts)


def github_figure_url(repo_url: str, revision: str, path: str) -> str:
    """A URL that shows a committed image in a GitHub comment.

    It needs no token in the link: readers who can see the repository see the image.
    """
    return f"{repo_url.rstrip('/')}/blob/{revision}/{path}?raw=true"


# --- the command: everything below runs git and dvc -----------------------------------


ABSENT = ("deleted", "not in cache")
"""``dvc status`` states of a file that is merely missing here, not changed."""


def stale_stages(
    status: Mapping[str, Any], holds_files: Callable[[str], bool] = lambda path: True
) -> list[str]:
    """Stages whose recorded results no longer match their code, params or command.

    ``status`` is ``dvc status --json``. Outputs that are merely absent (a fresh clone
    without a DVC remote) do not make a stage stale: ``dvc.lock`` and the committed
    ``reports/`` still describe what this code and these params produce. Nor does a
    folder that holds no file at all: a ``dvc pull`` that found no remote copy leaves
    ``evaluation/``, ``logs/``, ``models/`` and ``data/raw/`` behind empty, and DVC calls
    such a dependency ``modified``.

    Args:
        status: ``dvc status --json``: {stage: [entries]}.
        holds_files: whether a path (relative to the repository) holds at least one file;
            a ``modified`` path for which it is False counts as absent.
    """
    stale = []
    for stage, entries in status.items():
        for entry in entries:
            if not isinstance(entry, Mapping):  # e.g. "always changed"
                stale.append(stage)
                break
            deps = entry.get("changed deps", {})
            outs = entry.get("changed outs", {})
            other = set(entry) - {"changed deps", "changed outs"}
            changed = [
                path
                for path, state in [*deps.items(), *outs.items()]
                if not isinstance(state, str)  # params: {key: state}
                or not (state in ABSENT or (state == "modified" and not holds_files(path)))
            ]
            if other or changed:
                stale.append(stage)
                break
    return stale


def holds_files(path: str | Path) -> bool:
    """Whether ``path`` is a file, or a folder with at least one file somewhere below it."""
    path = Path(path)
    return path.is_file() or any(child.is_file() for child in path.rglob("*"))


class ReportError(Exception):
    """A problem the user can fix (unknown base revision, dvc failing)."""


def _run(args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ReportError(f"`{' '.join(args)}` failed:\n{(result.stderr or result.stdout)[-2000:]}")
    return result


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["git", *args], check=check)


def _dvc_json(*args: str) -> Diff:
    output = _run([sys.executable, "-m", "dvc", *args, "--json"]).stdout.strip()
    return json.loads(output) if output else {}


def resolve_revision(revision: str, role: str = "base") -> str:
    """The commit sha of a git revision; a clear error if git does not know it."""
    result = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
    if result.returncode != 0:
        raise ReportError(
            f"unknown {role} revision {revision!r}: pass an existing branch, tag or commit "
            f"(make pr-report BASE=...); in a shallow clone fetch it first "
            f"(git fetch origin {revision.removeprefix('origin/')})"
        )
    return result.stdout.strip()


def metrics_at(revision: str, path: str) -> dict[str, Any]:
    """A committed metrics file at ``revision``; {} if the revision has none."""
    content = file_at(revision, path)
    return json.loads(content) if content is not None else {}


def file_at(revision: str, path: str) -> bytes | None:
    """A committed file's bytes at ``revision``; None if the revision has no such file."""
    result = subprocess.run(["git", "show", f"{revision}:{path}"], capture_output=True)
    return result.stdout if result.returncode == 0 else None


def _exists_at(revision: str, path: str) -> bool:
    return _git("cat-file", "-e", f"{revision}:{path}", check=False).returncode == 0


def uncommitted_results(paths: Sequence[str] = WATCHED) -> list[str]:
    """Pipeline results that differ from HEAD (modified, added or deleted)."""
    output = _git("status", "--porcelain", "--untracked-files=all", "--", *paths).stdout
    return [line[3:] for line in output.splitlines() if line.strip()]


def figure_links(
    figures: Sequence[tuple[str, str]],
    base_sha: str,
    head_sha: str,
    out: Path,
    repo_url: str,
    figures_dir: str = FIGURES_DIR,
) -> list[FigureLink]:
    """Where each revision's PNG is: GitHub URLs, or files relative to the report.

    Locally the base PNGs are copied out of git into ``<report folder>/base/``; the head
    PNGs are the workspace's.

    Args:
        figures: ``(file name, title)`` per figure, in report order.
        base_sha: The base commit.
        head_sha: The head commit (used for GitHub URLs only).
        out: The report file.
        repo_url: ``https://github.com/<owner>/<repo>``, or "" for relative links.
        figures_dir: Where the compare stage writes the PNGs.
    """
    links = []
    for file, title in figures:
        path = f"{figures_dir}/{file}"
        if repo_url:
            base = (
                github_figure_url(repo_url, base_sha, path) if _exists_at(base_sha, path) else None
            )
            head = (
                github_figure_url(repo_url, head_sha, path) if _exists_at(head_sha, path) else None
            )
        else:
            base = None
            target = out.parent / "base" / file
            content = file_at(base_sha, path)
            if content is None:
                target.unlink(missing_ok=True)  # left from a report against another base
            else:
                with atomic_path(target) as temporary:
                    temporary.write_bytes(content)
                base = Path(os.path.relpath(target, out.parent)).as_posix()
            head = (
                Path(os.path.relpath(path, out.parent)).as_posix() if Path(path).is_file() else None
            )
        links.append(FigureLink(title, base, head))
    return links


def _default_repo_url() -> str:
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server.rstrip('/')}/{repository}" if server and repository else ""


def build_report(base: str, out: Path, repo_url: str) -> str:
    """Run git and dvc in the current directory (the repo root) and render the report."""
    from lrstudy.report import FIGURES  # the figures the compare stage writes

    base_sha = resolve_revision(base)
    head_sha = resolve_revision("HEAD", role="head")
    head_path = Path(METRICS_FILE)
    head_metrics = json.loads(head_path.read_text()) if head_path.is_file() else {}
    uncommitted = uncommitted_results()
    head_label = f"workspace at `{head_sha[:7]}`" + (
        " with uncommitted results" if uncommitted else ""
    )
    return render_report(
        params_diff=_dvc_json("params", "diff", base_sha),
        metrics_diff=_dvc_json("metrics", "diff", base_sha),
        base_metrics=metrics_at(base_sha, METRICS_FILE),
        head_metrics=head_metrics,
        figures=figure_links(
            [(entry.file, entry.title) for entry in FIGURES], base_sha, head_sha, out, repo_url
        ),
        base_label=f"`{base}` at `{base_sha[:7]}`",
        head_label=head_label,
        uncommitted=uncommitted,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Write the PR report; exit status 2 with a message on a problem the user can fix."""
    parser = argparse.ArgumentParser(
        description="Markdown report of what the workspace changes against a base revision: "
        "params diff, metrics diff, test accuracy with its seed spread, figures."
    )
    parser.add_argument("--base", default="main", help="git revision to compare against")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to write")
    parser.add_argument(
        "--repo-url",
        default=_default_repo_url(),
        help="https://github.com/OWNER/REPO: link figures to GitHub instead of local files "
        "(default: from GITHUB_SERVER_URL and GITHUB_REPOSITORY when set)",
    )
    parser.add_argument(
        "--check-committed",
        action="store_true",
        help="only check that the committed dvc.lock and reports/ are current for this "
        "code and params (outputs may be absent); exit 1 and list the stale stages if not",
    )
    args = parser.parse_args(argv)
    if args.check_committed:
        stale = stale_stages(_dvc_json("status"), holds_files)
        for stage in stale:
            print(f"stale: {stage}")
        return 1 if stale else 0
    try:
        report = build_report(args.base, args.out, args.repo_url)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_text(args.out, report)
    print(f"PR report → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
