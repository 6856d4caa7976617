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

from ..bad_params import BAD_PARAMS, BadParams
from .conftest import PIPELINE_SETTINGS as SETTINGS
from .conftest import VENV, Project, file_digests

SUGGESTED = ("lr_valley",)
# The stages that do not depend on the settings: the sweep, the range test and the
# suggested setting's two.
STUDY_STAGES = ("sweep", "lr_find", "train_suggested@lr_valley")

pytestmark = pytest.mark.slow


def tree_digest(path: Path) -> dict[str, str]:
    """sha256 of every file under ``path`` (or of the file itself)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {
        str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def test_first_run_runs_every_stage_and_writes_outputs(project: Project) -> None:
    ran, result = project.repro()
    # No TensorFlow error-level noise (evaluate once printed a tf.data NodeDef error).
    assert "E0000" not in result.stdout + result.stderr
    # Nor TensorFlow's benign import lines (lrstudy.runtime.quiet_stderr drops them).
    assert "absl::InitializeLog" not in result.stderr
    assert "oneDNN custom operations" not in result.stderr
    expected = {"validate", "generate", "split", "compare", *STUDY_STAGES}
    expected |= {f"train@{name}" for name in SETTINGS}
    assert set(ran) == expected and len(ran) == len(expected)
    assert ran[:3] == ["validate", "generate", "split"] and ran[-1] == "compare"
    # train@ tunes its setting too (tune grid 1e-3, 1e-2, 0.1); compare reports it.
    metrics = json.loads((project.root / "reports" / "metrics.json").read_text())
    for name in SETTINGS:
        selection = json.loads((project.root / "tune" / name / "tuned.json").read_text())
        assert selection["tuned_lr"] in (1e-3, 1e-2, 0.1)
        assert metrics[name]["tuned"]["lr"] == selection["tuned_lr"]
    assert "tuned" not in metrics["lr_valley"]  # its rate comes from the range test

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
    figures = ("decision_boundaries", "learning_curves", "learning_rate", "test_accuracy")
    for figure in (*figures, "lr_sweep", "lr_find"):
        assert (root / "reports" / "figures" / f"{figure}.png").stat().st_size > 1000
    summary = (root / "reports" / "summary.md").read_text()
    assert all(f"| {name} |" in summary for name in (*SETTINGS, *SUGGESTED))

    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert list(metrics) == [*SETTINGS, *SUGGESTED]
    assert set(metrics["lr_medium"]["test_accuracy"]) == {
        *("mean", "std", "min", "max", "ci_low", "ci_high", "n", "seeds")
    }
    assert metrics["lr_medium"]["diverged"] == {"seeds": 0, "first_epoch": None}
    assert list(metrics["lr_medium"]["test_accuracy"]["seeds"]) == ["seed_0"]

    shown = json.loads(project.run("dvc", "metrics", "show", "--json").stdout)
    flat = json.dumps(shown)
    assert "lr_medium" in flat and "test_accuracy" in flat and "seed_0" in flat
    assert "best_lr" in flat and "one_se_range" in flat and "valley" in flat


def test_sweep_and_range_test_outputs(project: Project) -> None:
    root = project.root
    results = (root / "sweep" / "results.csv").read_text().splitlines()
    assert results[0].split(",") == [
        "lr",
        "seed",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
        "diverged",
    ]
    assert len(results) == 1 + 3  # 1e-3, 1e-2, 1e-1 × one seed
    sweep = json.loads((root / "sweep" / "metrics.json").read_text())
    assert sweep["rates"] == 3
    middle = sweep["best_lr"] == pytest.approx(1e-2)
    assert sweep["at_edge"] == (not middle)
    found = json.loads((root / "lr_find" / "suggestions.json").read_text())
    assert set(found["suggestions"]) == {"minimum", "steep", "valley"}
    steps = found["seeds"]["seed_0"]["steps_run"]
    assert 1 <= steps <= 20
    assert len((root / "lr_find" / "curves.csv").read_text().splitlines()) == 1 + steps
    # The suggested setting trained at the valley suggestion.
    rates = root / "logs" / "lr_valley" / "seed_0" / "plots" / "metrics" / "learning_rate.tsv"
    logged = float(rates.read_text().splitlines()[1].split("\t")[-1])
    assert logged == pytest.approx(found["suggestions"]["valley"], rel=1e-6)


def test_dag_lists_every_stage(project: Project) -> None:
    names = project.run("dvc", "stage", "list", "--name-only").stdout.split()
    assert names[:3] == ["validate", "generate", "split"] and names[-1] == "compare"
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
    assert len(ran) == 4 + len(SETTINGS) + len(STUDY_STAGES)
    assert (root / "reports" / "metrics.json").read_text() == before["metrics"]
    assert tree_digest(root / "reports" / "figures") == before["figures"]
    # Every output hash (models included) is unchanged: the run is reproducible.
    assert (root / "dvc.lock").read_text() == before["lock"]


def test_changing_one_setting_reruns_only_its_stages(project: Project) -> None:
    other = tree_digest(project.root / "models" / "lr_large")
    project.edit_params(lambda params: params["settings"]["lr_medium"].update(lr=0.01))
    ran, _ = project.repro()
    # validate reruns on any params.yaml change, but its output stays byte-identical, so
    # only what reads the changed key follows.
    assert ran == ["validate", "train@lr_medium", "compare"]
    assert tree_digest(project.root / "models" / "lr_large") == other


def test_changing_the_sweep_reruns_only_the_sweep_and_compare(project: Project) -> None:
    models = tree_digest(project.root / "models")
    project.edit_params(lambda params: params["sweep"].update(per_decade=2))
    ran, _ = project.repro()
    assert ran == ["validate", "sweep", "compare"]
    assert len((project.root / "sweep" / "results.csv").read_text().splitlines()) == 1 + 5
    assert tree_digest(project.root / "models") == models


def test_changing_lr_find_reruns_only_it_the_suggested_setting_and_compare(
    project: Project,
) -> None:
    models = tree_digest(project.root / "models" / "lr_medium")
    project.edit_params(lambda params: params["lr_find"].update(steps=30))
    ran, _ = project.repro()
    assert ran == [
        "validate",
        "lr_find",
        "train_suggested@lr_valley",
        "compare",
    ]
    assert tree_digest(project.root / "models" / "lr_medium") == models


def test_plot_code_change_reruns_only_compare(project: Project) -> None:
    plots = project.root / "src" / "lrstudy" / "plots" / "style.py"
    plots.write_text(plots.read_text() + "\n# a comment-only change\n")
    ran, _ = project.repro()
    assert ran == ["compare"]


def test_adding_a_setting_needs_no_dvc_yaml_edit(project: Project) -> None:
    dvc_yaml = (project.root / "dvc.yaml").read_text()
    project.edit_params(lambda params: params["settings"].update({"lr_tiny_test": {"lr": 0.002}}))
    ran, _ = project.repro()
    assert ran == ["validate", "train@lr_tiny_test", "compare"]
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
    new_stages = ["train@lr_ten", "train@lr_nan"]
    assert sorted(ran) == sorted(["validate", *new_stages, "compare"])
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


# What a bad params.yaml must leave alone: every output and the lock file.
WATCHED = ["data", "models", "logs", "evaluation", "reports", "sweep", "lr_find", "dvc.lock"]


@pytest.mark.parametrize(
    "case", [case for case in BAD_PARAMS if case.e2e], ids=lambda case: case.id
)
def test_bad_params_fail_clearly_and_touch_nothing(project: Project, case: BadParams) -> None:
    """Every kind of bad input (tests/bad_params.py) on a built project.

    `dvc repro` stops in the validate stage, which exits with status 2 and lrstudy's
    message (key path, value, what is allowed). A file DVC cannot even read dvc.yaml with
    (settings: null, a setting named ../x, no params.yaml) goes through `make repro`, whose
    first step is the same check, so lrstudy speaks before DVC does. Either way, not one
    byte of the outputs or of dvc.lock changes. (Each message in full, in-process:
    tests/config/test_config.py::test_bad_params_table.)
    """
    root = project.root
    params_file = root / "params.yaml"
    original = params_file.read_text()
    before = file_digests(root, WATCHED)
    text = case.render(project.params())
    try:
        if text is None:
            params_file.unlink()
        else:
            params_file.write_text(text)
        if case.dvc_fails_first:
            result = project.run(
                *("make", "--no-print-directory", "-o", str(VENV / ".installed")),
                *(f"VENV={VENV}", "repro"),
                check=False,
            )
            output = result.stdout + result.stderr
            assert "lrstudy.stages.validate" in output and "Error 2" in output, output
            assert "bin/dvc repro" not in output  # make stopped before DVC read anything
        else:
            ran, result = project.repro(check=False)
            output = result.stdout + result.stderr
            assert ran == ["validate"], output[-3000:]
            assert "lrstudy.stages.validate" in output and "exited with 2" in output, output
        assert result.returncode != 0
        for fragment in case.fragments:
            assert fragment in output, (fragment, output[-3000:])
        assert file_digests(root, WATCHED) == before
    finally:
        params_file.write_text(original)
