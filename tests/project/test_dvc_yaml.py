"""dvc.yaml lists exactly the code each stage runs, so caching is precise.

The reference is independent of dvc.yaml: the ``lrstudy`` modules a stage script imports,
followed transitively through the source (package ``__init__`` files included, since
Python runs them on import).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from ..conftest import PROJECT_ROOT

SRC = PROJECT_ROOT / "src"


def module_file(module: str) -> Path:
    path = SRC / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_files(module: str) -> set[str]:
    """Every src file that importing ``module`` executes, as paths relative to the root."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        # Importing a.b.c runs a/__init__.py, a/b/__init__.py, then a/b/c.
        for depth in range(1, len(parts) + 1):
            path = module_file(".".join(parts[:depth]))
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            if relative in seen:
                continue
            seen.add(relative)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lrstudy"):
                    pending.append(node.module)
                    for alias in node.names:  # `from lrstudy import plots` imports a module
                        if module_file(f"{node.module}.{alias.name}").exists():
                            pending.append(f"{node.module}.{alias.name}")
                elif isinstance(node, ast.Import):
                    pending += [a.name for a in node.names if a.name.startswith("lrstudy")]
    return seen


def stages() -> dict[str, dict]:
    return yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]


# Settings under `suggested` run the train script in stages of their own.
SCRIPT = {"train_suggested": "train"}


@pytest.mark.parametrize(
    "stage",
    [
        "validate",
        "generate",
        "split",
        "train",
        "compare",
        "sweep",
        "lr_find",
        "train_suggested",
    ],
)
def test_code_deps_are_exactly_the_imported_modules(stage: str) -> None:
    definition = stages()[stage]
    definition = definition.get("do", definition)
    declared = {dep for dep in definition["deps"] if dep.startswith("src/")}
    assert declared == imported_files(f"lrstudy.stages.{SCRIPT.get(stage, stage)}")


def test_stage_commands_run_their_own_module() -> None:
    for name, definition in stages().items():
        definition = definition.get("do", definition)
        assert f"python -m lrstudy.stages.{SCRIPT.get(name, name)} " in definition["cmd"]


@pytest.mark.parametrize("stage", ["train_suggested"])
def test_suggested_stages_mirror_the_setting_stages(stage: str) -> None:
    """Same script, params and deps as train@, plus lr_find's suggestions, minus the tuning
    (a suggested setting's rate comes from the range test, not from a tuning grid)."""
    mine, theirs = stages()[stage]["do"], stages()[SCRIPT[stage]]["do"]
    assert mine["deps"] == ["lr_find/suggestions.json", *theirs["deps"]]
    params = [p.replace("suggested.", "settings.") for p in mine["params"]]
    assert params == [p for p in theirs["params"] if p != "tune"]
    untuned = theirs["cmd"].replace(' --tune "tune/${key}"', "")
    assert untuned != theirs["cmd"]
    assert mine["cmd"].replace(" --suggestions lr_find/suggestions.json", "") == untuned
    assert mine["outs"] == [out for out in theirs["outs"] if "tune/${key}" not in out]
