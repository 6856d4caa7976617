"""Stage ``generate``: params ``data`` → the raw data set (CSV: x0, x1, y)."""

from __future__ import annotations

import argparse
import sys

from lrstudy.config import Config
from lrstudy.data import generate, write_dataset
from lrstudy.stages import stage_main


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="CSV file to write")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Generate the data set and write it."""
    write_dataset(args.out, generate(config.data))


if __name__ == "__main__":
    sys.exit(main())
