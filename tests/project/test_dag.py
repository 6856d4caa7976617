"""`make dag` (.ci/dag.py): a readable list of the stages instead of `dvc dag`'s wide drawing."""

from __future__ import annotations

import subprocess
import sys

from ..conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / ".ci" / "dag.py"

# A hand-made `dvc dag --dot`: two items of a foreach stage, validate upstream of all.
DOT = """strict digraph {
"validate";
"split";
"train@a";
"train@b";
"compare";
"validate" -> "split";
"validate" -> "train@a";
"validate" -> "train@b";
"validate" -> "compare";
"split" -> "train@a";
"split" -> "train@b";
"train@a" -> "compare";
"train@b" -> "compare";
}
"""


def dag(dot: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], input=dot, capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_foreach_items_are_one_line_and_only_direct_needs_are_listed() -> None:
    assert dag(DOT) == [
        "stages in run order, each <- the stages it needs directly:",
        "  validate",
        "  split        <- validate",
        "  train@… (2)  <- split",
        "  compare      <- train@… (2)",
        "every stage: dvc dag --mermaid (GitHub renders it), or dvc dag --dot",
    ]


def test_the_projects_dag_is_narrow_and_names_every_stage() -> None:
    dvc = PROJECT_ROOT / ".venv" / "bin" / "dvc"
    dot = subprocess.run(
        [str(dvc), "dag", "--dot"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    listed = dag(dot)
    assert max(len(line) for line in listed) <= 100  # dvc dag: 1,762 columns at 41 settings
    stages = [line.split()[0] for line in listed[1:-1]]
    assert stages[0] == "validate" and stages[-1] == "compare"
    for stage in ("generate", "split", "train@…", "sweep", "lr_find", "train_suggested@…"):
        assert stage in stages
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "dag: $(STAMP)" in makefile and "dvc dag --dot | $(BIN)/python .ci/dag.py" in makefile
