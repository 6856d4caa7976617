"""End-to-end: experiments, queued sweeps, the PR report and remote storage.

One tiny project copy (two settings) in a temporary git repo; the tests run in file
order: an experiment in the workspace, a queued two-run sweep in DVC's temporary
workspaces, a commit that keeps the first experiment and the PR report against the
baseline, then push to a temporary remote and pull into a fresh clone (experiments too).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from lrstudy.pr_report import MARKER, flatten, format_value

from .conftest import (
    RAN,
    Project,
    commit_all,
    copy_project,
    experiments,
    file_digests,
    keep_settings,
    lock_outputs,
    make,
    use_remote,
    wait_for_queue,
)

pytestmark = pytest.mark.slow

BASELINE_LR = 0.005  # settings.lr_medium.lr in params.yaml
EXPERIMENT_LR = 0.05
SWEEP = (0.001, 0.01)
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@dataclass
class Study:
    """The project copy, its temporary DVC remote and a bare git repo to serve as origin."""

    project: Project
    remote: Path
    origin: Path


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    """Two settings, reproduced and committed; the default remote points at a temp dir."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    keep_settings(project, "lr_large", "lr_medium")
    assert project.params()["settings"]["lr_medium"]["lr"] == BASELINE_LR
    remote = tmp_path_factory.mktemp("dvc-remote")
    use_remote(project, remote)
    ran, _ = project.repro()
    # generate, split, train@ and evaluate@ of both, sweep, lr_find, the suggested
    # setting's two stages, compare.
    assert len(ran) == 11
    commit_all(project, "baseline results")
    return Study(project, remote, tmp_path_factory.mktemp("origin") / "lrstudy.git")


def show(project: Project, *args: str) -> dict[str, dict]:
    """``dvc exp show --json`` by experiment name."""
    return experiments(json.loads(project.run("dvc", "exp", "show", "--json", *args).stdout))


def metrics_file(root: Path) -> dict:
    return json.loads((root / "reports" / "metrics.json").read_text())


# Every metrics file of dvc.yaml: the settings', the sweep's and the range test's.
METRICS_FILES = ("reports/metrics.json", "sweep/metrics.json", "lr_find/suggestions.json")


def all_metrics(root: Path) -> dict:
    """The metrics files merged, as ``experiments`` merges them (their keys do not clash)."""
    merged: dict = {}
    for relative in METRICS_FILES:
        merged.update(json.loads((root / relative).read_text()))
    return merged


def test_exp_run_set_reruns_only_what_reads_the_key(study: Study) -> None:
    project = study.project
    baseline = metrics_file(project.root)

    result = project.run(
        "dvc", "exp", "run", "-S", f"settings.lr_medium.lr={EXPERIMENT_LR}", "-n", "lr-up"
    )
    assert RAN.findall(result.stdout + result.stderr) == [
        "train@lr_medium",
        "evaluate@lr_medium",
        "compare",
    ]

    rows = show(project)
    experiment, main = rows["lr-up"], rows["main"]
    assert experiment["params"]["settings.lr_medium.lr"] == EXPERIMENT_LR
    assert main["params"]["settings.lr_medium.lr"] == BASELINE_LR
    before = baseline["lr_medium"]["test_loss"]["mean"]
    assert main["metrics"]["lr_medium.test_loss.mean"] == before
    assert experiment["metrics"]["lr_medium.test_loss.mean"] != before
    # The setting the override does not touch keeps its result.
    assert (
        experiment["metrics"]["lr_large.test_loss.mean"]
        == (baseline["lr_large"]["test_loss"]["mean"])
    )

    # `make exp-show`: the changed param and each setting's mean test accuracy, no clutter.
    table = make(project, "exp-show", "EXP_SHOW_ARGS=--csv").stdout
    header = next(line for line in table.splitlines() if line.startswith("Experiment,"))
    columns = set(header.split(",")) - {"Experiment", "rev", "typ", "Created", "parent"}
    assert columns == {
        "lr_large.test_accuracy.mean",
        "lr_medium.test_accuracy.mean",
        "lr_valley.test_accuracy.mean",
        "settings.lr_medium.lr",
    }

    # Back to the committed baseline for the queued sweep.
    project.run("git", "reset", "-q", "--hard")
    project.run("dvc", "checkout", "-q", "--force")
    assert project.run("git", "status", "--porcelain").stdout == ""


