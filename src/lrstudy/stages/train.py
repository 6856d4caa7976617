"""Stage ``train@<setting>``: train one setting once per seed, in one process.

Reads params ``model``, ``train`` and ``settings.<setting>`` and the train/val splits;
writes ``<models>/seed_<s>.keras`` and a DVCLive folder ``<logs>/seed_<s>/`` per seed
(per-epoch loss, accuracy, val_loss, val_accuracy, learning_rate). For a schedule set per
optimizer step (``per: step``) it also writes ``<logs>/seed_<s>/learning_rate_steps.tsv``:
the rate the optimizer used at every step (columns ``step``, ``epoch_fraction``,
``learning_rate``). Both folders are built aside and swapped in only when every seed has
trained. ``train.loop`` picks the training loop (``lrstudy.training``: ``fast``, every seed
in one population, or ``fit``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrstudy.config import Config
from lrstudy.data import read_dataset
from lrstudy.io import atomic_directory
from lrstudy.model import compiled_model, save_model
from lrstudy.runlog import live_logger, model_path, seed_log_dir, write_step_rates
from lrstudy.stages import stage_main
from lrstudy.training import train_setting


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", required=True, help="key under settings in params.yaml")
    parser.add_argument("--data", required=True, help="folder with train.csv and val.csv")
    parser.add_argument("--models", required=True, help="folder to write the models to")
    parser.add_argument("--logs", required=True, help="folder to write the DVCLive logs to")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Train every seed of the setting and write models and logs."""
    spec = config.run(args.setting)
    train = read_dataset(Path(args.data) / "train.csv")
    val = read_dataset(Path(args.data) / "val.csv")
    with atomic_directory(args.models) as models, atomic_directory(args.logs) as logs:
        seeds = list(spec.seeds)
        loggers = [live_logger(seed_log_dir(logs, seed)) for seed in seeds]
        model = compiled_model(config.model, train.x.shape[1], config.data.n_classes, spec.lr)
        results = train_setting(
            spec,
            config.model,
            train,
            val,
            n_classes=config.data.n_classes,
            callbacks=lambda member: [loggers[member]],
        )
        for seed, result in zip(seeds, results, strict=True):
            model.set_weights(result.weights)
            save_model(model, model_path(models, seed))
            if result.plan.per == "step":
                write_step_rates(
                    seed_log_dir(logs, seed), result.step_rates, result.plan.steps_per_epoch
                )
            history = result.history
            print(
                f"{spec.name} seed {seed}: {spec.epochs} epochs, "
                f"val_accuracy {history['val_accuracy'][-1]:.4f}, "
                f"final learning_rate {history['learning_rate'][-1]:.3g}"
            )


if __name__ == "__main__":
    sys.exit(main())
