"""params.yaml is written in the form DVC writes it, so an experiment's params.yaml differs
from the committed one only in the keys the experiment set.

``dvc exp run -S`` rewrites params.yaml with ``dvc.utils.hydra.apply_overrides`` (ruamel
round trip): a flow list such as ``[10, 10]`` would come back as a block list, and every
experiment branch would carry that unrelated diff. DVC's own function is the reference.
The committed params.yaml is checked (the workspace copy may hold an experiment's).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from dvc.utils.hydra import apply_overrides

from ..conftest import committed_text


def changed_lines(before: str, after: str) -> list[str]:
    """The lines ``difflib`` marks as removed (``-``) or added (``+``)."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("settings.lr_medium.lr=0.01", ["-    lr: 0.005", "+    lr: 0.01"]),
        ("+settings.lr_tiny.lr=0.002", ["+  lr_tiny:", "+    lr: 0.002"]),
        ("model.activation=relu", ["-  activation: tanh     # ", "+  activation: relu     # "]),
    ],
)
def test_dvc_set_param_changes_only_the_key_it_sets(
    tmp_path: Path, override: str, expected: list[str]
) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(committed_text("params.yaml"))
    before = path.read_text()
    apply_overrides(path, [override])
    lines = changed_lines(before, path.read_text())
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_dvc_removing_a_setting_removes_only_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(committed_text("params.yaml"))
    before = path.read_text()
    apply_overrides(path, ["~settings.lr_large"])
    lines = changed_lines(before, path.read_text())
    assert lines and all(line.startswith("-") for line in lines), lines
    assert lines[0].startswith("-  lr_large:")
