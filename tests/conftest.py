"""Shared fixtures: the project's committed params.yaml and small in-memory configs.

Tests read params.yaml and the pipeline's results as committed (``git show HEAD:...``),
never the workspace copies that ``make repro``, ``dvc exp run`` or ``dvc exp apply``
rewrite: a test of the project must not depend on the user's last experiment.
"""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lrstudy.config import Config, parse_config, parse_params_text

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def benchmark_module(name: str) -> Any:
    """``benchmarks/<name>.py`` imported as module ``name`` (the folder is no package).

    Registered in ``sys.modules`` first: dataclasses look their module up there.
    """
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def committed_text(path: str) -> str:
    """A file of this checkout as committed at HEAD (``git show HEAD:<path>``).

    Raises:
        RuntimeError: git cannot show it (not a git checkout, or the file is not committed).
    """
    result = subprocess.run(
        ["git", "show", f"HEAD:{path}"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"git show HEAD:{path} failed: {result.stderr.strip()}")
    return result.stdout


def committed_params() -> dict[str, Any]:
    """params.yaml as committed at HEAD, read as DVC and lrstudy read it (YAML 1.2)."""
    return parse_params_text(committed_text("params.yaml"), "HEAD:params.yaml")


@pytest.fixture(scope="session")
def default_params() -> dict[str, Any]:
    """The committed params.yaml, read as DVC and lrstudy read it (a fresh deep copy per use
    via ``params``)."""
    return committed_params()


@pytest.fixture
def params(default_params: dict[str, Any]) -> dict[str, Any]:
    """A mutable copy of params.yaml."""
    return copy.deepcopy(default_params)


@pytest.fixture
def config(params: dict[str, Any]) -> Config:
    """The validated default config."""
    return parse_config(params)


def tiny_params(base: dict[str, Any]) -> dict[str, Any]:
    """Tiny, fast parameters for tests that train: 200 samples, 3 epochs, 1 seed.

    No budget below 1 (``tune.budgets``: 0.25 of 3 epochs is none, which the params
    check refuses).
    """
    tiny = copy.deepcopy(base)
    tiny["data"]["n_samples"] = 200
    tiny["train"].update({"epochs": 3, "seeds": 1})
    if "tune" in tiny:
        tiny["tune"]["budgets"] = [1]
    tiny["evaluate"]["grid"]["points"] = 20
    return tiny
