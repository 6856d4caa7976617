"""A throw-away copy of the project in a temporary git repo, with tiny params.

The copy holds what ``git ls-files`` lists (tracked and untracked-but-not-ignored files),
minus committed pipeline results, so ``dvc`` runs there exactly as a user's clone would
without touching this checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = ("dvc.lock", "reports/")
RAN = re.compile(r"Running stage '([^']+)'")


def tiny_pipeline_params(params: dict[str, Any]) -> dict[str, Any]:
    """Shrink params.yaml so the whole pipeline runs in seconds per stage."""
    params["data"]["n_samples"] = 200
    params["train"].update({"epochs": 2, "seeds": 1})
    params["evaluate"]["grid"]["points"] = 20
    for setting in params["settings"].values():
        setting.pop("epochs", None)
    return params


@dataclass
class Project:
    """A project copy and helpers to run commands in it."""

    root: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command in the copy; fail with its output if ``check`` and it fails."""
        result = subprocess.run(
            args, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=900
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result

    def repro(
        self, *args: str, check: bool = True
    ) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        """``dvc repro``; return the names of the stages that ran, in order."""
        result = self.run("dvc", "repro", *args, check=check)
        return RAN.findall(result.stdout + result.stderr), result

    def params(self) -> dict[str, Any]:
        """The copy's params.yaml."""
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def write_params(self, params: dict[str, Any]) -> None:
        """Replace the copy's params.yaml."""
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def edit_params(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``change`` to the copy's params.yaml in place."""
        params = self.params()
        change(params)
        self.write_params(params)


def project_env() -> dict[str, str]:
    """The environment for dvc and git in the copy: this venv first on PATH, a git
    identity, no analytics."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        {
            "GIT_AUTHOR_NAME": "lrstudy tests",
            "GIT_AUTHOR_EMAIL": "tests@lrstudy.invalid",
            "GIT_COMMITTER_NAME": "lrstudy tests",
            "GIT_COMMITTER_EMAIL": "tests@lrstudy.invalid",
            "DVC_NO_ANALYTICS": "1",
            "PYTHONHASHSEED": "0",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def copy_project(destination: Path) -> Project:
    """Copy the project's files into ``destination``, init git, commit, return it."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for relative in filter(None, listed):
        source = PROJECT_ROOT / relative
        if relative.startswith(LEFT_OUT) or not source.is_file():
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    project = Project(destination, project_env())
    project.edit_params(tiny_pipeline_params)
    project.run("git", "init", "-q", "-b", "main")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "-m", "tiny copy")
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A fresh tiny project copy per test module."""
    return copy_project(tmp_path_factory.mktemp("project"))
