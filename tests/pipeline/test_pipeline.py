"""End-to-end: the DVC pipeline in a temporary git repo with tiny params.

The tests run in file order on one project copy: the first builds everything, later
ones change params and check exactly which stages rerun.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from .conftest import PIPELINE_SETTINGS as SETTINGS
from .conftest import Project

pytestmark = pytest.mark.slow


def tree_digest(path: Path) -> dict[str, str]:
    """sha256 of every file under ``path`` (or of the file itself)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {
        str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def test_first_run_runs_every_stage_and_writes_outputs(project: Project) -> None:
    ran, _ = project.repro()
    expected = {"generate", "split", "compare"}
    expected |= {f"{stage}@{name}" for stage in ("train", "evaluate") for name in SETTINGS}
    assert set(ran) == expected and len(ran) == len(expected)
    assert ran[0] == "generate" and ran[1] == "split" and ran[-1] == "compare"

    root = project.root
    for part in ("train", "val", "test"):
        assert (root / "data" / "prepared" / f"{part}.csv").is_file()
    for name in SETTINGS:
        assert (root / "models" / name / "seed_0.keras").is_file()
        metrics_dir = root / "logs" / name / "seed_0" / "plots" / "metrics"
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
            assert len((metrics_dir / f"{key}.tsv").read_text().splitlines()) == 1 + 2  # 2 epochs
        assert (root / "evaluation" / name / "boundary.npy").is_file()
    # A per-step schedule also logs every optimizer step: 112 train rows / batch 100 gives
    # 2 steps per epoch, so 4 steps in 2 epochs.
    steps = root / "logs" / "one_cycle" / "seed_0" / "learning_rate_steps.tsv"
    assert steps.read_text().splitlines()[0].split("\t") == [
        "step",
        "epoch_fraction",
        "learning_rate",
    ]
    assert len(steps.read_text().splitlines()) == 1 + 4
    assert not (root / "logs" / "lr_medium" / "seed_0" / "learning_rate_steps.tsv").exists()
    for figure in ("decision_boundaries", "learning_curves", "learning_rate", "test_accuracy"):
        assert (root / "reports" / "figures" / f"{figure}.png").stat().st_size > 1000
    summary = (root / "reports" / "summary.md").read_text()
    assert all(f"| {name} |" in summary for name in SETTINGS)

    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert list(metrics) == list(SETTINGS)
    assert set(metrics["lr_medium"]["test_accuracy"]) == {
        *("mean", "std", "min", "max", "ci_low", "ci_high", "n", "seeds")
    }
    assert metrics["lr_medium"]["diverged"] == {"seeds": 0, "first_epoch": None}
    assert list(metrics["lr_medium"]["test_accuracy"]["seeds"]) == ["seed_0"]

    shown = json.loads(project.run("dvc", "metrics", "show", "--json").stdout)
    flat = json.dumps(shown)
    assert "lr_medium" in flat and "test_accuracy" in flat and "seed_0" in flat


def test_dag_lists_every_stage(project: Project) -> None:
    names = project.run("dvc", "stage", "list", "--name-only").stdout.split()
    assert names[:2] == ["generate", "split"] and names[-1] == "compare"
    assert {f"train@{name}" for name in SETTINGS} <= set(names)


def test_second_run_is_a_noop(project: Project) -> None:
    ran, result = project.repro()
    assert ran == []
    assert "Data and pipelines are up to date." in result.stdout
    assert "up to date" in project.run("dvc", "status").stdout


def test_forced_rerun_is_bit_identical(project: Project) -> None:
    root = project.root
    before = {
        "lock": (root / "dvc.lock").read_text(),
        "metrics": (root / "reports" / "metrics.json").read_text(),
        "figures": tree_digest(root / "reports" / "figures"),
    }
    ran, _ = project.repro("-f")
    assert len(ran) == 3 + 2 * len(SETTINGS)
    assert (root / "reports" / "metrics.json").read_text() == before["metrics"]
    assert tree_digest(root / "reports" / "figures") == before["figures"]
    # Every output hash (models included) is unchanged: the run is reproducible.
    assert (root / "dvc.lock").read_text() == before["lock"]


def test_changing_one_setting_reruns_only_its_stages(project: Project) -> None:
    other = tree_digest(project.root / "models" / "lr_large")
    project.edit_params(lambda params: params["settings"]["lr_medium"].update(lr=0.01))
    ran, _ = project.repro()
    assert ran == ["train@lr_medium", "evaluate@lr_medium", "compare"]
    assert tree_digest(project.root / "models" / "lr_large") == other


def test_plot_code_change_reruns_only_compare(project: Project) -> None:
    plots = project.root / "src" / "lrstudy" / "plots.py"
    plots.write_text(plots.read_text() + "\n# a comment-only change\n")
    ran, _ = project.repro()
    assert ran == ["compare"]


def test_adding_a_setting_needs_no_dvc_yaml_edit(project: Project) -> None:
    dvc_yaml = (project.root / "dvc.yaml").read_text()
    project.edit_params(lambda params: params["settings"].update({"lr_tiny_test": {"lr": 0.002}}))
    ran, _ = project.repro()
    assert ran == ["train@lr_tiny_test", "evaluate@lr_tiny_test", "compare"]
    assert (project.root / "dvc.yaml").read_text() == dvc_yaml
    metrics = json.loads((project.root / "reports" / "metrics.json").read_text())
    assert "lr_tiny_test" in metrics


def test_diverging_settings_are_a_result_beside_healthy_ones(project: Project) -> None:
    """lr 10 blows the loss up (finite), lr 1e38 overflows to NaN: both are flagged."""
    before = json.loads((project.root / "reports" / "metrics.json").read_text())
    project.edit_params(
        lambda params: params["settings"].update({"lr_ten": {"lr": 10}, "lr_nan": {"lr": 1e38}})
    )
    ran, _ = project.repro()
    assert sorted(ran) == sorted(
        ["train@lr_ten", "evaluate@lr_ten", "train@lr_nan", "evaluate@lr_nan", "compare"]
    )
    metrics = json.loads((project.root / "reports" / "metrics.json").read_text())
    for name in ("lr_ten", "lr_nan"):
        assert metrics[name]["diverged"]["seeds"] == 1, name
        assert metrics[name]["diverged"]["first_epoch"] in (1, 2), name
        assert metrics[name]["vs_best"]["is_best"] is False, name
    # lr 1e38 overflows: NaN loss and predictions, so no accuracy at all
    assert metrics["lr_nan"]["test_accuracy"]["seeds"] == {"seed_0": None}
    assert metrics["lr_nan"]["test_accuracy"]["mean"] is None
    assert metrics["lr_nan"]["vs_best"]["difference"] is None
    # lr 10 blows the loss up to finite values: flagged, its measured accuracy kept
    assert isinstance(metrics["lr_ten"]["test_accuracy"]["seeds"]["seed_0"], float)
    for name in before:  # the healthy settings' numbers are unchanged
        assert metrics[name]["test_accuracy"] == before[name]["test_accuracy"], name
    assert not any(
        item.get("vs_best", {}).get("is_best") for item in (metrics["lr_ten"], metrics["lr_nan"])
    )
    summary = (project.root / "reports" / "summary.md").read_text()
    reading = summary.split("## Settings")[0]
    assert "lr_ten (1 of 1 seeds" in reading and "lr_nan (1 of 1 seeds" in reading
    assert "**lr_ten**" not in reading and "**lr_nan**" not in reading
    # no NaN or inf printed as a number (the prose may say "NaN or infinite")
    assert re.findall(r"(?<![\w])(nan|inf)(?![\w])", summary.replace("lr_nan", "")) == []
    evaluated = json.loads((project.root / "evaluation" / "lr_nan" / "metrics.json").read_text())
    assert evaluated["test_accuracy"]["seeds"] == {"seed_0": None}  # not Keras' 0.5


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (
            lambda p: p["settings"]["lr_medium"].update(lr=-0.5),
            ["settings.lr_medium.lr = -0.5", "greater than 0"],
        ),
        (lambda p: p["train"].update(epochs=0), ["train.epochs = 0"]),
        (
            lambda p: p["settings"]["plateau"]["schedule"].update(type="sometimes"),
            ["settings.plateau.schedule.type = 'sometimes'", "constant", "plateau"],
        ),
        (
            lambda p: p["settings"]["lr_small"].update(learnig_rate=0.1),
            ["settings.lr_small: unknown key 'learnig_rate'"],
        ),
        (
            lambda p: p["split"].update(test_fraction=0.995, val_fraction=0.99),
            ["split.test_fraction=0.995", "train=0"],
        ),
        (
            lambda p: p["settings"].update({"no good": {"lr": 0.1}}),
            ["setting name 'no good'"],
        ),
    ],
    ids=["negative-lr", "zero-epochs", "unknown-schedule", "typo-key", "no-train-data", "bad-name"],
)
def test_bad_params_fail_clearly_and_touch_nothing(project: Project, change, fragments) -> None:
    root = project.root
    original = project.params()
    watched = ["data", "models", "logs", "evaluation", "reports"]
    before = {name: tree_digest(root / name) for name in watched}
    lock = (root / "dvc.lock").read_text()
    try:
        project.edit_params(change)
        _, result = project.repro(check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        for fragment in fragments:
            assert fragment in output, output[-3000:]
        assert {name: tree_digest(root / name) for name in watched} == before
        assert (root / "dvc.lock").read_text() == lock
    finally:
        project.write_params(original)
