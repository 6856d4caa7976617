"""A throw-away copy of the project in a temporary git repo, with tiny params.

The copy holds what ``git ls-files`` lists (tracked and untracked-but-not-ignored files),
minus committed pipeline results, so ``dvc`` runs there exactly as a user's clone would
without touching this checkout. params.yaml comes as committed at HEAD: an experiment the
user ran here (``dvc exp run -S ...``) rewrites the workspace copy, and the tests must not
depend on it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..conftest import PROJECT_ROOT, committed_text

LEFT_OUT = ("dvc.lock", "reports/")
COMMITTED = ("params.yaml",)
RAN = re.compile(r"Running stage '([^']+)'")


# The notebook's four runs, plus one per-step schedule so its per-step log is built and
# checked for reproducibility too (every schedule setting trains in
# tests/test_training_schedules.py).
PIPELINE_SETTINGS = ("lr_large", "lr_small", "lr_medium", "plateau", "one_cycle")


def tiny_pipeline_params(params: dict[str, Any]) -> dict[str, Any]:
    """Shrink params.yaml so the whole pipeline runs in seconds per stage.

    Keeps ``PIPELINE_SETTINGS`` and the ``suggested`` settings; 200 samples, 2 epochs,
    1 seed, a 20×20 grid, a sweep of 3 rates, a range test of 20 steps and a tuning grid
    of 3 rates on 1 tuning seed.
    """
    params["data"]["n_samples"] = 200
    params["train"].update({"epochs": 2, "seeds": 1})
    params["evaluate"]["grid"]["points"] = 20
    params["sweep"].update({"min_lr": 1e-3, "max_lr": 0.1, "per_decade": 1})
    params["lr_find"].update({"steps": 20})
    params["tune"].update({"min_lr": 1e-3, "max_lr": 0.1, "per_decade": 1, "seeds": 1})
    params["settings"] = {name: params["settings"][name] for name in PIPELINE_SETTINGS}
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
        if relative in COMMITTED:
            target.write_text(committed_text(relative))
        else:
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


# --- helpers for experiments, queues, remotes and make targets (tests/pipeline/
# test_experiments.py); nothing above depends on them ---------------------------------

QUEUE_BUSY = re.compile(r"\b(Queued|Running)\b")
VENV = Path(sys.executable).parent.parent


def keep_settings(project: Project, *names: str) -> None:
    """Drop every entry of ``settings`` but ``names`` from the copy's params.yaml."""

    def change(params: dict[str, Any]) -> None:
        params["settings"] = {name: params["settings"][name] for name in names}

    project.edit_params(change)


def commit_all(project: Project, message: str) -> None:
    """``git add -A`` and commit everything in the copy."""
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "-m", message)


def use_remote(project: Project, url: Path) -> None:
    """Point the default DVC remote at ``url`` in .dvc/config.local (never the real one)."""
    remote = project.run("dvc", "config", "core.remote").stdout.strip()
    project.run("dvc", "remote", "modify", "--local", remote, "url", str(url))


def wait_for_queue(project: Project, timeout: float = 600) -> str:
    """Poll ``dvc queue status`` until no task is queued or running; return the status."""
    deadline = time.monotonic() + timeout
    while True:
        status = project.run("dvc", "queue", "status").stdout
        if not QUEUE_BUSY.search(status):
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"dvc queue still busy after {timeout} s:\n{status}")
        time.sleep(2)


def experiments(show: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``dvc exp show --json`` as {experiment name: row}, baselines included.

    A row has ``rev``, ``baseline`` (its commit), ``executor`` (state or None), and the
    flattened ``params`` (params.yaml) and ``metrics`` (every metrics file):
    ``{"settings.lr_medium.lr": 0.01}``, ``{"lr_medium.test_accuracy.mean": 0.9}``.
    """

    def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
        if not isinstance(tree, dict):
            return {prefix[:-1]: tree}
        return {
            k: v for key, value in tree.items() for k, v in flat(value, f"{prefix}{key}.").items()
        }

    def row(entry: dict[str, Any], baseline: str, executor: Any) -> dict[str, Any]:
        data = entry.get("data") or {}
        metrics: dict[str, Any] = {}
        for document in (data.get("metrics") or {}).values():
            metrics.update(flat(document.get("data") or {}))
        params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
        state = executor.get("state") if isinstance(executor, dict) else None
        return {
            "rev": entry["rev"],
            "baseline": baseline,
            "executor": state,
            "params": flat(params),
            "metrics": metrics,
        }

    rows = {}
    for base in show:
        rows[base.get("name") or base["rev"]] = row(base, base["rev"], None)
        for experiment in base.get("experiments") or []:
            for entry in experiment["revs"]:
                name = entry.get("name") or experiment.get("name") or entry["rev"]
                rows[name] = row(entry, base["rev"], experiment.get("executor"))
    return rows


def lock_outputs(root: Path) -> list[str]:
    """Every output path that dvc.lock records, in file order."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return [out["path"] for stage in lock["stages"].values() for out in stage.get("outs", [])]


def file_digests(root: Path, paths: list[str]) -> dict[str, str]:
    """sha256 of every file under each of ``paths`` (relative to ``root``)."""
    digests = {}
    for relative in paths:
        path = root / relative
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digests[file.relative_to(root).as_posix()] = hashlib.sha256(
                file.read_bytes()
            ).hexdigest()
    return digests


def make(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a Makefile target in the copy with this test run's venv (never rebuilt)."""
    stamp = VENV / ".installed"
    return project.run("make", "--no-print-directory", "-o", str(stamp), f"VENV={VENV}", *args)
