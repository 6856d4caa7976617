"""Train one setting's seeds and evaluate each trained model: the work of ``train@<setting>``.

Kept beside ``sweep_training`` (the sweep's grid): both train through
``lrstudy.training.train_setting`` and evaluate with Keras' own ``test_on_batch``. Writes
through ``runlog`` (models, DVCLive logs, per-step rates, the setting's evaluation), into
folders the caller opened with ``io.atomic_directory``. TensorFlow is imported only once a
model trains, never on import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from lrstudy.config import Config, RunSpec
from lrstudy.data import Dataset
from lrstudy.evaluation import evaluate_model, predict_grid, setting_metrics
from lrstudy.model import compiled_model, save_model, set_trained_state
from lrstudy.runlog import (
    ProgressClock,
    epoch_progress,
    live_logger,
    model_path,
    seed_log_dir,
    write_evaluation,
    write_initial_loss,
    write_step_rates,
)
from lrstudy.training import train_setting


def train_and_evaluate(
    spec: RunSpec,
    config: Config,
    data: Mapping[str, Dataset],
    folders: Mapping[str, Path],
    progress: Callable[[str], None] = print,
) -> dict[str, object]:
    """Train every seed of ``spec``, save and evaluate each model, write the evaluation.

    Args:
        spec: the setting's run (``config.run(name)``).
        config: the validated params (``model``, ``evaluate.grid``, ``data.n_classes``).
        data: the ``train``, ``val`` and ``test`` splits.
        folders: where to write: ``models`` (``seed_<s>.keras``), ``logs`` (a DVCLive
            folder per seed with the untrained model's loss, plus ``learning_rate_steps.tsv``
            for a per-step schedule) and
            ``evaluation`` (``metrics.json``, ``boundary.npy``).
        progress: called with one line per seed. Training that takes long also shows its
            epochs on stderr (``runlog.epoch_progress``).

    Returns:
        The setting's test metrics as written (``evaluation.setting_metrics``).
    """
    seeds, n_classes = list(spec.seeds), config.data.n_classes
    loggers = [live_logger(seed_log_dir(folders["logs"], seed)) for seed in seeds]
    clock = ProgressClock()
    shown = [epoch_progress(f"{spec.name} seed {seed}", spec.epochs, clock) for seed in seeds]
    test = data["test"]
    model = compiled_model(config.model_for(spec), test.x.shape[1], n_classes, spec.lr)
    results = train_setting(
        spec,
        config.model_for(spec),
        data["train"],
        data["val"],
        n_classes=n_classes,
        callbacks=lambda member: [loggers[member], shown[member]],
    )
    per_seed, boundaries = {}, []
    for seed, result in zip(seeds, results, strict=True):
        set_trained_state(model, result.weights, result.optimizer_state)
        save_model(model, model_path(folders["models"], seed))
        log_dir = seed_log_dir(folders["logs"], seed)
        write_initial_loss(log_dir, result.initial_loss)
        if result.plan.per == "step":
            write_step_rates(log_dir, result.step_rates, result.plan.steps_per_epoch)
        per_seed[seed] = evaluate_model(model, test)
        boundaries.append(predict_grid(model, config.evaluate.grid))
        progress(f"{spec.name} seed {seed}: test accuracy {per_seed[seed]['accuracy']:.4f}")
    metrics = setting_metrics(per_seed)
    write_evaluation(folders["evaluation"], metrics, np.stack(boundaries))
    return metrics
