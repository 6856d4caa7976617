"""The PR report's markdown: the figures section and the whole report.

Pure functions of parsed ``dvc params diff --json`` / ``dvc metrics diff --json`` output,
the two revisions' reports/metrics.json and the figure links; git and dvc run elsewhere
(``revisions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lrstudy.pr_report.accuracy import accuracy_chart, accuracy_section
from lrstudy.pr_report.diffs import (
    Diff,
    changed_settings,
    diff_changes,
    flatten,
    metric_decimals,
    metrics_section,
    params_table,
)

MARKER = "<!-- lrstudy-pr-report -->"
"""Hidden first line of the report: the workflow finds its own comment by it."""


@dataclass(frozen=True)
class FigureLink:
    """One figure of the comparison: its title and where each revision's PNG is."""

    title: str
    base: str | None
    head: str | None


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
        "<sub>Built by `make pr-report` (src/lrstudy/pr_report/); run it locally to read "
        "the same report before pushing.</sub>\n",
    ]
    return "\n".join(parts)


def github_figure_url(repo_url: str, revision: str, path: str) -> str:
    """A URL that shows a committed image in a GitHub comment.

    It needs no token in the link: readers who can see the repository see the image.
    """
    return f"{repo_url.rstrip('/')}/blob/{revision}/{path}?raw=true"
