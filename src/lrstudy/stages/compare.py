"""Stage ``compare``: every setting's results → metrics, summary, figures, plot data.

Reads params ``settings`` and ``train`` (which settings exist and how they were run),
``evaluate`` (the grid), ``<evaluation>/<setting>/{metrics.json,boundary.npy}``,
``<logs>/<setting>/seed_<s>/`` (DVCLive per-epoch metrics, and
``learning_rate_steps.tsv`` where a schedule changes the rate within an epoch), the test
split, the sweep stage's ``<sweep>/{results.csv,curve.csv,metrics.json}`` and the lr_find
stage's ``<lr-find>/{curves.csv,suggestions.json}`` (params ``suggested``: the settings
that take their rate from it) and each setting's tuning ``<tune>/<setting>/`` (params
``compare``: the equivalence margin; ``lrstudy.tuned_comparison``). Writes, byte-for-byte
the same for the same inputs, as one set: the whole ``<reports>`` folder is built aside
and swapped in only when everything is written (so it must hold nothing but these outputs):

- ``<reports>/metrics.json``: DVC metrics, per setting the test accuracy and loss with
  95 % intervals (null for a diverged seed), divergence, collapse to chance and the
  paired comparison with the best setting on validation accuracy; under ``tuned`` the
  setting at its tuned rate: the rate, its good-rate range and the comparison with the
  best tuned setting with its equivalence verdict (TOST);
- ``<reports>/summary.md``: the tuned comparison's reading and table, then the hand-picked
  rates' table, reading and the figures;
- ``<reports>/figures/*.png``: test accuracy at the tuned rates, the isolation plot
  (accuracy against base rate) and the good-rate ranges; test accuracy, learning curves,
  learning rate, decision boundaries, the LR sweep and the LR range test;
- ``<reports>/plots/learning_curves.csv``, ``<reports>/plots/learning_rate.csv`` and
  ``<reports>/plots/isolation.csv`` (every setting's tuning curve):
  long-format data (a ``setting`` column) for the ``plots:`` of dvc.yaml.

Then it deletes the folders that settings no longer in params.yaml left in
``<evaluation>``, ``<logs>``, ``<models>`` and ``<tune>``: their stages are gone from
dvc.yaml, so nothing else would, and DVC records the ``evaluation``, ``logs`` and ``tune``
folders as this
stage's dependencies after it ran. Without this, a dropped setting's results would stay
in those hashes and a fresh clone (which never has them) would see ``compare`` as changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrstudy import plots
from lrstudy.comparison import CURVES_FORMAT, RATE_FORMAT, compare, missing_inputs, read_inputs
from lrstudy.config import Config
from lrstudy.io import atomic_directory, remove_folders_except, write_csv, write_json, write_text
from lrstudy.stages import MissingInputsError, stage_main


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder with test.csv")
    parser.add_argument("--evaluation", required=True, help="folder of the settings' evaluations")
    parser.add_argument("--logs", required=True, help="folder of train@ DVCLive logs")
    parser.add_argument("--models", required=True, help="folder of train@ models")
    parser.add_argument("--reports", required=True, help="folder to write the reports to")
    parser.add_argument("--sweep", required=True, help="folder of the sweep stage's outputs")
    parser.add_argument("--lr-find", required=True, help="folder of the lr_find stage's outputs")
    parser.add_argument("--tune", required=True, help="folder of the train stages' tunings")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Compare every setting listed in params.yaml."""
    names = config.setting_names
    evaluation, logs, reports = Path(args.evaluation), Path(args.logs), Path(args.reports)
    sweep, lr_find, tune = Path(args.sweep), Path(args.lr_find), Path(args.tune)
    # Fail with one line per setting or stage whose results are missing, before writing.
    if problems := missing_inputs(config, evaluation, logs, sweep, lr_find, tune):
        raise MissingInputsError(problems)
    inputs = read_inputs(config, Path(args.data), evaluation, logs, sweep, lr_find, tune)
    result = compare(config, inputs)
    # The whole reports folder is built aside and swapped in at the end, so metrics,
    # tables, figures and summary always come from the same run.
    with atomic_directory(reports) as staging:
        write_json(staging / "metrics.json", result.metrics)
        (staging / "plots").mkdir()
        write_csv(staging / "plots" / "learning_curves.csv", result.curves, CURVES_FORMAT)
        write_csv(staging / "plots" / "learning_rate.csv", result.rates, RATE_FORMAT)
        if result.isolation is not None:
            write_csv(staging / "plots" / "isolation.csv", result.isolation, RATE_FORMAT)
        (staging / "figures").mkdir()
        for file, build in result.figures.items():  # one at a time, each closed before the next
            plots.save_figure(build(), staging / "figures" / file)
        write_text(staging / "summary.md", result.summary)
    print(f"compared {len(names)} settings → {reports}")
    for root in (evaluation, logs, Path(args.models), tune):
        for folder in remove_folders_except(root, names):
            print(f"removed {folder}/: its setting is no longer in params.yaml")


if __name__ == "__main__":
    sys.exit(main())
