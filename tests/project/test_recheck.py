"""``make recheck`` (``benchmarks/recheck.py``): the comparison of a from-scratch rerun with
the committed results, on small folders (the full rerun takes about 10 minutes and is not
run here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ..conftest import PROJECT_ROOT, benchmark_module, committed_text


def _recheck():
    return benchmark_module("recheck")


recheck = _recheck()

LOCK = """schema: '2.0'
stages:
  generate:
    cmd: python -m lrstudy.stages.generate
    outs:
    - path: data/raw/dataset.csv
      hash: md5
      md5: {data}
      size: 10
  compare:
    cmd: python -m lrstudy.stages.compare
    outs:
    - path: reports/metrics.json
      hash: md5
      md5: 22222222222222222222222222222222
      size: 2
    - path: sweep
      hash: md5
      md5: 33333333333333333333333333333333.dir
      size: 3
      nfiles: 1
"""


def checkout(root: Path, data_md5: str = "1" * 32, **files: str) -> Path:
    """A folder holding a dvc.lock and ``files`` (relative path: text)."""
    (root / "reports").mkdir(parents=True)
    (root / "dvc.lock").write_text(LOCK.format(data=data_md5))
    for name, text in files.items():
        path = root / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


FILES = {"reports__metrics.json": "{}", "sweep__curve.csv": "lr\n", "lr_find__s.json": "[]"}


def test_identical_checkouts_are_reproduced(tmp_path: Path) -> None:
    expected = checkout(tmp_path / "committed", **FILES)
    actual = checkout(tmp_path / "rerun", **FILES)
    outputs, files = recheck.compare_results(expected, actual)
    assert outputs.ok and files.ok
    assert outputs.same == ["data/raw/dataset.csv", "reports/metrics.json", "sweep"]
    assert files.same == ["dvc.lock", "lr_find/s.json", "reports/metrics.json", "sweep/curve.csv"]
    assert files.summary() == "files (dvc.lock, reports/, sweep/, lr_find/): 4 of 4 same"


def test_a_differing_file_is_flagged(tmp_path: Path) -> None:
    expected = checkout(tmp_path / "committed", **FILES)
    actual = checkout(tmp_path / "rerun", **{**FILES, "sweep__curve.csv": "lr\n0.1\n"})
    outputs, files = recheck.compare_results(expected, actual)
    assert outputs.ok  # the lock's hashes were not touched in this example
    assert not files.ok
    assert files.different == ["sweep/curve.csv"]
    assert "  DIFFERENT sweep/curve.csv" in files.lines()
    assert "  same      reports/metrics.json" in files.lines()
    assert files.summary().endswith("3 of 4 same (1 different)")


def test_a_differing_lock_hash_and_a_missing_and_a_new_file_are_flagged(tmp_path) -> None:
    expected = checkout(tmp_path / "committed", **FILES)
    rerun_files = {k: v for k, v in FILES.items() if k != "lr_find__s.json"}
    actual = checkout(
        tmp_path / "rerun", data_md5="9" * 32, **rerun_files, reports__extra_figure="x"
    )
    outputs, files = recheck.compare_results(expected, actual)
    assert outputs.different == ["data/raw/dataset.csv"] and not outputs.ok
    assert files.missing == ["lr_find/s.json"]
    assert files.extra == ["reports/extra_figure"]
    assert files.different == ["dvc.lock"]
    assert "  MISSING   lr_find/s.json" in files.lines()
    assert "  NEW       reports/extra_figure" in files.lines()
    assert files.summary().endswith("(1 different, 1 missing, 1 not committed)")


def test_nothing_compared_is_not_a_match() -> None:
    assert not recheck.compare("files", {}, {}).ok


def test_the_committed_lock_lists_every_output_with_a_hash() -> None:
    outputs = recheck.lock_outputs(committed_text("dvc.lock"))
    assert len(outputs) > 40
    assert {"reports/metrics.json", "sweep/results.csv", "lr_find/curves.csv"} <= set(outputs)
    assert all(re.fullmatch(r"[0-9a-f]{32}(\.dir)?", md5) for md5 in outputs.values())


@pytest.mark.parametrize("text", ["", "stages: 3\n", "- a list\n"])
def test_a_file_that_is_not_a_lock_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a dvc\.lock: no 'stages' mapping"):
        recheck.lock_outputs(text)


def test_it_compares_every_output_committed_to_git() -> None:
    """The folders compared byte for byte hold every output dvc.yaml commits to git
    (``cache: false``): the ones a plain ``dvc repro`` of a fresh clone skips."""
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    committed = set()
    for stage in stages.values():
        for out in stage.get("outs", []) + stage.get("metrics", []) + stage.get("plots", []):
            if isinstance(out, dict):
                ((path, options),) = out.items()
                if (options or {}).get("cache") is False:
                    committed.add(path.split("/")[0])
    assert committed == set(recheck.COMMITTED_FOLDERS)


def test_make_recheck_runs_the_script_in_the_venv() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    rule = re.search(r"^recheck: \$\(STAMP\) ## (.+)\n\t(.+)$", makefile, re.MULTILINE)
    assert rule, "no recheck target"
    assert rule.group(2) == "$(BIN)/python benchmarks/recheck.py"
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout
    assert re.search(r"make recheck +Rerun every stage from scratch", listed)


def test_readme_says_what_each_command_checks() -> None:
    """The Quick start's table has a row per command, and the recheck row names the words
    the script prints."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = {
        line.split("|")[1].strip(): line
        for line in readme[readme.index("## Quick start") : readme.index("## Results")].splitlines()
        if line.startswith("| `make ")
    }
    assert list(rows) == ["`make repro`", "`make test`", "`make recheck`"]
    row = rows["`make recheck`"]
    assert "`dvc repro --force` in a temporary clone of HEAD" in row
    assert f"`{recheck.REPRODUCED}` (exit status 0)" in row
    assert f"`{recheck.NOT_REPRODUCED}`" in row and "(exit status 1)" in row
    assert all(f"`{label}`" in row for label in recheck.LABELS.values())
    assert all(f"`{folder}/`" in row for folder in recheck.COMMITTED_FOLDERS)
    assert "does not recompute" in rows["`make repro`"] or "not recomputed" in rows["`make repro`"]
