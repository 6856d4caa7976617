"""Stage ``evaluate@<setting>``: test metrics of every seed's model, and its boundary.

Reads the setting's models, the test split and params ``evaluate``; writes
``<out>/metrics.json`` (test accuracy and loss per seed, with mean, std, min, max) and
``<out>/boundary.npy`` (the probabilities on the grid, one layer per seed, in seed order:
P(y=1) for two classes, every class's probability for more, the slice x2 = ... = 0 for
more than two features, empty for one feature; see ``evaluation.predict_grid``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lrstudy.config import Config
from lrstudy.data import read_dataset
from lrstudy.evaluation import evaluate_model, predict_grid, setting_metrics
from lrstudy.io import atomic_directory, write_json
from lrstudy.model import load_model
from lrstudy.runlog import model_path
from lrstudy.stages import stage_main


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", required=True, help="key under settings in params.yaml")
    parser.add_argument("--data", required=True, help="folder with test.csv")
    parser.add_argument("--models", required=True, help="folder with seed_<s>.keras files")
    parser.add_argument("--out", required=True, help="folder to write results to")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Evaluate every seed's model of the setting."""
    spec = config.run(args.setting)
    test = read_dataset(Path(args.data) / "test.csv")
    per_seed: dict[int, dict[str, float]] = {}
    boundaries = []
    for seed in spec.seeds:
        model = load_model(model_path(args.models, seed))
        per_seed[seed] = evaluate_model(model, test)
        boundaries.append(predict_grid(model, config.evaluate.grid))
    metrics = setting_metrics(per_seed)
    with atomic_directory(args.out) as out:
        write_json(out / "metrics.json", metrics)
        np.save(out / "boundary.npy", np.stack(boundaries))
    accuracy = metrics["test_accuracy"]
    print(f"{spec.name}: test accuracy {accuracy['mean']} ± {accuracy['std']}")


if __name__ == "__main__":
    sys.exit(main())
