"""Stage ``sweep``: train constant rates on a log grid, every seed, and summarise.

Reads params ``sweep`` (the grid), ``model`` and ``train`` (batch size, epochs, seeds: the
defaults every setting starts from) and the train/val/test splits. Trains one model per
rate and seed through the same training loop as the settings (``train.loop``; ``fast``
trains the whole grid as one population) and writes, as one set (the folder is built aside and
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
from pathlib import Path

from lrstudy.config import Config, ConfigError
from lrstudy.data import read_dataset
from lrstudy.io import atomic_directory, write_csv, write_json
from lrstudy.stages import stage_main
from lrstudy.sweep import curve, edge_warning, log_grid, summary
from lrstudy.sweep_training import train_grid

FLOAT_FORMAT = "%.6g"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder with train/val/test.csv")
    parser.add_argument("--out", required=True, help="folder to write the sweep's results to")


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
