"""The README stays true: its results table matches the committed reports/metrics.json,
and every file it links to exists.

The results are read as committed (``git show HEAD:reports/metrics.json``): ``make repro``,
``dvc exp run`` and ``dvc exp apply`` rewrite the workspace copy, and the README describes
the committed results, not the user's last experiment."""

from __future__ import annotations

import json
import re

from .conftest import PROJECT_ROOT, committed_text

README = (PROJECT_ROOT / "README.md").read_text()


def results_rows() -> dict[str, list[str]]:
    start = README.index("<!-- results-table")
    end = README.index("<!-- end results-table -->")
    rows = {}
    for line in README[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = cells
    return rows


def test_results_table_matches_committed_metrics(default_params) -> None:
    metrics = json.loads(committed_text("reports/metrics.json"))
    rows = results_rows()
    assert list(rows) == list(metrics) == list(default_params["settings"])
    for name, cells in rows.items():
        accuracy = metrics[name]["test_accuracy"]
        assert cells[3] == f"{accuracy['mean']:.4f} ± {accuracy['std']:.4f}", name
        assert cells[4] == f"{accuracy['min']:.4f} – {accuracy['max']:.4f}", name


def test_linked_files_exist() -> None:
    links = re.findall(r"\]\(((?:reports|benchmarks|docs|src|tests|\.dvc)/[^)#]+)\)", README)
    assert links, "the README embeds the figures"
    missing = [link for link in links if not (PROJECT_ROOT / link).exists()]
    assert missing == []
