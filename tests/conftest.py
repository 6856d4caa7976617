"""Shared fixtures: the project's params.yaml and small in-memory configs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lrstudy.config import Config, parse_config, read_params

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def default_params() -> dict[str, Any]:
    """params.yaml as DVC and lrstudy read it (a fresh deep copy per use via ``params``)."""
    return read_params(PROJECT_ROOT / "params.yaml")


@pytest.fixture
def params(default_params: dict[str, Any]) -> dict[str, Any]:
    """A mutable copy of params.yaml."""
    return copy.deepcopy(default_params)


@pytest.fixture
def config(params: dict[str, Any]) -> Config:
    """The validated default config."""
    return parse_config(params)


def tiny_params(base: dict[str, Any]) -> dict[str, Any]:
    """Tiny, fast parameters for tests that train: 200 samples, 3 epochs, 1 seed."""
    tiny = copy.deepcopy(base)
    tiny["data"]["n_samples"] = 200
    tiny["train"].update({"epochs": 3, "seeds": 1})
    tiny["evaluate"]["grid"]["points"] = 20
    return tiny
