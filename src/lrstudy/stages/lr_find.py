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

from lrstudy.config import Config, ConfigError
from lrstudy.data import read_dataset
from lrstudy.io import atomic_directory, write_csv, write_json
from lrstudy.lr_finder import range_tests
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
    curves, document = range_tests(
        settings,
        config.model,
        train,
        config.train.batch_size,
        config.train_seeds,
        n_classes=config.data.n_classes,
        loop=config.train.loop,
    )
    with atomic_directory(args.out) as out:
        write_csv(out / "curves.csv", curves, "%.6g")
        write_json(out / "suggestions.json", document)
    print(f"lr_find suggestions (median over seeds): {document['suggestions']}")


if __name__ == "__main__":
    sys.exit(main())
