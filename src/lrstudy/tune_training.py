"""Tuning one setting's base rate and retraining it there: the work of ``tune@<setting>``.

The setting's run (``Config.run``) trains at every base rate of the ``tune`` grid on the
tuning seeds (``training.at_rate`` keeps the schedule's shape), through the same
``sweep_training.train_grid`` as the constant-rate sweep: one population, one compiled
graph. ``tuning.select_rate`` picks the rate on mean validation accuracy; the setting then
retrains at that rate on its evaluation seeds (the study's ``train.seed ..``), again one
population, and every model is evaluated on test. TensorFlow is imported only once a model
trains.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from lrstudy.config import Config, ConfigError
from lrstudy.data import Dataset
from lrstudy.io import write_csv, write_json
from lrstudy.sweep import curve, log_grid
from lrstudy.sweep_training import train_grid
from lrstudy.tuning import select_rate, tuning_edge_warning

FLOAT_FORMAT = "%.6g"

# Columns of a tuned setting's evaluation table (tune/<setting>/evaluation.csv).
EVALUATION_COLUMNS = ("seed", "lr", "val_accuracy", "test_accuracy", "test_loss", "diverged")


@dataclass(frozen=True)
class TunedSetting:
    """A setting's tuning outputs.

    Attributes:
        results: One row per grid rate and tuning seed (``sweep.RESULT_COLUMNS``).
        per_rate: ``sweep.curve`` of ``results``.
        selection: ``tuning.select_rate``'s document, plus ``setting`` and ``given_lr``.
        evaluation: One row per evaluation seed at the tuned rate (``EVALUATION_COLUMNS``).
    """

    results: pd.DataFrame
    per_rate: pd.DataFrame
    selection: dict[str, object]
    evaluation: pd.DataFrame


def tune_setting(
    name: str,
    config: Config,
    data: Mapping[str, Dataset],
    progress: Callable[[str], None] = print,
) -> TunedSetting:
    """Tune ``settings.<name>``'s base rate on the tuning seeds; retrain on the evaluation seeds.

    Raises:
        ConfigError: without a ``tune`` section, or for an unknown setting.
    """
    if config.tune is None:
        raise ConfigError(["tune: missing section (min_lr, max_lr, per_decade, seed, seeds)"])
    spec = config.run(name)
    grid = log_grid(config.tune.min_lr, config.tune.max_lr, config.tune.per_decade)
    tuning = replace(spec, seeds=config.tune.tuning_seeds)
    results = train_grid(grid, config, data, progress, spec=tuning)
    per_rate = curve(results)
    selection = {
        "setting": name,
        "given_lr": spec.lr,
        **select_rate(per_rate, config.tune.margin),
    }
    final = train_grid([selection["tuned_lr"]], config, data, progress, spec=spec)
    return TunedSetting(results, per_rate, selection, final[list(EVALUATION_COLUMNS)])


def write_tuned(folder: Path, tuned: TunedSetting) -> None:
    """Write a setting's tuning into ``folder`` (opened with ``io.atomic_directory``).

    ``results.csv`` (per grid rate and tuning seed), ``curve.csv`` (per rate: mean, min,
    max, standard error over the tuning seeds), ``tuned.json`` (the choice and its
    evidence: it follows from ``curve.csv`` alone) and ``evaluation.csv`` (per evaluation
    seed at the tuned rate). Prints the tuned rate, and a warning when it sits at an end
    of the grid.
    """
    write_csv(folder / "results.csv", tuned.results, FLOAT_FORMAT)
    write_csv(folder / "curve.csv", tuned.per_rate, FLOAT_FORMAT)
    write_json(folder / "tuned.json", tuned.selection)
    write_csv(folder / "evaluation.csv", tuned.evaluation, FLOAT_FORMAT)
    name, mean = tuned.selection["setting"], tuned.evaluation["test_accuracy"].mean()
    print(f"{name}: tuned rate {tuned.selection['tuned_lr']:.3g}, test accuracy {mean:.4f}")
    if (warning := tuning_edge_warning(str(name), tuned.selection)) is not None:
        print(f"warning: {warning}", file=sys.stderr)
