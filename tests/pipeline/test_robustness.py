"""End-to-end: k > 2 classes and more than two features, and SIGKILL leaves no trace.

One tiny project copy (one setting, two seeds) with ``data.n_classes: 3`` and
``data.n_features: 3``, built and committed; then `dvc repro` runs are killed (SIGKILL to
DVC and the stage, the whole process group) at several points of train and compare, and
the next `dvc repro` must find nothing to redo, `git status` must be clean and the metrics
equal to the uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lrstudy.io import SCRATCH

from .conftest import Project, commit_all, copy_project, file_digests, keep_settings, lock_outputs

pytestmark = pytest.mark.slow

SETTING = "lr_medium"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Three classes, three features, one setting, two seeds: built and committed."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    keep_settings(project, SETTING)

    def change(params: dict) -> None:
        params["data"].update(n_classes=3, n_features=3)
        params["train"].update(seeds=2)

    project.edit_params(change)
    ran, _ = project.repro()
    # validate, generate, split, train@ of the setting, sweep, lr_find, the
    # suggested setting's stage, compare
    assert ran[0] == "validate" and ran[-1] == "compare" and len(ran) == 8
    commit_all(project, "built")
    assert project.run("git", "status", "--porcelain").stdout == ""
    return project


def test_three_classes_and_three_features_train_evaluate_and_report(project: Project) -> None:
    from lrstudy.data import read_dataset
    from lrstudy.runtime import import_keras

    # Through lrstudy's import: a bare `import keras` then `load_model` would start
    # TensorFlow unpinned, and every later test of this worker that trains would refuse to.
    keras = import_keras()

    root = project.root
    test = read_dataset(root / "data" / "prepared" / "test.csv")
    assert test.x.shape[1] == 3 and set(np.unique(test.y)) == {0, 1, 2}
    metrics = json.loads((root / "evaluation" / SETTING / "metrics.json").read_text())
    for seed in (0, 1):
        model = keras.saving.load_model(root / "models" / SETTING / f"seed_{seed}.keras")
        assert model.output_shape == (None, 3)
        # Independent reference: Keras' own loss class and the argmax accuracy.
        probabilities = model.predict(test.x, verbose=0)
        loss = float(keras.losses.SparseCategoricalCrossentropy()(test.y, probabilities))
        accuracy = float(np.mean(probabilities.argmax(axis=1) == test.y))
        assert metrics["test_loss"]["seeds"][f"seed_{seed}"] == pytest.approx(loss, abs=2e-6)
        assert metrics["test_accuracy"]["seeds"][f"seed_{seed}"] == pytest.approx(
            accuracy, abs=1e-6
        )
        assert loss > 0  # the one-sigmoid model on labels 0/1/2 reported a negative loss
    boundary = np.load(root / "evaluation" / SETTING / "boundary.npy")
    points = project.params()["evaluate"]["grid"]["points"]
    assert boundary.shape == (2, points, points, 3)
    np.testing.assert_allclose(boundary.sum(axis=-1), 1.0, rtol=1e-5)
    report = json.loads((root / "reports" / "metrics.json").read_text())
    assert report[SETTING]["test_accuracy"]["mean"] == metrics["test_accuracy"]["mean"]
    figure = root / "reports" / "figures" / "decision_boundaries.png"
    assert figure.stat().st_size > 1000


def _scratch_entries(root: Path, pattern: str) -> list[Path]:
    return sorted((root / SCRATCH).glob(pattern)) if (root / SCRATCH).is_dir() else []


def _kill_when(project: Project, args: list[str], ready: Callable[[], bool]) -> None:
    """Start `dvc repro ARGS`; SIGKILL its whole process group as soon as ``ready()``."""
    process = subprocess.Popen(
        ["dvc", "repro", *args],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    try:
        while not ready():
            if process.poll() is not None:
                pytest.fail(f"dvc repro {' '.join(args)} ended before the kill point")
            if time.monotonic() > deadline:
                pytest.fail("kill point never reached")
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


KILL_POINTS = {
    # train@: as soon as the setting's folders are being built aside ...
    "train-start": (
        ["-f", "-s", f"train@{SETTING}"],
        f"*.{SETTING}.*",
    ),
    # ... and between seeds, with the first seed's model written.
    "train-between-seeds": (
        ["-f", "-s", f"train@{SETTING}"],
        f"*.{SETTING}.*/seed_0.keras",
    ),
    # compare: with reports/metrics.json written and the figures still to come.
    "compare-partial": (["-f", "-s", "compare"], "*.reports.*/metrics.json"),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_leaves_no_trace(project: Project, point: str) -> None:
    root = project.root
    outputs = lock_outputs(root)
    before = file_digests(root, [*outputs, "dvc.lock"])
    args, pattern = KILL_POINTS[point]
    _kill_when(project, args, lambda: bool(_scratch_entries(root, pattern)))
    assert _scratch_entries(root, pattern), "the kill left its half-built folder"

    ran, _ = project.repro()
    assert ran == []  # nothing half-written reached an output or a dependency
    assert project.run("git", "status", "--porcelain").stdout == ""
    assert file_digests(root, [*outputs, "dvc.lock"]) == before


def test_next_write_removes_what_killed_runs_left(project: Project) -> None:
    root = project.root
    metrics = (root / "reports" / "metrics.json").read_text()
    assert _scratch_entries(root, "*")  # left by the kills above
    ran, _ = project.repro("-f", "-s", "compare")
    assert ran == ["compare"]
    assert _scratch_entries(root, "*") == []
    assert (root / "reports" / "metrics.json").read_text() == metrics
    assert project.run("git", "status", "--porcelain").stdout == ""
