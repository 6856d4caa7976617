"""Whether the committed pipeline results are current: the CI check and the report's warning.

``stale_stages`` reads ``dvc status --json`` for ``--check-committed`` (the workflow
reproduces the pipeline only when it finds a stale stage); ``uncommitted_results`` lists
results that differ from the head commit, which the report warns about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lrstudy.pr_report.revisions import git

WATCHED = ("dvc.lock", "reports")
"""Pipeline results committed to git: uncommitted changes here mean the numbers in the
report are not the ones the branch carries."""

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


def uncommitted_results(paths: Sequence[str] = WATCHED) -> list[str]:
    """Pipeline results that differ from HEAD (modified, added or deleted)."""
    output = git("status", "--porcelain", "--untracked-files=all", "--", *paths).stdout
    return [line[3:] for line in output.splitlines() if line.strip()]
