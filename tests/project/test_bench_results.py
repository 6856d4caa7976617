"""The README quotes the committed benchmark results verbatim (make bench writes them)."""

from __future__ import annotations

import re

from ..conftest import PROJECT_ROOT

BLOCK = re.compile(r"<!-- bench-results:[^>]*-->\n(.*?)<!-- end bench-results -->", re.DOTALL)


def test_readme_speed_tables_are_copied_from_benchmarks_results() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    results = (PROJECT_ROOT / "benchmarks" / "results.md").read_text(encoding="utf-8")
    match = BLOCK.search(readme)
    assert match, "README.md has no bench-results block"
    quoted = [line for line in match.group(1).splitlines() if line.strip()]
    assert any("speed-up vs notebook" in line for line in quoted)
    result_lines = set(results.splitlines())
    missing = [line for line in quoted if line not in result_lines]
    assert not missing, f"README lines not in benchmarks/results.md: {missing}"
