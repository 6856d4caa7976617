"""Stage ``validate``: check the whole params.yaml before any other stage runs.

Depends on the whole ``params.yaml`` file (not on some of its keys), so any change to it,
a typo in a section no stage reads included, reruns this stage, and a bad file stops the
next ``dvc repro`` here with one line per problem (exit status 2). Every other stage
depends on its output, ``<out>``, a marker whose text does not depend on params.yaml: a
valid edit reruns this stage but, the marker being byte-identical, nothing downstream that
the edit does not affect. ``make repro`` also runs this module before DVC reads dvc.yaml,
so problems DVC would report first in its own words (``settings: null``, a setting named
``../x``, a missing params.yaml) get lrstudy's message instead.

It refuses a file without a section a stage of dvc.yaml runs on (``tune``, ``sweep``,
``lr_find``: optional to the library, not to the pipeline). It also prints the study's
cost (models, optimizer steps, estimated time and peak memory, ``lrstudy.cost``) and
refuses a study past ``limits.hours`` or ``limits.memory_gb`` with one line naming the key
that drives it, its value and the limit to raise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrstudy.config import Config, ConfigError
from lrstudy.config.loading import pipeline_problems
from lrstudy.cost import describe, limit_problems, study_cost
from lrstudy.io import write_text
from lrstudy.stages import stage_main

MARKER = "params.yaml passed lrstudy's validation (src/lrstudy/config/)\n"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="marker file to write (omit to only check)")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Validation already ran (in ``stage_main``); print the cost, check it, write the marker."""
    if problems := pipeline_problems(config):
        raise ConfigError(problems)
    costs = study_cost(config)
    print("\n".join(describe(costs)))
    if problems := limit_problems(config, costs):
        raise ConfigError(problems)
    if args.out is not None:
        out = Path(args.out)
        if not out.is_file() or out.read_text(encoding="utf-8") != MARKER:
            write_text(out, MARKER)
    print(f"{args.params}: valid")


if __name__ == "__main__":
    sys.exit(main())
