"""Training the learning-rate sweep's grid: one model per constant rate and seed.

Kept apart from ``lrstudy.sweep`` (pure NumPy/pandas, read by the compare stage) so that
reading a sweep's results does not depend on the training code. The whole grid (every
rate × seed) trains as one population (``lrstudy.training.train_setting``; in chunks when
memory asks, ``population.chunk_size``). TensorFlow is imported only once a model trains,
never on import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from lrstudy.config import Config, ConstantSchedule, ModelConfig, RunSpec
from lrstudy.data import Dataset
from lrstudy.evaluation import divergence_epoch, evaluate_model, history_frame
from lrstudy.model import compiled_model
from lrstudy.sweep import RESULT_COLUMNS
from lrstudy.training import train_setting
from lrstudy.training_run import TrainingResult

if TYPE_CHECKING:
    import keras


def sweep_spec(config: Config, lr: float, loop: str | None = None) -> RunSpec:
    """The run every rate of the grid trains: constant ``lr``, the ``train`` defaults.

    ``loop`` replaces ``train.loop`` (the benchmark's baseline trains the old fast loop).
    """
    return RunSpec(
        name="sweep",
        lr=lr,
        schedule=ConstantSchedule(type="constant"),
        batch_size=config.train.batch_size,
        epochs=config.train.epochs,
        seeds=config.train_seeds,
        loop=config.train.loop if loop is None else loop,
        optimizer=config.model.optimizer,
    )


def grid_results(
    rates: Sequence[float], config: Config, data: Mapping[str, Dataset], spec: RunSpec
) -> Iterator[TrainingResult]:
    """Train every rate of ``rates`` over the seeds of ``spec``: one result per member.

    Members run rate by rate, seed by seed (``training.train_setting`` with ``rates``);
    ``data`` needs ``train`` and ``val``. What ``train_grid`` evaluates, and what the
    cluster benchmark (``benchmarks/bench_cluster.py``) times.
    """
    return train_setting(
        spec,
        config.model_for(spec),
        data["train"],
        data["val"],
        n_classes=config.data.n_classes,
        rates=rates,
    )


# The last model ``evaluation_model`` compiled, with what it was compiled for.
_LAST: list[tuple[ModelConfig, int, int, keras.Model]] = []


def evaluation_model(model_config: ModelConfig, n_features: int, n_classes: int) -> keras.Model:
    """A compiled model to evaluate trained weights with: the last one, if built for these.

    ``train_grid`` only sets its weights and evaluates (``evaluate_model``), so one model
    serves every grid of a stage (the tuning grid, the tuned rate, each budget): Keras
    traces its test function once (about 0.3 s a model).
    """
    if _LAST and _LAST[0][:3] == (model_config, n_features, n_classes):
        return _LAST[0][3]
    model = compiled_model(model_config, n_features, n_classes, 0.0)
    _LAST[:] = [(model_config, n_features, n_classes, model)]
    return model


def train_grid(
    rates: Sequence[float],
    config: Config,
    data: Mapping[str, Dataset],
    progress: Callable[[str], None] = print,
    spec: RunSpec | None = None,
) -> pd.DataFrame:
    """Train every rate over the seeds of ``spec``; evaluate each model on test.

    Args:
        rates: Learning rates: constant (the sweep) or base rates of ``spec``'s schedule.
        config: The validated params (``model``, ``train``).
        data: The ``train``, ``val`` and ``test`` splits.
        progress: Called with one line per rate.
        spec: The run each rate trains (``training.at_rate`` sets its base rate, keeping
            the schedule's shape) and its seeds; default ``sweep_spec`` (constant rates,
            the ``train`` defaults, the study's seeds). The tuning stage passes a
            setting's run with the tuning or evaluation seeds: one loop for both.

    Returns:
        One row per rate and seed, columns ``RESULT_COLUMNS``: the last epoch's training
        and validation loss and accuracy, the test loss and accuracy, and ``diverged``
        (``evaluation.divergence_epoch``: a loss non-finite, or the training loss ending
        over 1.25 times the untrained model's).
    """
    spec = sweep_spec(config, float(rates[0])) if spec is None else spec
    results = grid_results(rates, config, data, spec)
    model = evaluation_model(
        config.model_for(spec), data["train"].x.shape[1], config.data.n_classes
    )
    rows = []
    for rate in rates:
        for seed in spec.seeds:
            result = next(results)
            model.set_weights(result.weights)
            test = evaluate_model(model, data["test"])
            history = result.history
            last = {key: values[-1] for key, values in history.items()}
            rows.append(
                {
                    **{key: last[key] for key in ("loss", "accuracy", "val_loss", "val_accuracy")},
                    "lr": float(rate),
                    "seed": seed,
                    "test_loss": test["loss"],
                    "test_accuracy": test["accuracy"],
                    "diverged": divergence_epoch(history_frame(history), result.initial_loss)
                    is not None,
                }
            )
        accuracies = [round(row["val_accuracy"], 3) for row in rows[-len(spec.seeds) :]]
        progress(f"{spec.name} lr {rate:.3g}: val_accuracy per seed {accuracies}")
    return pd.DataFrame(rows)[list(RESULT_COLUMNS)]
