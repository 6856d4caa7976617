"""Thin stage scripts: parse arguments, read deps, call the core, write outs atomically.

Every stage loads and validates the whole ``params.yaml`` first, so a bad value anywhere
stops any stage before it writes a file. A stage given ``--suggestions`` (the ``lr_find``
stage's ``suggestions.json``) also resolves the settings under ``suggested``. A Python
lacking the stages' packages (not the venv's) stops with one line before importing them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from lrstudy.runtime import require_stage_packages

require_stage_packages()

from lrstudy.config import Config, ConfigError, load_config  # noqa: E402
from lrstudy.executor import ClusterError  # noqa: E402
from lrstudy.io import read_json  # noqa: E402


class MissingInputsError(Exception):
    """A stage's inputs are missing or incomplete; ``problems`` has one line per gap."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"missing inputs:\n{lines}")


def stage_main(
    description: str, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Callable[[Config, argparse.Namespace], None]], Callable[[list[str] | None], int]]:
    """Wrap a stage body ``body(config, args)`` into a ``main(argv) -> exit code``.

    The body runs only if params.yaml is valid; a ConfigError (raised by validation or by
    the body) or a MissingInputsError (or ``executor.ClusterError``: the Dask scheduler
    unreachable or lost, a worker refused) prints every problem to stderr and exits with
    status 2. Ctrl-C (``KeyboardInterrupt``) prints one line instead of a traceback through
    TensorFlow and exits with status 130, the shell's for SIGINT; the stage's outputs are
    built aside (``io.atomic_directory``), so nothing is half-written. Every stage takes
    ``--suggestions PATH``: the range test's suggestions, which settings under
    ``suggested`` take their rate from.
    """

    def decorate(body: Callable[[Config, argparse.Namespace], None]) -> Callable[..., int]:
        def main(argv: list[str] | None = None) -> int:
            parser = argparse.ArgumentParser(description=description)
            parser.add_argument("--params", default="params.yaml", help="parameters file")
            parser.add_argument(
                "--suggestions", help="lr_find's suggestions.json (for settings under suggested)"
            )
            add_arguments(parser)
            args = parser.parse_args(argv)
            try:
                config = load_config(args.params)
                if args.suggestions is not None:
                    config = config.with_suggestions(read_suggestions(args.suggestions))
                body(config, args)
            except (ConfigError, MissingInputsError, ClusterError) as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print(
                    f"interrupted: {parser.prog} stopped, its outputs left as they were",
                    file=sys.stderr,
                )
                return 130
            return 0

        return main

    return decorate


def read_suggestions(path: str) -> dict[str, float | None]:
    """``{suggestion: rate or None}`` from the lr_find stage's ``suggestions.json``."""
    try:
        document = read_json(path)
    except FileNotFoundError:
        raise MissingInputsError([f"{path}: not found; run the lr_find stage first"]) from None
    return dict(document["suggestions"])
