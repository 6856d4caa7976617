"""``make metrics``: print reports/metrics.json as a table (``python -m lrstudy.report``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lrstudy.report.markdown import metrics_table

# The program name in usage and error lines: the command as users run it.
PROG = "python -m lrstudy.report"


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`~lrstudy.report.markdown.metrics_table` of a metrics file (``make metrics``).

    ``python -m lrstudy.report [metrics.json]``; exit status 2 with a message if the file
    is missing or not what the compare stage writes.
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Print reports/metrics.json as a table."
    )
    parser.add_argument("metrics", nargs="?", default="reports/metrics.json", type=Path)
    args = parser.parse_args(argv)
    try:
        table = metrics_table(json.loads(args.metrics.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        print(
            f"error: {args.metrics}: not a metrics file of the compare stage ({error!r}); "
            "run `make repro` first",
            file=sys.stderr,
        )
        return 2
    print(table, end="")
    return 0
