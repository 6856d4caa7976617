"""Stage ``train@<setting>``: train every seed of one setting and evaluate it, in one process.

Reads params ``model``, ``train``, ``evaluate`` and ``settings.<setting>`` and the
train/val/test splits. Trains every seed together (``train.loop: fast``, one population;
``fit``: one ``keras.Model.fit`` per seed, ``lrstudy.training``) and writes:

* ``<models>/seed_<s>.keras`` per seed, and a DVCLive folder ``<logs>/seed_<s>/``
  (per epoch ``runlog.HISTORY_KEYS``, and its ``OPTIMIZER_KEYS``); for a schedule set
  per optimizer step (``per: step``) also ``<logs>/seed_<s>/learning_rate_steps.tsv``, the
  rate the optimizer used at every step (``runlog``);
* ``<evaluation>/metrics.json`` (test accuracy and loss per seed, with mean, std, min,
  max) and ``<evaluation>/boundary.npy`` (the probabilities on the grid, one layer per
  seed: see ``evaluation.predict_grid``), from each saved model through Keras' own
  ``test_on_batch`` and ``predict_on_batch``.

With ``--tune <folder>`` (the ``train@`` stages; not ``train_suggested@``, whose rate comes
from the range test) it also tunes the setting's base rate and retrains it there on the
evaluation seeds (``lrstudy.tune_training``, params ``tune``), writing
``<tune>/{results.csv,curve.csv,tuned.json,evaluation.csv}``: in this process, because a
stage of its own would import TensorFlow again for a few seconds of training.

Evaluation runs here, not in a stage of its own, because a setting now trains in about
the time a process takes to import TensorFlow: a change of only ``evaluate`` retrains
(seconds), and a from-scratch ``dvc repro`` imports TensorFlow half as often. The
folders are built aside and swapped in only when every seed has trained and been
evaluated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrstudy.config import Config
from lrstudy.data import read_dataset
from lrstudy.io import atomic_directory
from lrstudy.setting_training import train_and_evaluate
from lrstudy.stages import stage_main
from lrstudy.tune_training import tune_setting, write_tuned


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", required=True, help="key under settings in params.yaml")
    parser.add_argument("--data", required=True, help="folder with train, val and test.csv")
    parser.add_argument("--models", required=True, help="folder to write the models to")
    parser.add_argument("--logs", required=True, help="folder to write the DVCLive logs to")
    parser.add_argument("--evaluation", required=True, help="folder to write test results to")
    parser.add_argument("--tune", help="folder to write the tuning to (omit: no tuning)")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Train and evaluate every seed of the setting; write models, logs and evaluation."""
    spec = config.run(args.setting)
    data = {
        part: read_dataset(Path(args.data) / f"{part}.csv") for part in ("train", "val", "test")
    }
    with (
        atomic_directory(args.models) as models,
        atomic_directory(args.logs) as logs,
        atomic_directory(args.evaluation) as evaluation,
    ):
        folders = {"models": models, "logs": logs, "evaluation": evaluation}
        metrics = train_and_evaluate(spec, config, data, folders)
        accuracy = metrics["test_accuracy"]
        print(f"{spec.name}: test accuracy {accuracy['mean']} ± {accuracy['std']}")
        # Tuned before any folder is swapped in: a failure leaves every output untouched.
        tuned = None if args.tune is None else tune_setting(args.setting, config, data)
    if tuned is not None:
        with atomic_directory(args.tune) as folder:
            write_tuned(folder, tuned)


if __name__ == "__main__":
    sys.exit(main())
