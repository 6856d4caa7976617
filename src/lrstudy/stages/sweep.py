"""Stage ``sweep``: train constant rates on a log grid, every seed, and summarise.

Reads params ``sweep`` (the grid), ``model`` and ``train`` (batch size, epochs, seeds: the
defaults every setting starts from) and the train/val/test splits. Trains one model per
rate and seed through the same training loop as the settings (``seed_trainer``: one
trainer for the whole grid) and writes, as one set (the folder is built aside and
swapped in):

- ``<out>/results.csv``: per rate and seed the final training and validation loss and
  accuracy, the test loss and accuracy, and whether the run diverged;
- ``<out>/curve.csv``: per rate the mean, min, max and standard error over seeds of the
  validation and test accuracy (a DVC plot that overlays across revisions);
- ``<out>/metrics.json``: the best rate by validation accuracy, its accuracies, the rates
  within one standard error of it, the edge flag (DVC metrics).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from lrstudy.config import Config, ConfigError, ConstantSchedule, RunSpec
from lrstudy.data import Dataset, read_dataset
from lrstudy.evaluation import divergence_epoch, evaluate_model
from lrstudy.io import atomic_directory, write_csv, write_json
from lrstudy.stages import stage_main
from lrstudy.sweep import RESULT_COLUMNS, curve, edge_warning, log_grid, summary
from lrstudy.training import seed_trainer

FLOAT_FORMAT = "%.6g"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder with train/val/test.csv")
    parser.add_argument("--out", required=True, help="folder to write the sweep's results to")


def train_grid(
    rates: Sequence[float],
    config: Config,
    data: Mapping[str, Dataset],
    progress: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Train every rate over the study's seeds with the ``train`` defaults; evaluate on test.

    Args:
        rates: Constant learning rates.
        config: The validated params (``model``, ``train``).
        data: The ``train``, ``val`` and ``test`` splits.
        progress: Called with one line per rate.

    Returns:
        One row per rate and seed, columns ``RESULT_COLUMNS``: the last epoch's training
        and validation loss and accuracy, the test loss and accuracy, and ``diverged``
        (training loss non-finite or ending above where it began).
    """
    spec = RunSpec(
        name="sweep",
        lr=float(rates[0]),
        schedule=ConstantSchedule(type="constant"),
        batch_size=config.train.batch_size,
        epochs=config.train.epochs,
        seeds=config.train_seeds,
        loop=config.train.loop,
    )
    train = seed_trainer(  # one for all rates
        spec, config.model, data["train"], data["val"], n_classes=config.data.n_classes
    )
    rows = []
    for rate in rates:
        for seed in spec.seeds:
            result = train(seed, lr=float(rate))
            test = evaluate_model(result.model, data["test"])
            history = result.history
            last = {key: values[-1] for key, values in history.items()}
            rows.append(
                {
                    **{key: last[key] for key in ("loss", "accuracy", "val_loss", "val_accuracy")},
                    "lr": float(rate),
                    "seed": seed,
                    "test_loss": test["loss"],
                    "test_accuracy": test["accuracy"],
                    "diverged": divergence_epoch(pd.DataFrame(history)) is not None,
                }
            )
        accuracies = [round(row["val_accuracy"], 3) for row in rows[-len(spec.seeds) :]]
        progress(f"sweep lr {rate:.3g}: val_accuracy per seed {accuracies}")
    return pd.DataFrame(rows)[list(RESULT_COLUMNS)]


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Train every rate of the grid over the study's seeds."""
    if config.sweep is None:
        raise ConfigError(["sweep: missing section (min_lr, max_lr, per_decade)"])
    grid = log_grid(config.sweep.min_lr, config.sweep.max_lr, config.sweep.per_decade)
    data = {
        part: read_dataset(Path(args.data) / f"{part}.csv") for part in ("train", "val", "test")
    }
    results = train_grid(grid, config, data)
    per_rate = curve(results)
    headline = summary(per_rate)
    with atomic_directory(args.out) as out:
        write_csv(out / "results.csv", results, FLOAT_FORMAT)
        write_csv(out / "curve.csv", per_rate, FLOAT_FORMAT)
        write_json(out / "metrics.json", headline)
    print(f"best rate {headline['best_lr']:.3g}: val_accuracy {headline['best_val_accuracy']:.4f}")
    if (warning := edge_warning(headline)) is not None:
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
