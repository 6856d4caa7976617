"""``make dry-run`` against what DVC really runs (issue 21 item 9).

DVC's own dry runs fail here: ``dvc repro --dry`` on a project whose cached outputs are
missing (a fresh clone), ``dvc exp run --dry`` always (treeverse/dvc#9021). ``make dry-run``
must work in both cases and list exactly the stages DVC then runs, in DVC's order.
"""

from __future__ import annotations

import pytest

from .conftest import RAN, VENV, Project, commit_all, copy_project, keep_settings, make

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny copy with two settings (and the suggested one), committed, never reproduced.

    Two, not the tiny study's five: what is checked is the plan's stages and their order
    (two ``train@`` stages among the others), which three more settings would only repeat
    at about 8 s of training each.
    """
    project = copy_project(tmp_path_factory.mktemp("dry-run"))
    keep_settings(project, "lr_medium", "plateau")
    commit_all(project, "two settings")
    return project


def planned(project: Project, *assignments: str) -> list[str]:
    """The stages ``make dry-run`` lists (params.yaml untouched, checked)."""
    before = (project.root / "params.yaml").read_bytes()
    result = make(project, "dry-run", f"SET={' '.join(assignments)}")
    assert (project.root / "params.yaml").read_bytes() == before
    lines = result.stdout.splitlines()
    if lines[0].startswith("dry run: nothing would run"):
        return []
    assert lines[0].startswith(f"dry run: {len(lines) - 1} stages would run")
    return [line.split()[0] for line in lines[1:]]


def test_a_fresh_clone_plans_every_stage_and_dvc_runs_exactly_those(project: Project) -> None:
    assert project.run("dvc", "repro", "--dry", check=False).returncode != 0  # DVC's bug
    plan = planned(project)
    ran, _ = project.repro()
    assert plan == ran
    assert planned(project) == []


def test_a_changed_param_plans_what_dvc_exp_run_runs(project: Project) -> None:
    commit_all(project, "reproduced")
    dry = project.run("dvc", "exp", "run", "--dry", "-S", "train.epochs=3", check=False)
    assert dry.returncode != 0  # DVC's bug: the validate stage's marker
    change = "settings.lr_medium.lr=0.006"
    plan = planned(project, change)
    assert plan == ["validate", "train@lr_medium", "compare"]
    result = project.run("dvc", "exp", "run", "-S", change)
    assert RAN.findall(result.stdout + result.stderr) == plan


def test_a_new_setting_runs_before_compare_and_a_runaway_study_is_refused(project) -> None:
    plan = planned(project, "settings.extra.lr=0.01")
    assert plan[-2:] == ["train@extra", "compare"]
    result = project.run(
        *("make", "--no-print-directory", "-o", str(VENV / ".installed"), f"VENV={VENV}"),
        *("dry-run", "SET=train.epochs=10000000"),
        check=False,
    )
    assert result.returncode != 0
    assert "params.yaml: train.epochs: 10000000: the study would take about " in result.stderr
