"""Stage ``lr_find``: the LR range test over the study's seeds, and its suggestions.

Reads params ``lr_find``, ``model`` and ``train.batch_size``/``train.seeds``/``train.seed``
and the train split. Writes, as one set (the folder is built aside and swapped in):

- ``<out>/curves.csv``: per seed and step the rate, the raw training loss and the smoothed
  loss, up to the step at which the smoothed loss diverged;
- ``<out>/suggestions.json``: under ``suggestions`` the median over seeds of each
  suggestion (``minimum``, ``steep``, ``valley``; ``null`` when no seed has one), under
  ``seeds`` each seed's own, steps run, whether it diverged and why a rule found
  nothing (DVC metrics; the settings under ``suggested`` read their rate from here).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from lrstudy.config import Config, ConfigError
from lrstudy.data import read_dataset
from lrstudy.io import atomic_directory, write_csv, write_json
from lrstudy.lr_finder import (
    divergence_step,
    exponential_rates,
    median_suggestions,
    range_test,
    smooth,
    suggest,
)
from lrstudy.runlog import seed_key
from lrstudy.stages import stage_main


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder with train.csv")
    parser.add_argument("--out", required=True, help="folder to write the range test to")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Run the range test once per seed and suggest rates."""
    settings = config.lr_find
    if settings is None:
        raise ConfigError(["lr_find: missing section (start_lr, end_lr, steps)"])
    train = read_dataset(Path(args.data) / "train.csv")
    rates = exponential_rates(settings.start_lr, settings.end_lr, settings.steps)
    frames, per_seed = [], {}
    for seed in config.train_seeds:
        losses = range_test(
            config.model,
            train,
            config.train.batch_size,
            seed,
            rates,
            settings.diverge_factor,
            settings.smoothing,
            n_classes=config.data.n_classes,
        )
        smoothed = smooth(losses, settings.smoothing)
        kept = rates[: len(losses)]
        found = suggest(kept, smoothed, settings.steps)
        per_seed[seed] = {
            **found.as_dict(),
            "steps_run": len(losses),
            "diverged": divergence_step(smoothed, settings.diverge_factor) is not None,
            "reason": found.reason,
        }
        frames.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "step": range(len(losses)),
                    "lr": kept,
                    "loss": losses,
                    "smoothed_loss": smoothed,
                }
            )
        )
        print(f"lr_find seed {seed}: {len(losses)} steps, {found.as_dict()}")
    document = {
        "suggestions": median_suggestions(per_seed),
        "seeds": {seed_key(seed): values for seed, values in per_seed.items()},
    }
    with atomic_directory(args.out) as out:
        write_csv(out / "curves.csv", pd.concat(frames, ignore_index=True), "%.6g")
        write_json(out / "suggestions.json", document)
    print(f"lr_find suggestions (median over seeds): {document['suggestions']}")


if __name__ == "__main__":
    sys.exit(main())
