"""One concern per module: size limits that keep each module and function readable.

Measured on the source itself (``ast``), so a module that grows past them fails here
rather than in review: a module of at most ``MAX_MODULE_LINES`` lines, a function body of
at most ``MAX_FUNCTION_LINES`` (its docstring aside), and stage scripts that only read,
call and write (``MAX_STAGE_LINES`` of code, a ``main`` of at most ``MAX_STAGE_MAIN_LINES``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "lrstudy"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
MAX_STAGE_LINES = 60
MAX_STAGE_MAIN_LINES = 40
MODULES = sorted(PACKAGE.rglob("*.py"))
STAGES = sorted(path for path in (PACKAGE / "stages").glob("*.py") if path.name != "__init__.py")


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Module) -> int:
    """Lines from the first statement after the docstring to the end of ``node``."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    end = node.end_lineno if not isinstance(node, ast.Module) else body[-1].end_lineno
    return end - body[0].lineno + 1


def functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_module_is_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_functions_are_short(path: Path) -> None:
    long = {f.name: body_lines(f) for f in functions(path) if body_lines(f) > MAX_FUNCTION_LINES}
    assert long == {}


@pytest.mark.parametrize("path", STAGES, ids=relative)
def test_stage_is_a_thin_shell(path: Path) -> None:
    assert body_lines(ast.parse(path.read_text())) <= MAX_STAGE_LINES
    mains = [f for f in functions(path) if f.name == "main"]
    assert len(mains) == 1
    assert body_lines(mains[0]) <= MAX_STAGE_MAIN_LINES


def test_the_limits_can_fail() -> None:
    """The measure counts a long function's body (a check that could never fail is none)."""
    source = "def f():\n    '''Doc.'''\n" + "    x = 1\n" * (MAX_FUNCTION_LINES + 1)
    (node,) = ast.parse(source).body
    assert body_lines(node) == MAX_FUNCTION_LINES + 1
