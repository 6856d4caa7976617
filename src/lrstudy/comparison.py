"""What the compare stage computes: every setting's results side by side, and the figures.

The compare stage checks its inputs (``missing_inputs``), reads them (``read_inputs``),
calls ``compare`` (pure: summaries with the comparison with the best, the plot tables,
the metrics document, the summary text and one builder per figure) and writes the result.
Which seed's decision boundary a panel shows, and its title, is ``shown_boundary``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lrstudy import plots
from lrstudy.budgets import budget_entries, budget_reading, budget_table
from lrstudy.config import Config
from lrstudy.data import Dataset, read_dataset
from lrstudy.evaluation import grid_axes
from lrstudy.io import read_json
from lrstudy.report.curves import (
    averaging_weight_curves,
    curves_table,
    effective_rate_settings,
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
from lrstudy.runlog import (
    EVALUATION_FILES,
    read_evaluation,
    read_initial_loss,
    read_live_history,
    read_step_rates,
    seed_key,
    seed_log_dir,
    seed_of,
)
from lrstudy.sweep import edge_warning, log_grid
from lrstudy.tuned_comparison import (
    TUNE_FILES,
    identical_runs,
    isolation_table,
    read_tuned,
    tuned_entries,
    tuned_markdown,
    tuned_table,
)

SWEEP_FILES = ("results.csv", "curve.csv", "metrics.json")
LR_FIND_FILES = ("curves.csv", "suggestions.json")

# The heading of the hand-picked comparison when the tuned one leads the summary.
HAND_PICKED = "## Each setting at its hand-picked rate (settings.<name>.lr)\n"

# Plot files are committed (cache: false): a few significant digits keep them small and
# their diffs readable, far finer than any difference a chart can show.
CURVES_FORMAT = "%.4g"
RATE_FORMAT = "%.6g"


@dataclass(frozen=True)
class CompareInputs:
    """Everything the compare stage reads, per setting in params order where per setting.

    Attributes:
        metrics: Per setting, its evaluation's ``metrics.json``.
        histories: Per setting and seed, the per-epoch history (``read_live_history``).
        initial_losses: Per setting and seed, the untrained model's training loss
            (``read_initial_loss``).
        steps: Per setting and seed, the per-step rates where the seed logged them.
        boundaries: Per setting, ``boundary.npy`` (memory-mapped, read-only): one grid of
            probabilities per seed.
        test: The test split (the points on the decision-boundary panels).
        sweep_curve: The sweep stage's ``curve.csv``.
        sweep_results: The sweep stage's ``results.csv``.
        sweep_metrics: The sweep stage's ``metrics.json``.
        lr_find_curves: The lr_find stage's ``curves.csv``.
        suggestions: The lr_find stage's ``suggestions.json``.
        tuned: Per setting under ``settings``, its tuning (``tuned_comparison.read_tuned``);
            ``None`` without a ``tune`` section.
    """

    metrics: dict[str, dict]
    histories: dict[str, dict[int, pd.DataFrame]]
    initial_losses: dict[str, dict[int, float]]
    steps: dict[str, dict[int, pd.DataFrame]]
    boundaries: dict[str, np.ndarray]
    test: Dataset
    sweep_curve: pd.DataFrame
    sweep_results: pd.DataFrame
    sweep_metrics: dict
    lr_find_curves: pd.DataFrame
    suggestions: dict
    tuned: dict[str, dict] | None = None


@dataclass(frozen=True)
class Comparison:
    """What the compare stage writes under ``<reports>``.

    Attributes:
        metrics: ``metrics.json`` (``report.summary.metrics_document``).
        curves: ``plots/learning_curves.csv`` (``report.curves.curves_table``).
        rates: ``plots/learning_rate.csv`` (``report.curves.learning_rate_curves``).
        figures: ``figures/<file>`` → a function building that figure, in
            ``report.figures.FIGURES`` order (built one at a time, each closed before the next).
        summary: ``summary.md``.
        isolation: ``plots/isolation.csv`` (``tuned_comparison.isolation_table``), ``None``
            without a ``tune`` section.
        budgets: ``plots/budgets.csv`` (``budgets.budget_table``), ``None`` without one.
    """

    metrics: dict[str, object]
    curves: pd.DataFrame
    rates: pd.DataFrame
    figures: dict[str, Callable[[], Figure]]
    summary: str
    isolation: pd.DataFrame | None = None
    budgets: pd.DataFrame | None = None


def missing_inputs(
    config: Config, evaluation: Path, logs: Path, sweep: Path, lr_find: Path, tune: Path
) -> list[str]:
    """One line per setting or stage whose results are missing (empty when all are there).

    Args:
        config: The validated params: which settings exist and their seeds.
        evaluation: Folder of the settings' evaluations, one subfolder per setting.
        logs: Folder of the train stages' DVCLive logs, one subfolder per setting.
        sweep: Folder of the sweep stage's outputs.
        lr_find: Folder of the lr_find stage's outputs.
        tune: Folder of the train stages' tunings, one subfolder per setting under
            ``settings`` (none expected without a ``tune`` section).

    Returns:
        Each problem as a line naming the missing paths and the ``dvc repro`` to run.
    """
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
        tuned = config.tune is not None and name in config.settings
        for folder, needed in (
            (evaluation / name, list(EVALUATION_FILES)),
            (logs / name, [f"{seed_key(seed)}/plots" for seed in config.run(name).seeds]),
            *([(tune / name, list(TUNE_FILES))] if tuned else []),
        ):
            if not folder.is_dir():
                missing.append(f"{folder}/")
            else:
                missing += [str(folder / part) for part in needed if not (folder / part).exists()]
        if missing:
            problems.append(
                f"settings.{name}: no results at {', '.join(missing)}; "
                f"run `dvc repro train@{name}` first"
            )
    return problems


def read_inputs(
    config: Config,
    data: Path,
    evaluation: Path,
    logs: Path,
    sweep: Path,
    lr_find: Path,
    tune: Path,
) -> CompareInputs:
    """Read every input of the compare stage (``missing_inputs`` lists none missing).

    Args:
        config: The validated params: which settings exist and their seeds.
        data: Folder with ``test.csv``.
        evaluation: Folder of the settings' evaluations.
        logs: Folder of the train stages' DVCLive logs.
        sweep: Folder of the sweep stage's outputs.
        lr_find: Folder of the lr_find stage's outputs.
        tune: Folder of the settings' tunings.

    Returns:
        The inputs, per setting in ``config.setting_names`` order.
    """
    names = config.setting_names
    folders = {
        name: {seed: seed_log_dir(logs / name, seed) for seed in config.run(name).seeds}
        for name in names
    }
    evaluations = {name: read_evaluation(evaluation / name) for name in names}
    return CompareInputs(
        metrics={name: evaluations[name][0] for name in names},
        histories={
            name: {seed: read_live_history(folder) for seed, folder in by_seed.items()}
            for name, by_seed in folders.items()
        },
        initial_losses={
            name: {seed: read_initial_loss(folder) for seed, folder in by_seed.items()}
            for name, by_seed in folders.items()
        },
        steps={
            name: {
                seed: rates
                for seed, folder in by_seed.items()
                if (rates := read_step_rates(folder)) is not None
            }
            for name, by_seed in folders.items()
        },
        # Memory-mapped: only the seed a panel shows is ever read (every seed of every
        # setting would take gigabytes with many classes on a fine grid).
        boundaries={name: evaluations[name][1] for name in names},
        test=read_dataset(data / "test.csv"),
        sweep_curve=pd.read_csv(sweep / "curve.csv"),
        sweep_results=pd.read_csv(sweep / "results.csv"),
        sweep_metrics=read_json(sweep / "metrics.json"),
        lr_find_curves=pd.read_csv(lr_find / "curves.csv"),
        suggestions=read_json(lr_find / "suggestions.json"),
        tuned=None if config.tune is None else read_tuned(tune, list(config.settings)),
    )


def compare(config: Config, inputs: CompareInputs) -> Comparison:
    """Summarise every setting, compare each with the best, and prepare every output.

    Args:
        config: The validated params (settings, their runs, ``evaluate.grid``,
            ``data.n_classes``: chance is ``1 / n_classes``).
        inputs: ``read_inputs``'s result.

    Returns:
        The metrics document, the two plot tables, the figure builders and the summary.
    """
    names = config.setting_names
    chance = 1.0 / config.data.n_classes  # accuracy of guessing on the balanced classes
    summaries = with_comparisons(
        [
            summarize_setting(
                config,
                name,
                inputs.metrics[name],
                inputs.histories[name],
                inputs.initial_losses[name],
            )
            for name in names
        ]
    )
    curves = epoch_summary(long_history(inputs.histories))
    rates = learning_rate_curves(inputs.histories, inputs.steps)
    boundaries, titles = {}, {}
    for summary in summaries:
        seeds = config.run(summary.name).seeds
        boundaries[summary.name], titles[summary.name] = shown_boundary(
            summary, inputs.boundaries[summary.name], seeds
        )
    builders: dict[str, Callable[[], Figure]] = {
        "test_accuracy.png": lambda: plots.test_accuracy(
            {item.name: item.per_seed_accuracy for item in summaries},
            chance,
            best=next((item.name for item in summaries if item.is_best), None),
        ),
        "learning_curves.png": lambda: plots.learning_curves(curves, names, chance),
        "learning_rate.png": lambda: _learning_rate_figure(rates, names, inputs.histories),
        "decision_boundaries.png": lambda: plots.decision_boundaries(
            grid_axes(config.evaluate.grid), boundaries, titles, inputs.test.x, inputs.test.y
        ),
        **_rate_figures(config, summaries, inputs),
    }
    metrics = metrics_document(summaries)
    section, isolation, budgets = "", None, None
    if inputs.tuned is not None:
        margin = config.compare.equivalence_margin
        table = tuned_table(inputs.tuned, margin)
        budgets = budget_table({name: entry["budgets"] for name, entry in inputs.tuned.items()})
        per_budget = budget_entries(budgets)
        for name, entry in tuned_entries(table, margin).items():
            metrics[name]["tuned"] = entry | {"budgets": per_budget[name]}
        cut_short = budget_reading(budgets, identical_runs(inputs.tuned))
        section = tuned_markdown(table, margin, cut_short) + "\n"
        isolation = isolation_table(inputs.tuned)
        builders |= _tuned_figures(config, table, isolation, inputs.tuned, chance)
        builders["budgets.png"] = lambda: plots.budgets(budgets, chance)
    figures = [entry for entry in FIGURES if entry.file in builders]
    title, rest = summary_markdown(summaries, figures, chance=chance).split("\n", 1)
    return Comparison(
        metrics=metrics,
        curves=curves_table(curves),
        rates=rates,
        figures={entry.file: builders[entry.file] for entry in figures},
        summary=f"{title}\n\n{section}\n{HAND_PICKED}\n{rest}" if section else f"{title}\n{rest}",
        isolation=isolation,
        budgets=budgets,
    )


def _learning_rate_figure(
    rates: pd.DataFrame, names: Sequence[str], histories: dict[str, dict[int, pd.DataFrame]]
) -> Figure:
    """``plots.learning_rates``: Prodigy's settings as ``d·lr``, Schedule-Free's weights below."""
    effective = effective_rate_settings(histories)
    return plots.learning_rates(rates, names, effective, averaging_weight_curves(histories))


def _tuned_figures(
    config: Config,
    table: pd.DataFrame,
    isolation: pd.DataFrame,
    tuned: dict[str, dict],
    chance: float,
) -> dict[str, Callable[[], Figure]]:
    """Builders of the tuned comparison's figures (the first three of ``FIGURES``)."""
    names = list(tuned)  # params order: the colours of every other figure
    rows = table.set_index("setting").loc[names]
    label = {name: f"{name} @ {rows.loc[name, 'tuned_lr']:.3g}" for name in names}
    best = label[str(table.loc[table["reference"], "setting"].iloc[0])]
    grid = log_grid(config.tune.min_lr, config.tune.max_lr, config.tune.per_decade)
    return {
        "tuned_accuracy.png": lambda: plots.tuned_accuracy(
            {label[n]: list(tuned[n]["evaluation"]["test_accuracy"]) for n in names},
            chance,
            best=best,
        ),
        "isolation.png": lambda: plots.isolation(isolation, rows.reset_index(), chance),
        "sensitivity.png": lambda: plots.sensitivity(rows.reset_index(), grid, config.tune.margin),
    }


