"""Stage ``compare``: every setting's results → metrics, summary, figures, plot data.

Reads params ``settings`` and ``train`` (which settings exist and how they were run),
``evaluate`` (the grid), ``<evaluation>/<setting>/{metrics.json,boundary.npy}``,
``<logs>/<setting>/seed_<s>/`` (DVCLive per-epoch metrics, and
``learning_rate_steps.tsv`` where a schedule changes the rate within an epoch), the test
split, the sweep stage's ``<sweep>/{results.csv,curve.csv,metrics.json}`` and the lr_find
stage's ``<lr-find>/{curves.csv,suggestions.json}`` (params ``suggested``: the settings
that take their rate from it). Writes, byte-for-byte the same for the same inputs, as one
set: the whole ``<reports>`` folder is built aside and swapped in only when everything is
written (so it must hold nothing but these outputs):

- ``<reports>/metrics.json``: DVC metrics, per setting the test accuracy and loss with
  95 % intervals (null for a diverged seed), divergence, collapse to chance and the
  paired comparison with the best setting on validation accuracy;
- ``<reports>/summary.md``: table, plain-language reading and the figures;
- ``<reports>/figures/*.png``: test accuracy, learning curves, learning rate, decision
  boundaries, the LR sweep and the LR range test;
- ``<reports>/plots/learning_curves.csv`` and ``<reports>/plots/learning_rate.csv``:
  long-format data (a ``setting`` column) for the ``plots:`` of dvc.yaml.

Then it deletes the folders that settings no longer in params.yaml left in
``<evaluation>``, ``<logs>`` and ``<models>``: their stages are gone from dvc.yaml, so
nothing else would, and DVC records the ``evaluation`` and ``logs`` folders as this
stage's dependencies after it ran. Without this, a dropped setting's results would stay
in those hashes and a fresh clone (which never has them) would see ``compare`` as changed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lrstudy import plots
from lrstudy.config import Config
from lrstudy.data import Dataset, read_dataset
from lrstudy.evaluation import grid_axes
from lrstudy.io import (
    atomic_directory,
    read_json,
    remove_folders_except,
    write_csv,
    write_json,
    write_text,
)
from lrstudy.report.curves import (
    curves_table,
    epoch_summary,
    learning_rate_curves,
    long_history,
)
from lrstudy.report.figures import FIGURES
from lrstudy.report.markdown import summary_markdown
from lrstudy.report.summary import (
    SettingSummary,
    metrics_document,
    summarize_setting,
    with_comparisons,
)
from lrstudy.runlog import read_live_history, read_step_rates, seed_key, seed_log_dir, seed_of
from lrstudy.stages import MissingInputsError, stage_main
from lrstudy.sweep import edge_warning

SWEEP_FILES = ("results.csv", "curve.csv", "metrics.json")
LR_FIND_FILES = ("curves.csv", "suggestions.json")

# Plot files are committed (cache: false): a few significant digits keep them small and
# their diffs readable, far finer than any difference a chart can show.
CURVES_FORMAT = "%.4g"
RATE_FORMAT = "%.6g"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder with test.csv")
    parser.add_argument("--evaluation", required=True, help="folder of evaluate@ outputs")
    parser.add_argument("--logs", required=True, help="folder of train@ DVCLive logs")
    parser.add_argument("--models", required=True, help="folder of train@ models")
    parser.add_argument("--reports", required=True, help="folder to write the reports to")
    parser.add_argument("--sweep", required=True, help="folder of the sweep stage's outputs")
    parser.add_argument("--lr-find", required=True, help="folder of the lr_find stage's outputs")


def _check_inputs(config: Config, evaluation: Path, logs: Path, sweep: Path, lr_find: Path) -> None:
    """Fail with one line per setting or stage whose results are missing, before writing."""
    problems = [
        f"{folder / file}: not found; run `dvc repro {stage}` first"
        for stage, folder, files in (
            ("sweep", sweep, SWEEP_FILES),
            ("lr_find", lr_find, LR_FIND_FILES),
        )
        for file in files
        if not (folder / file).is_file()
    ]
    for name in config.setting_names:
        missing = []
        for folder, needed in (
            (evaluation / name, ["metrics.json", "boundary.npy"]),
            (logs / name, [f"{seed_key(seed)}/plots" for seed in config.run(name).seeds]),
        ):
            if not folder.is_dir():
                missing.append(f"{folder}/")
            else:
                missing += [str(folder / part) for part in needed if not (folder / part).exists()]
        if missing:
            problems.append(
                f"settings.{name}: no results at {', '.join(missing)}; "
                f"run `dvc repro` (train@{name}, evaluate@{name}) first"
            )
    if problems:
        raise MissingInputsError(problems)


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Compare every setting listed in params.yaml."""
    names = config.setting_names
    evaluation, logs, reports = Path(args.evaluation), Path(args.logs), Path(args.reports)
    sweep, lr_find = Path(args.sweep), Path(args.lr_find)
    _check_inputs(config, evaluation, logs, sweep, lr_find)
    metrics = {name: read_json(evaluation / name / "metrics.json") for name in names}
    folders = {
        name: {seed: seed_log_dir(logs / name, seed) for seed in config.run(name).seeds}
        for name in names
    }
    histories = {
        name: {seed: read_live_history(folder) for seed, folder in by_seed.items()}
        for name, by_seed in folders.items()
    }
    steps = {
        name: {
            seed: rates
            for seed, folder in by_seed.items()
            if (rates := read_step_rates(folder)) is not None
        }
        for name, by_seed in folders.items()
    }
    summaries = with_comparisons(
        [summarize_setting(config, name, metrics[name], histories[name]) for name in names]
    )
    curves = epoch_summary(long_history(histories))
    rates = learning_rate_curves(histories, steps)
    test = read_dataset(Path(args.data) / "test.csv")

    boundaries, titles = {}, {}
    for summary in summaries:
        layers = np.load(evaluation / summary.name / "boundary.npy")
        # Show the median seed among those with a result: a typical model, not the best.
        accuracies = summary.accuracy_array
        usable = np.flatnonzero(np.isfinite(accuracies))
        if usable.size:
            shown = int(usable[np.argsort(accuracies[usable])[(usable.size - 1) // 2]])
        else:
            shown = 0
        boundaries[summary.name] = layers[shown]
        mean = summary.accuracy["mean"]
        accuracy = "n/a" if mean is None else f"{mean:.3f}"
        if summary.accuracy["ci_low"] is not None:
            low, high = summary.accuracy["ci_low"], summary.accuracy["ci_high"]
            accuracy += f" (95 % CI {low:.3f}–{high:.3f})"
        seed = config.run(summary.name).seeds[shown]
        lost = len(summary.diverged_seeds)
        shown_text = f"seed {seed} shown" + (" (diverged)" if not usable.size else "")
        diverged = f"; {lost} of {summary.seeds} diverged" if lost else ""
        titles[summary.name] = (
            f"{summary.name} (lr {summary.lr:g})\ntest acc {accuracy}\n{shown_text}{diverged}"
        )

    constant_rates = {
        summary.name: summary.lr
        for summary in summaries
        if config.run(summary.name).schedule.type == "constant"
    }
    sweep_metrics = read_json(sweep / "metrics.json")
    suggestions = read_json(lr_find / "suggestions.json")
    extra_figures = {
        "lr_sweep.png": lambda: plots.lr_sweep(
            pd.read_csv(sweep / "curve.csv"),
            pd.read_csv(sweep / "results.csv"),
            sweep_metrics,
            constant_rates,
            edge_warning(sweep_metrics),
        ),
        "lr_find.png": lambda: plots.lr_range_test(
            pd.read_csv(lr_find / "curves.csv"),
            {seed_of(key): values for key, values in suggestions["seeds"].items()},
            suggestions["suggestions"],
        ),
    }

    # The whole reports folder is built aside and swapped in at the end, so metrics,
    # tables, figures and summary always come from the same run.
    with atomic_directory(reports) as staging:
        _write_reports(
            staging, config, summaries, curves, rates, boundaries, titles, test, extra_figures
        )
    print(f"compared {len(names)} settings → {reports}")
    for root in (evaluation, logs, Path(args.models)):
        for folder in remove_folders_except(root, names):
            print(f"removed {folder}/: its setting is no longer in params.yaml")


def _write_reports(
    reports: Path,
    config: Config,
    summaries: list[SettingSummary],
    curves: pd.DataFrame,
    rates: pd.DataFrame,
    boundaries: dict[str, np.ndarray],
    titles: dict[str, str],
    test: Dataset,
    extra_figures: dict[str, Callable[[], Figure]],
) -> None:
    """Write metrics.json, plots/*.csv, figures/*.png and summary.md under ``reports``."""
    names = config.setting_names
    chance = 1.0 / config.data.n_classes  # accuracy of guessing on the balanced classes
    write_json(reports / "metrics.json", metrics_document(summaries))
    (reports / "plots").mkdir()
    write_csv(reports / "plots" / "learning_curves.csv", curves_table(curves), CURVES_FORMAT)
    write_csv(reports / "plots" / "learning_rate.csv", rates, RATE_FORMAT)
    builders: dict[str, Callable[[], Figure]] = {
        "test_accuracy.png": lambda: plots.test_accuracy(
            {item.name: item.per_seed_accuracy for item in summaries},
            chance,
            best=next((item.name for item in summaries if item.is_best), None),
        ),
        "learning_curves.png": lambda: plots.learning_curves(curves, names, chance),
        "learning_rate.png": lambda: plots.learning_rates(rates, names),
        "decision_boundaries.png": lambda: plots.decision_boundaries(
            grid_axes(config.evaluate.grid), boundaries, titles, test.x, test.y
        ),
        **extra_figures,
    }
    (reports / "figures").mkdir()
    for entry in FIGURES:  # one at a time: each figure is closed before the next
        plots.save_figure(builders[entry.file](), reports / "figures" / entry.file)
    write_text(reports / "summary.md", summary_markdown(summaries, chance=chance))


if __name__ == "__main__":
    sys.exit(main())
