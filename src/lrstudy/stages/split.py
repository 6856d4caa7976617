"""Stage ``split``: the raw data set + params ``split`` → train.csv, val.csv, test.csv."""

from __future__ import annotations

import argparse
import sys

from lrstudy.config import Config
from lrstudy.data import read_dataset, split, write_dataset
from lrstudy.io import atomic_directory
from lrstudy.stages import stage_main


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, help="raw CSV written by generate")
    parser.add_argument("--out", required=True, help="folder for train/val/test CSVs")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Split the raw data and write the three parts."""
    parts = split(read_dataset(args.input), config.split)
    with atomic_directory(args.out) as out:
        for name, part in parts.items():
            write_dataset(out / f"{name}.csv", part)


if __name__ == "__main__":
    sys.exit(main())
