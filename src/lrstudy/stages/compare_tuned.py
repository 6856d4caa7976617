"""Stage ``compare_tuned``: every setting at its tuned rate against the best tuned setting.

Reads params ``compare`` (the equivalence margin) and ``settings`` (names), and each
``<tune>/<setting>/`` the tune@ stages wrote (``lrstudy.tuned_comparison``). Writes, as
one set: ``<out>/comparison.csv`` (one row per setting: tuned rate, accuracies, difference
from the best with its interval, Holm p, probability of improvement, TOST p, verdict,
seeds needed, good-rate range), ``<metrics>`` (the same, DVC metrics, beside the folder),
``<out>/isolation.csv`` (every setting's tuning curve, a DVC plot) and
``<out>/summary.md`` (the answer in words and a table).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrstudy.config import Config
from lrstudy.io import atomic_directory, write_csv, write_json, write_text
from lrstudy.stages import stage_main
from lrstudy.tuned_comparison import (
    isolation_table,
    read_tuned,
    tuned_markdown,
    tuned_metrics,
    tuned_table,
)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tune", required=True, help="folder with one tune@ output per setting")
    parser.add_argument("--out", required=True, help="folder to write the comparison to")
    parser.add_argument("--metrics", required=True, help="file to write the tuned metrics to")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Compare the tuned settings; write the table, metrics, curves and summary."""
    tuned = read_tuned(Path(args.tune), list(config.settings))
    margin = config.compare.equivalence_margin
    table = tuned_table(tuned, margin)
    with atomic_directory(args.out) as out:
        write_csv(out / "comparison.csv", table, "%.6g")
        write_csv(out / "isolation.csv", isolation_table(tuned), "%.6g")
        write_text(out / "summary.md", tuned_markdown(table, margin))
    write_json(args.metrics, tuned_metrics(table, margin))
    print(tuned_markdown(table, margin).split("\n\n")[1])


if __name__ == "__main__":
    sys.exit(main())
