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

from .conftest import PROJECT_ROOT

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


@pytest.mark.parametrize("stage", ["validate", "generate", "split", "train", "evaluate", "compare"])
def test_code_deps_are_exactly_the_imported_modules(stage: str) -> None:
    definition = stages()[stage]
    definition = definition.get("do", definition)
    declared = {dep for dep in definition["deps"] if dep.startswith("src/")}
    assert declared == imported_files(f"lrstudy.stages.{stage}")


def test_stage_commands_run_their_own_module() -> None:
    for name, definition in stages().items():
        definition = definition.get("do", definition)
        assert f"python -m lrstudy.stages.{name} " in definition["cmd"]
