"""End-to-end: experiments, queued sweeps, the PR report, remote storage and the PR
workflow's own steps.

One tiny project copy (two settings) in a temporary git repo; the tests run in file
order: an experiment in the workspace and the README's reset, a queued three-run sweep
in DVC's temporary workspaces (and `make exp-show` in 120 columns), a commit that keeps
the first experiment and the PR report against the baseline, push to a temporary remote
and pull into a fresh clone (experiments too), `dvc exp remove --keep` across commits,
dropping a setting, and the scripts of .github/workflows/pr-report.yml run in order in
fresh clones (no remote copy, a remote copy, stale results).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lrstudy.pr_report.diffs import flatten
from lrstudy.pr_report.rendering import MARKER
from lrstudy.report.formatting import format_value

from .conftest import (
    PROJECT_ROOT,
    RAN,
    VENV,
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
SWEEP = (0.001, 0.01, 0.02)
README = (PROJECT_ROOT / "README.md").read_text()
WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "pr-report.yml"
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
    # validate, generate, split, train@ of both, sweep, lr_find, the suggested
    # setting's stage, compare.
    assert len(ran) == 9
    commit_all(project, "baseline results")
    return Study(project, remote, tmp_path_factory.mktemp("origin") / "lrstudy.git")


def show(project: Project, *args: str) -> dict[str, dict]:
    """``dvc exp show --json`` by experiment name."""
    return experiments(json.loads(project.run("dvc", "exp", "show", "--json", *args).stdout))


def metrics_file(root: Path) -> dict:
    return json.loads((root / "reports" / "metrics.json").read_text())


def changed_means(rows) -> set[str]:
    """The mean test accuracies that differ between ``rows`` (of :func:`show`)."""
    rows = list(rows)
    keys = {key for row in rows for key in row["metrics"] if key.endswith(".test_accuracy.mean")}
    return {key for key in keys if len({row["metrics"].get(key) for row in rows}) > 1}


def readme_block(marker: str) -> list[str]:
    """The commands of the README's first ``bash`` block after ``marker``, comments cut."""
    block = README.split(marker, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


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
        "validate",  # reruns on any params.yaml change; its marker is unchanged
        "train@lr_medium",
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

    # `make exp-show`: the changed param and the means that changed, no clutter.
    table = make(project, "exp-show", "EXP_SHOW_ARGS=--csv").stdout
    header = next(line for line in table.splitlines() if line.startswith("Experiment,"))
    columns = set(header.split(",")) - {"Experiment", "rev", "typ", "Created", "parent"}
    assert columns == {"settings.lr_medium.lr"} | changed_means(rows.values())

    # The README's reset: back to the committed params and results, without training.
    for command in readme_block("<!-- reset:"):
        result = project.run("bash", "-c", command)
        assert not RAN.findall(result.stdout + result.stderr)
    assert project.run("git", "status", "--porcelain").stdout == ""
    assert "Data and pipelines are up to date." in project.run("dvc", "status").stdout
    assert project.params()["settings"]["lr_medium"]["lr"] == BASELINE_LR


def test_queued_sweep_runs_in_temporary_workspaces(study: Study) -> None:
    project = study.project
    grid = ",".join(map(str, SWEEP))
    project.run("dvc", "exp", "run", "--queue", "-S", f"settings.lr_medium.lr={grid}")
    try:
        project.run("dvc", "queue", "start", "-j", "2")
        status = wait_for_queue(project)
    finally:
        project.run("dvc", "queue", "stop", check=False)
    if status.count("Success") != len(SWEEP):
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
    assert len(losses) == len(SWEEP)
    # Queued runs happen in DVC's temporary workspaces: this one is untouched.
    assert project.run("git", "status", "--porcelain").stdout == ""

    # `make exp-show` fits a 120-column terminal and shows what the sweep changed.
    rows = [row for row in show(project).values() if row["rev"] != "workspace"]
    table = Project(project.root, {**project.env, "COLUMNS": "120"})
    lines = make(table, "exp-show").stdout.splitlines()[1:]  # [0]: the command make echoes
    assert max(map(len, lines)) <= 120, "\n".join(lines)
    header = next(line for line in lines if "Experiment" in line)
    assert "settings.lr_medium.lr" in header and "Executor" not in header
    assert "State" not in header  # nothing queued or running: every state is Success
    assert "lr_large.test_accuracy.mean" not in header  # the sweep did not change it
    expected = changed_means(rows)
    assert expected <= {"lr_medium.test_accuracy.mean"}
    assert all(name in header for name in expected)
    for lr in SWEEP:  # one row per rate
        assert len([line for line in lines if re.search(rf"\s{re.escape(str(lr))}\s*$", line)]) == 1

    # With a run queued, the State column says which rows are still to come.
    project.run("dvc", "exp", "run", "--queue", "-S", "settings.lr_medium.lr=0.123")
    try:
        csv = make(project, "exp-show", "EXP_SHOW_ARGS=--csv").stdout.splitlines()
    finally:
        project.run("dvc", "queue", "remove", "--queued")
    header = next(line for line in csv if line.startswith("Experiment,")).split(",")
    (queued,) = [line.split(",") for line in csv if line.endswith(",0.123")]
    assert queued[header.index("State")] == "Queued"


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
    # lr_large's own results did not change (its comparison with the best did)
    assert "`lr_large.test_" not in report
    accuracy = report.split("### Test accuracy of the changed settings")[1].split("###")[0]
    assert "| lr_medium |" in accuracy and "| lr_large |" not in accuracy
    assert "```text\nlr_medium\n" in accuracy  # the text chart, base over head
    assert "[!WARNING]" not in report  # the results are committed

    images = IMAGE.findall(report)
    assert len(images) == 20  # ten figures (four of the tuned comparison), base and head
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
    # dvc exp show leaves out null metrics (intervals of a one-seed run, a suggestion the
    # range test did not make, a sweep without a rate at 0.95)
    flat = flatten(all_metrics(clone.root))
    assert {key: value for key, value in flat.items() if value is not None} == expected


def test_dropping_a_setting_leaves_nothing_a_fresh_clone_reruns(study: Study) -> None:
    project, root = study.project, study.project.root
    project.edit_params(lambda params: params["settings"].pop("lr_large"))
    ran, result = project.repro()
    assert ran == ["validate", "compare"]
    for part in ("models", "logs", "evaluation", "tune"):
        assert not (root / part / "lr_large").exists(), part
        assert f"removed {part}/lr_large/" in result.stdout
    commit_all(project, "drop lr_large")
    project.run("dvc", "push")
    project.run("git", "push", "-q", "origin", "main")

    clone = Project(root.parent / "clone-after-drop", project.env)
    project.run("git", "clone", "-q", str(study.origin), str(clone.root))
    use_remote(clone, study.remote)
    clone.run("dvc", "pull")
    assert "Data and pipelines are up to date." in clone.run("dvc", "status").stdout
    ran, _ = clone.repro()
    assert ran == []


def test_exp_remove_keep_removes_the_experiments_of_every_commit(study: Study) -> None:
    project = study.project
    assert (
        "dvc exp remove --keep lucky-veer         # remove every other experiment, of every commit"
        in README
    )
    project.run("dvc", "exp", "save", "-n", "on-head")  # an experiment of this commit
    before = project.run("dvc", "exp", "list", "-A", "--name-only").stdout.split()
    older = [name for name in before if name != "on-head"]
    assert older  # the earlier experiments are based on older commits
    project.run("dvc", "exp", "remove", "--keep", older[0])
    after = project.run("dvc", "exp", "list", "-A", "--name-only").stdout.split()
    assert after == [older[0]]  # this commit's experiment is gone too


# --- the pull-request workflow's own steps ----------------------------------------------


def fake_venv(root: Path) -> None:
    """A .venv in a clone whose python and dvc run this test run's venv, with a stamp newer
    than the lock file, so the workflow's `make venv` and `.venv/bin/...` work unchanged."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "dvc"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{VENV / "bin" / tool}" "$@"\n')
        wrapper.chmod(0o755)
    (root / ".venv" / ".installed").touch()


def workflow_clone(study: Study, name: str, remote: Path) -> Project:
    """A fresh clone of origin's main, as the workflow checks it out, with its own remote."""
    clone = Project(study.project.root.parent / name, study.project.env)
    study.project.run("git", "clone", "-q", str(study.origin), str(clone.root))
    use_remote(clone, remote)
    fake_venv(clone.root)
    return clone


def run_workflow(clone: Project) -> str:
    """Run every `run:` script of the workflow in order, as GitHub does for a pull request
    into main; return their combined output."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    summary = clone.root.parent / f"{clone.root.name}-summary.md"
    output = []
    for step in job["steps"]:
        if "run" not in step:
            continue
        env = {**clone.env, **job.get("env", {}), "GITHUB_STEP_SUMMARY": str(summary)}
        for key, value in step.get("env", {}).items():
            env[key] = value.replace("${{ github.base_ref }}", "main")
        assert "${{" not in " ".join(env.values())
        script = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        result = Project(clone.root, env).run(*script)
        output.append(result.stdout + result.stderr)
    report = (clone.root / "build" / "pr-report" / "report.md").read_text()
    assert report.startswith(MARKER)
    assert summary.read_text() == report
    return "\n".join(output)


@pytest.mark.parametrize(
    ("remote_has_them", "message"),
    [
        (False, "No DVC remote holds the results"),  # a new contributor's usual case
        (True, "Pulled the results recorded in dvc.lock"),
    ],
)
def test_workflow_uses_current_committed_results_without_training(
    study: Study, tmp_path: Path, remote_has_them: bool, message: str
) -> None:
    remote = study.remote if remote_has_them else tmp_path / "empty-remote"
    log = run_workflow(workflow_clone(study, f"pr-{remote_has_them}", remote))
    assert message in log
    assert "are current for this code and params" in log
    assert RAN.findall(log) == []


def test_workflow_reproduces_only_what_is_stale(study: Study) -> None:
    clone = workflow_clone(study, "pr-stale", study.remote)
    clone.edit_params(lambda params: params["settings"]["lr_medium"].update(lr=0.02))
    commit_all(clone, "lr_medium: lr 0.02, results not reproduced")
    log = run_workflow(clone)
    assert "stale for this code or params: reproducing" in log
    assert RAN.findall(log) == ["validate", "train@lr_medium", "compare"]
    report = (clone.root / "build" / "pr-report" / "report.md").read_text()
    assert "| `settings.lr_medium.lr` |" in report
