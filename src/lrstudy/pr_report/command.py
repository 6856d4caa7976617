"""``make pr-report``: write the PR report of the workspace against a base revision.

``python -m lrstudy.pr_report --base main --out build/pr-report/report.md`` builds the
report from git and dvc (``revisions``) and writes it; ``--check-committed`` only checks
that the committed results are current (``freshness``), for the GitHub workflow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lrstudy.io import write_text
from lrstudy.pr_report.diffs import METRICS_FILE
from lrstudy.pr_report.freshness import holds_files, stale_stages, uncommitted_results
from lrstudy.pr_report.rendering import render_report
from lrstudy.pr_report.revisions import (
    ReportError,
    dvc_json,
    figure_links,
    metrics_at,
    resolve_revision,
)
from lrstudy.report.figures import FIGURES

DEFAULT_OUT = Path("build/pr-report/report.md")
# The program name in usage and error lines: the command as users run it.
PROG = "python -m lrstudy.pr_report"


def _default_repo_url() -> str:
    """``https://github.com/<owner>/<repo>`` inside GitHub Actions, else ""."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server.rstrip('/')}/{repository}" if server and repository else ""


def build_report(base: str, out: Path, repo_url: str) -> str:
    """Run git and dvc in the current directory (the repo root) and render the report."""
    base_sha = resolve_revision(base)
    head_sha = resolve_revision("HEAD", role="head")
    head_path = Path(METRICS_FILE)
    head_metrics = json.loads(head_path.read_text()) if head_path.is_file() else {}
    uncommitted = uncommitted_results()
    head_label = f"workspace at `{head_sha[:7]}`" + (
        " with uncommitted results" if uncommitted else ""
    )
    return render_report(
        params_diff=dvc_json("params", "diff", base_sha),
        metrics_diff=dvc_json("metrics", "diff", base_sha),
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
        prog=PROG,
        description="Markdown report of what the workspace changes against a base revision: "
        "params diff, metrics diff, test accuracy with its seed spread, figures.",
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
        stale = stale_stages(dvc_json("status"), holds_files)
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