def shown_boundary(
    summary: SettingSummary, layers: np.ndarray, seeds: Sequence[int]
) -> tuple[np.ndarray, str]:
    """The decision boundary a setting's panel shows, and the panel's title.

    The median seed among those with a test accuracy is shown (a typical model, not the
    best); the first seed when every seed diverged.

    Args:
        summary: The setting's summary (name, rate, accuracy and its interval, seeds).
        layers: The setting's ``boundary.npy``: one grid per seed, in seed order.
        seeds: The setting's seeds, in the same order.

    Returns:
        The shown seed's grid (``layers[i]``) and a three-line title: setting and rate,
        test accuracy (with its 95 % interval when there is one), the seed shown and how
        many seeds diverged.
    """
    accuracies = summary.accuracy_array
    usable = np.flatnonzero(np.isfinite(accuracies))
    if usable.size:
        shown = int(usable[np.argsort(accuracies[usable])[(usable.size - 1) // 2]])
    else:
        shown = 0
    mean = summary.accuracy["mean"]
    accuracy = "n/a" if mean is None else f"{mean:.3f}"
    if summary.accuracy["ci_low"] is not None:
        low, high = summary.accuracy["ci_low"], summary.accuracy["ci_high"]
        accuracy += f" (95 % CI {low:.3f}–{high:.3f})"
    lost = len(summary.diverged_seeds)
    shown_text = f"seed {seeds[shown]} shown" + (" (diverged)" if not usable.size else "")
    diverged = f"; {lost} of {summary.seeds} diverged" if lost else ""
    title = f"{summary.name} (lr {summary.lr:g})\ntest acc {accuracy}\n{shown_text}{diverged}"
    return layers[shown], title


def _rate_figures(
    config: Config, summaries: list[SettingSummary], inputs: CompareInputs
) -> dict[str, Callable[[], Figure]]:
    """Builders of the LR sweep figure (constant-rate settings marked) and the range test."""
    constant_rates = {
        summary.name: summary.lr
        for summary in summaries
        if config.run(summary.name).schedule.type == "constant"
    }
    suggestions = inputs.suggestions
    return {
        "lr_sweep.png": lambda: plots.lr_sweep(
            inputs.sweep_curve,
            inputs.sweep_results,
            inputs.sweep_metrics,
            constant_rates,
            edge_warning(inputs.sweep_metrics),
        ),
        "lr_find.png": lambda: plots.lr_range_test(
            inputs.lr_find_curves,
            {seed_of(key): values for key, values in suggestions["seeds"].items()},
            suggestions["suggestions"],
        ),
    }
