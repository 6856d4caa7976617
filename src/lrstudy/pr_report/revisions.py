"""Everything of the PR report that runs git or dvc: revisions, committed files, diffs.

Resolves revisions, reads files as a revision committed them, runs dvc for its JSON
output and finds each revision's figures (GitHub URLs, or local copies of the base's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lrstudy.io import atomic_path
from lrstudy.pr_report.diffs import Diff
from lrstudy.pr_report.rendering import FigureLink, github_figure_url

FIGURES_DIR = "reports/figures"


class ReportError(Exception):
    """A problem the user can fix (unknown base revision, dvc failing)."""


def _run(args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ReportError(f"`{' '.join(args)}` failed:\n{(result.stderr or result.stdout)[-2000:]}")
    return result


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``git *args``; a ``ReportError`` if it fails and ``check``."""
    return _run(["git", *args], check=check)


def dvc_json(*args: str) -> Diff:
    """Parsed output of ``dvc *args --json`` ({} if it prints nothing)."""
    output = _run([sys.executable, "-m", "dvc", *args, "--json"]).stdout.strip()
    return json.loads(output) if output else {}


def resolve_revision(revision: str, role: str = "base") -> str:
    """The commit sha of a git revision; a clear error if git does not know it."""
    result = git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
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
    """Whether ``revision`` has a committed file at ``path``."""
    return git("cat-file", "-e", f"{revision}:{path}", check=False).returncode == 0


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