def test_queued_sweep_runs_in_temporary_workspaces(study: Study) -> None:
    project = study.project
    grid = ",".join(map(str, SWEEP))
    project.run("dvc", "exp", "run", "--queue", "-S", f"settings.lr_medium.lr={grid}")
    try:
        project.run("dvc", "queue", "start", "-j", "2")
        status = wait_for_queue(project)
    finally:
        project.run("dvc", "queue", "stop", check=False)
    if status.count("Success") != 2:
        names = re.findall(r"^[0-9a-f]+\s+(\S+)\s.*\b(?:Success|Failed)$", status, re.MULTILINE)
        logs = [project.run("dvc", "queue", "logs", name, check=False).stdout for name in names]
        pytest.fail(f"{status}\n" + "\n".join(log[-3000:] for log in logs))

    swept = {
        row["params"]["settings.lr_medium.lr"]: row
        for name, row in show(project).items()
        if row["executor"] is not None
    }
    assert set(swept) == set(SWEEP)
    for row in swept.values():
        assert row["executor"] == "success"
        assert 0 <= row["metrics"]["lr_medium.test_accuracy.mean"] <= 1
    losses = {row["metrics"]["lr_medium.test_loss.mean"] for row in swept.values()}
    assert len(losses) == 2
    # Queued runs happen in DVC's temporary workspaces: this one is untouched.
    assert project.run("git", "status", "--porcelain").stdout == ""


def test_pr_report_between_two_commits(study: Study) -> None:
    project, root = study.project, study.project.root
    base = metrics_file(root)
    # Keep the good experiment: its results come back without training.
    project.run("dvc", "exp", "apply", "lr-up")
    ran, _ = project.repro()
    assert ran == []
    commit_all(project, "lr_medium: lr 0.05")
    head = metrics_file(root)

    make(project, "pr-report", "BASE=HEAD~1")
    report_file = root / "build" / "pr-report" / "report.md"
    report = report_file.read_text()
    assert report.startswith(MARKER)
    assert f"| `settings.lr_medium.lr` | {BASELINE_LR} | {EXPERIMENT_LR} |" in report
    old, new = base["lr_medium"]["test_loss"], head["lr_medium"]["test_loss"]
    assert (
        f"| `lr_medium.test_loss.mean` | {format_value(old['mean'])} "
        f"| {format_value(new['mean'])} |"
    ) in report
    assert "`lr_large." not in report  # lr_large did not change
    accuracy = report.split("### Test accuracy of the changed settings")[1].split("###")[0]
    assert "| lr_medium |" in accuracy and "| lr_large |" not in accuracy
    assert "[!WARNING]" not in report  # the results are committed

    images = IMAGE.findall(report)
    assert len(images) == 12  # six figures, base and head
    for link in images:
        assert (report_file.parent / link).is_file(), link
    assert {Path(link).name for link in images} == {
        path.name for path in (root / "reports" / "figures").glob("*.png")
    }

    # In GitHub Actions the figures are links to the committed PNGs of both revisions.
    shas = [project.run("git", "rev-parse", rev).stdout.strip() for rev in ("HEAD~1", "HEAD")]
    in_src = Project(root, {**project.env, "PYTHONPATH": "src"})
    repo_url = "https://github.com/owner/lrstudy"
    in_src.run(
        *("python", "-m", "lrstudy.pr_report", "--base", "HEAD~1"),
        *("--out", "build/github.md", "--repo-url", repo_url),
    )
    links = IMAGE.findall((root / "build" / "github.md").read_text())
    for sha in shas:
        assert f"{repo_url}/blob/{sha}/reports/figures/test_accuracy.png?raw=true" in links


def test_push_then_pull_in_a_fresh_clone_restores_everything(study: Study) -> None:
    project, root = study.project, study.project.root
    listed = project.run("dvc", "remote", "list").stdout
    assert str(study.remote) in listed  # config.local overrides the committed default
    project.run("dvc", "push")
    project.run("git", "init", "-q", "--bare", "-b", "main", str(study.origin))
    project.run("git", "remote", "add", "origin", str(study.origin))
    project.run("git", "push", "-q", "origin", "main")
    sweep = next(name for name, row in show(project, "-A").items() if row["executor"])
    project.run("dvc", "exp", "push", "origin", sweep)

    clone = Project(root.parent / "clone", project.env)
    project.run("git", "clone", "-q", str(study.origin), str(clone.root))
    use_remote(clone, study.remote)
    clone.run("dvc", "pull")
    outputs = lock_outputs(clone.root)
    assert file_digests(clone.root, outputs) == file_digests(root, outputs)
    assert "Data and pipelines are up to date." in clone.run("dvc", "status").stdout
    ran, _ = clone.repro()
    assert ran == []

    # An experiment run elsewhere comes with its results: no training here either.
    clone.run("dvc", "exp", "pull", "origin", sweep)
    expected = show(project, "-A")[sweep]["metrics"]
    clone.run("dvc", "exp", "apply", sweep)
    assert "Data and pipelines are up to date." in clone.run("dvc", "status").stdout
    # dvc exp show leaves out metrics whose value is null (a suggestion the range test
    # did not make, a sweep without a rate at 0.95).
    restored = flatten(all_metrics(clone.root))
    assert {key: value for key, value in restored.items() if value is not None} == expected
