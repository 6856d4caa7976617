"""Thin stage scripts: parse arguments, read deps, call the core, write outs atomically.

Every stage loads and validates the whole ``params.yaml`` first, so a bad value anywhere
stops any stage before it writes a file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from lrstudy.config import Config, ConfigError, load_config


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
    the body) or a MissingInputsError prints every problem to stderr and exits with
    status 2.
    """

    def decorate(body: Callable[[Config, argparse.Namespace], None]) -> Callable[..., int]:
        def main(argv: list[str] | None = None) -> int:
            parser = argparse.ArgumentParser(description=description)
            parser.add_argument("--params", default="params.yaml", help="parameters file")
            add_arguments(parser)
            args = parser.parse_args(argv)
            try:
                config = load_config(args.params)
                body(config, args)
            except (ConfigError, MissingInputsError) as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            return 0

        return main

    return decorate
