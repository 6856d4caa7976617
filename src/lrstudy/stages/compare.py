"""Stage ``compare``: every setting's results → metrics, summary, figures, plot data.

Reads params ``settings`` and ``train`` (which settings exist and how they were run),
``evaluate`` (the grid), ``<evaluation>/<setting>/``, ``<logs>/<setting>/seed_<s>/`` and the
test split. Writes ``<reports>/metrics.json`` (DVC metrics), ``<reports>/summary.md``,
``<reports>/figures/*.png`` and ``<reports>/plots/history.csv`` (long format, one row per
setting and epoch, for ``dvc plots``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lrstudy import plots
from lrstudy.config import Config
from lrstudy.evaluation import grid_axes
from lrstudy.io import (
    atomic_directory,
    atomic_path,
    read_dataset,
    read_json,
    write_json,
    write_text,
)
from lrstudy.report import (
    epoch_summary,
    long_history,
    metrics_document,
    read_live_history,
    summarize_setting,
    summary_markdown,
)
from lrstudy.stages import stage_main

FIGURES = {
    "Test accuracy per setting": "test_accuracy.png",
    "Learning curves": "learning_curves.png",
    "Learning rate per epoch": "learning_rate.png",
    "Decision boundaries": "decision_boundaries.png",
}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder with test.csv")
    parser.add_argument("--evaluation", required=True, help="folder of evaluate@ outputs")
    parser.add_argument("--logs", required=True, help="folder of train@ DVCLive logs")
    parser.add_argument("--reports", required=True, help="folder to write the reports to")


@stage_main(__doc__, _arguments)
def main(config: Config, args: argparse.Namespace) -> None:
    """Compare every setting listed in params.yaml."""
    names = list(config.settings)
    evaluation, logs, reports = Path(args.evaluation), Path(args.logs), Path(args.reports)
    metrics = {name: read_json(evaluation / name / "metrics.json") for name in names}
    histories = {
        name: {
            seed: read_live_history(logs / name / f"seed_{seed}") for seed in config.run(name).seeds
        }
        for name in names
    }
    summaries = [summarize_setting(config, name, metrics[name], histories[name]) for name in names]
    curves = epoch_summary(long_history(histories))
    test = read_dataset(Path(args.data) / "test.csv")

    boundaries, titles = {}, {}
    for summary in summaries:
        layers = np.load(evaluation / summary.name / "boundary.npy")
        # Show the seed whose test accuracy is the median: a typical model, not the best.
        accuracies = np.array(
            [np.nan if value is None else value for value in summary.per_seed_accuracy]
        )
        shown = int(np.argsort(np.nan_to_num(accuracies, nan=-1.0))[(len(accuracies) - 1) // 2])
        boundaries[summary.name] = layers[shown]
        mean, std = summary.accuracy["mean"], summary.accuracy["std"]
        spread = f"{mean:.3f} ± {std:.3f}" if mean is not None else "n/a"
        seed = config.run(summary.name).seeds[shown]
        titles[summary.name] = f"{summary.name}: test acc {spread}\n(seed {seed} shown)"

    write_json(reports / "metrics.json", metrics_document(metrics))
    (reports / "plots").mkdir(parents=True, exist_ok=True)
    with atomic_path(reports / "plots" / "history.csv") as temporary:
        curves[
            ["setting", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]
        ].to_csv(temporary, index=False, float_format="%.6g")
    with atomic_directory(reports / "figures") as figures:
        band = any(len(config.run(name).seeds) > 1 for name in names)
        plots.save_figure(
            plots.test_accuracy({item.name: item.per_seed_accuracy for item in summaries}),
            figures / FIGURES["Test accuracy per setting"],
        )
        plots.save_figure(
            plots.learning_curves(curves, names, band=band), figures / FIGURES["Learning curves"]
        )
        plots.save_figure(
            plots.learning_rates(curves, names), figures / FIGURES["Learning rate per epoch"]
        )
        plots.save_figure(
            plots.decision_boundaries(
                grid_axes(config.evaluate.grid), boundaries, titles, test.x, test.y
            ),
            figures / FIGURES["Decision boundaries"],
        )
    write_text(
        reports / "summary.md",
        summary_markdown(summaries, {title: f"figures/{file}" for title, file in FIGURES.items()}),
    )
    print(f"compared {len(names)} settings → {reports}")


if __name__ == "__main__":
    sys.exit(main())
