"""Stage ``tune@<setting>``: tune one setting's base rate, retrain it there, evaluate.

Reads params ``tune`` (grid, tuning seeds, margin), ``model``, ``train`` and
``settings.<setting>`` and the train/val/test splits (``lrstudy.tune_training``). Writes,
as one set (the folder is built aside and swapped in):

- ``<out>/results.csv``: per grid rate and tuning seed the final losses and accuracies;
- ``<out>/curve.csv``: per rate the mean, min, max and standard error over tuning seeds;
- ``<out>/tuned.json``: the tuned rate and the rule's evidence (``tuning.select_rate``;
  it follows from ``curve.csv`` alone);
- ``<out>/evaluation.csv``: per evaluation seed the validation and test accuracy at the
  tuned rate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrstudy.config import Config
from lrstudy.data import read_dataset
from lrstudy.io import atomic_directory, write_csv, write_json
from lrstudy.stages import stage_main
from lrstudy.tune_training import tune_setting
from lrstudy.tuning import tuning_edge_warning

FLOAT_FORMAT = "%.6g"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", required=True, help="key under settings in params.yaml")
    parser.add_argument("--data", required=True, help="folder with train/val/test.csv")
    parser.add_argument("--out", required=True, help="folder to write the tuning results to")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Tune, retrain and evaluate one setting."""
    data = {
        part: read_dataset(Path(args.data) / f"{part}.csv") for part in ("train", "val", "test")
    }
    tuned = tune_setting(args.setting, config, data)
    with atomic_directory(args.out) as out:
        write_csv(out / "results.csv", tuned.results, FLOAT_FORMAT)
        write_csv(out / "curve.csv", tuned.per_rate, FLOAT_FORMAT)
        write_json(out / "tuned.json", tuned.selection)
        write_csv(out / "evaluation.csv", tuned.evaluation, FLOAT_FORMAT)
    mean = tuned.evaluation["test_accuracy"].mean()
    print(f"{args.setting}: tuned rate {tuned.selection['tuned_lr']:.3g}, test accuracy {mean:.4f}")
    if (warning := tuning_edge_warning(args.setting, tuned.selection)) is not None:
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
