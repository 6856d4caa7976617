"""The pull-request workflow: triggers, least permissions, and steps that call the
project's own commands (the report itself is `make pr-report`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lrstudy.pr_report.command import DEFAULT_OUT
from lrstudy.pr_report.rendering import MARKER

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pr-report.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True; GitHub reads "on".
    return workflow.get("on", workflow.get(True))


def runs(steps: list[dict[str, Any]]) -> str:
    return "\n".join(step.get("run", "") for step in steps)


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-zA-Z_-]+):", text, flags=re.MULTILINE))


def test_runs_on_every_pull_request(workflow: dict[Any, Any]) -> None:
    on = triggers(workflow)
    assert "pull_request" in on
    types = (on["pull_request"] or {}).get("types", ["opened", "synchronize", "reopened"])
    assert {"opened", "synchronize", "reopened"} <= set(types)


def test_has_the_least_permissions(workflow: dict[Any, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    for job in workflow["jobs"].values():
        assert "permissions" not in job


def test_needs_no_secret_beyond_the_default_token(steps: list[dict[str, Any]]) -> None:
    assert re.findall(r"secrets\.\w+", WORKFLOW.read_text()) == []
    # Event values reach shell scripts through env, never pasted into the script text.
    assert all("${{" not in step.get("run", "") for step in steps)


def test_installs_the_pinned_environment(steps: list[dict[str, Any]]) -> None:
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    python = next(
        step for step in steps if step.get("uses", "").startswith("actions/setup-python@")
    )
    assert str(python["with"]["python-version"]) == "3.11"
    assert re.search(r"^make venv\b", runs(steps), flags=re.MULTILINE)
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_reproduces_then_builds_the_report_with_the_project_command(
    steps: list[dict[str, Any]],
) -> None:
    script = runs(steps)
    pull, repro = script.index("dvc pull"), script.index("make repro")
    report = script.index("make pr-report BASE=")
    assert pull < repro < report
    assert 'BASE="origin/$BASE_REF"' in script
    step = next(step for step in steps if "make pr-report" in step.get("run", ""))
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    used = set(re.findall(r"\bmake ([a-z][\w-]*)", script))
    assert used <= make_targets(), used - make_targets()


def test_the_makefile_writes_the_report_the_workflow_posts() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"-m lrstudy.pr_report --base '$(BASE)' --out {DEFAULT_OUT}" in makefile
    assert re.search(r"^BASE \?= main$", makefile, flags=re.MULTILINE)


def test_posts_or_updates_one_comment(steps: list[dict[str, Any]]) -> None:
    (post,) = [step for step in steps if step.get("uses", "").startswith("actions/github-script@")]
    script = post["with"]["script"]
    assert MARKER in script
    assert f"readFileSync('{DEFAULT_OUT}'" in script
    assert "updateComment" in script and "createComment" in script
    assert "github.event_name == 'pull_request'" in post["if"]


def test_uses_committed_results_only_when_they_are_current(steps) -> None:
    (step,) = [step for step in steps if "dvc pull" in step.get("run", "")]
    script = step["run"]
    pull = script.index("dvc pull")
    check = script.index("python -m lrstudy.pr_report --check-committed")
    repro = script.index("make repro")
    assert pull < check < repro
    # The repro is the last resort: it sits in the branch taken when the check fails.
    assert script.index("else", check) < repro


def test_ci_calls_only_existing_make_targets_and_scripts() -> None:
    """.ci/run's `make X` are Makefile targets and its `bash .ci/Y` exist (a renamed target
    or script would fail CI only when it gets there)."""
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines() if not line.lstrip().startswith("#")]
    used = {m for line in commands for m in re.findall(r"^make ([a-z][\w-]*)", line)}
    assert {"lint", "test", "cross-python-venvs"} <= used
    assert used <= make_targets(), used - make_targets()
    scripts = {m for line in commands for m in re.findall(r"^bash (\.ci/[\w-]+)", line)}
    assert {".ci/install-qemu", ".ci/install-pythons"} <= scripts
    assert all((ROOT / path).is_file() for path in scripts)
