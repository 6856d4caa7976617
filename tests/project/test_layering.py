"""Imports run one way: down the layers of the package, with no cycles.

A module may import modules of its own layer or below, never above: the foundations know
nothing of the study, the stages know everything and nothing imports them. Every import
of ``lrstudy`` anywhere in a file counts, at module level or inside a function. A new
top-level module or package must be given a layer here (the test fails until it is).
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT

SRC = PROJECT_ROOT / "src"
# Top-level modules and packages of lrstudy, lowest layer first.
LAYERS = (
    {"", "clock", "executor", "io", "runtime", "sample_size"},  # "": the package's __init__
    {"statistics", "sweep"},
    {"config", "runlog", "equivalence", "tuning", "budgets"},
    {"data"},
    {
        "schedule_formulas",
        "schedules",
        "rate_plan",
        "prodigy",
        "keras_optimizers",
        "model",
        "evaluation",
    },
    {
        "training_run",
        "member_optimizers",
        "schedule_free",
        "stacked_network",
        "population",
        "training",
        "fit_loop",
        "lr_finder",
        "report",
        "plots",
        "tuned_comparison",
    },
    {
        "sweep_training",
        "setting_training",
        "comparison",
        "cost",
        "dry_run",
        "pr_report",
        "vega_page",
    },
    {"tune_training"},
    {"stages"},
)
LAYER = {unit: index for index, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((SRC / "lrstudy").rglob("*.py"))}


def unit(module: str) -> str:
    """The top-level module or package of ``lrstudy.<unit>...`` ("" for the package)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(module: str) -> set[str]:
    """The lrstudy modules ``module`` imports (``from lrstudy import x`` names module x)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lrstudy"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("lrstudy")}
    return found - {module}


def test_every_module_has_a_layer() -> None:
    assert {unit(module) for module in MODULES} - LAYER.keys() == set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_run_up_the_layers(module: str) -> None:
    upward = {
        imported
        for imported in imports(module)
        if LAYER.get(unit(imported), -1) > LAYER.get(unit(module), -1)
    }
    assert upward == set()


def test_no_import_cycles() -> None:
    graph = {module: imports(module) for module in MODULES}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:  # pragma: no cover - reported as the failure
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_the_rules_can_fail() -> None:
    """A report module importing a stage would run up the layers; a cycle is caught."""
    assert LAYER[unit("lrstudy.stages.compare")] > LAYER[unit("lrstudy.report.summary")]
    with pytest.raises(CycleError):
        tuple(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())
