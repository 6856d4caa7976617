"""The markdown of the comparison: the settings table, reports/summary.md, the metrics table.

``summary_table`` is one row per setting of ``SettingSummary`` values; ``summary_markdown``
is the whole summary file (reading, table, figures); ``metrics_table`` prints a
reports/metrics.json for ``make metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lrstudy.data import CHANCE_ACCURACY
from lrstudy.evaluation import DIVERGENCE_FACTOR
from lrstudy.report.figures import FIGURES, FigureEntry
from lrstudy.report.formatting import interval, not_enough, number, p_value, signed_number
from lrstudy.report.reading import reading
from lrstudy.report.summary import COLLAPSE_MARGIN, NO_DIFFERENCE, SettingSummary
from lrstudy.statistics import Comparison


def _seeds_needed(comparison: Comparison) -> str:
    if comparison.seeds_for_power is not None:
        return str(comparison.seeds_for_power)
    if comparison.spread is None:
        return not_enough(comparison.n)
    no_difference = comparison.difference is not None and abs(comparison.difference) < NO_DIFFERENCE
    return "no difference" if no_difference else "> 100000"


def _versus_best(item: SettingSummary) -> list[str]:
    """The table cells comparing a setting with the best: Δ [CI], p (Holm), P, seeds."""
    if item.is_best:
        return ["best (reference)", "–", "–", "–"]
    comparison = item.comparison
    if comparison is None:
        return ["n/a", "n/a", "n/a", "n/a"]
    bounds = interval(comparison.ci_low, comparison.ci_high, comparison.n, signed=True)
    unpaired = "" if comparison.paired else " (unpaired)"
    probability = comparison.probability_of_improvement
    return [
        f"{signed_number(comparison.difference)} [{bounds}]{unpaired}",
        p_value(comparison.p_holm, comparison.n),
        "n/a" if probability is None else f"{probability:.2f}",
        _seeds_needed(comparison),
    ]


def _accuracy_cells(item: SettingSummary) -> list[str]:
    stats = item.accuracy
    count = int(stats.get("n") or 0)
    if stats.get("mean") is None:
        return ["n/a (0 seeds)", "n/a"]
    share = f" ({count} of {item.seeds} seeds)" if count < item.seeds else ""
    mean = number(stats["mean"])
    bounds = interval(stats.get("ci_low"), stats.get("ci_high"), count)
    return [
        f"{mean} [{bounds}]{share}",
        f"{number(stats['min'])}–{number(stats['max'])}",
    ]


def _collapse_cell(item: SettingSummary) -> str:
    bounds = item.collapse_interval
    if bounds is None:
        return "n/a"
    count = int(item.finite_accuracies.size)
    return f"{item.collapsed_seeds} of {count} [{bounds[0]:.2f}–{bounds[1]:.2f}]"


def _divergence_cell(item: SettingSummary) -> str:
    if not item.diverged_seeds:
        return "none"
    seeds = ", ".join(map(str, item.diverged_seeds))
    first = item.first_diverged_epoch
    return seeds + (f" (from epoch {first})" if first is not None else " (at evaluation)")


def summary_table(summaries: Sequence[SettingSummary]) -> str:
    """The per-setting markdown table, in the order given (params.yaml order)."""
    header = (
        "| setting | lr | schedule | batch | epochs | seeds "
        "| test accuracy: mean [95 % CI] | range | Δ vs best [95 % CI] | p (Holm) "
        "| P(beats best) | seeds for 80 % power | best val_loss (epoch) "
        "| epochs to 95% val acc | diverged seeds | collapsed to chance [95 % CI] |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n"
    )
    rows = []
    for item in summaries:
        best = (
            f"{number(item.best_val_loss)} ({item.best_val_loss_epoch})"
            if math.isfinite(item.best_val_loss)
            else "n/a"
        )
        cells = [
            item.name,
            f"{item.lr:g}",
            item.schedule,
            str(item.batch_size),
            str(item.epochs),
            str(item.seeds),
            *_accuracy_cells(item),
            *_versus_best(item),
            best,
            str(item.epochs_to_target) if item.epochs_to_target is not None else "never",
            _divergence_cell(item),
            _collapse_cell(item),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(rows) + "\n"


def metrics_table(metrics: Mapping[str, Any]) -> str:
    """A markdown table of reports/metrics.json, one row per setting, in file order.

    Columns: the number of seeds, then test accuracy and test loss, each as mean ± sample
    std over seeds and min–max. A value the file holds as ``null`` (a diverged seed made
    it NaN) shows as ``n/a``.

    Args:
        metrics: ``{setting: {"test_accuracy": {"mean", "std", "min", "max", "seeds"},
            "test_loss": {...}}}``, as the compare stage writes it.
    """
    lines = [
        "| setting | seeds | test accuracy, mean ± std | min – max | test loss, mean ± std "
        "| min – max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in metrics.items():
        cells = [name, str(len(values["test_accuracy"].get("seeds") or {}))]
        for key in ("test_accuracy", "test_loss"):
            item = values[key]
            cells += [
                f"{number(item.get('mean'))} ± {number(item.get('std'))}",
                f"{number(item.get('min'))} – {number(item.get('max'))}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(
    summaries: Sequence[SettingSummary],
    figures: Sequence[FigureEntry] = FIGURES,
    figures_folder: str = "figures",
    chance: float = CHANCE_ACCURACY,
) -> str:
    """reports/summary.md: the reading, the table, then every figure with its caption.

    Args:
        summaries: One entry per setting, in table order (``with_comparisons`` output).
        figures: The figures to embed.
        figures_folder: Their folder, relative to the summary file.
        chance: The accuracy of guessing, 1 / data.n_classes.
    """
    parts = [
        "# Learning-rate study: summary\n",
        reading(summaries, chance) + "\n",
        "## Settings\n",
        summary_table(summaries),
        "lr is the base rate: the initial rate, or the peak of a warmup, cyclic or one_cycle "
        "schedule. Test accuracy is measured on the test split, over the seeds that have "
        "one (not those whose loss or predictions went NaN or infinite): the mean with "
        "its 95 % confidence interval (Student's t on the logit scale, so it stays inside "
        "[0, 1]; its coverage at 2 to 20 seeds is measured in benchmarks/intervals.md), "
        "and the range "
        "min–max. The best setting has the highest mean final-epoch validation accuracy "
        "among those where no seed diverged. Δ vs best is the setting's test accuracy minus "
        "the best's, averaged over seeds paired by seed number (the same seed gives both "
        "the same initial weights and batch order; *unpaired* where the seed lists differ), "
        "with its 95 % t-interval on the logit scale of [−1, 1] (inside it); p is a "
        "two-sided paired permutation test (unpaired: a "
        "two-sample permutation test) adjusted with Holm's method over all comparisons; "
        "P(beats best) is the share of seeds on which the setting beat the best (ties count "
        "half); seeds for 80 % power is how many seeds a paired t-test at Holm's strictest "
        "level would need to detect the observed difference given the observed spread. "
        "Validation columns use the mean curve over seeds (an epoch where any seed's value "
        "is NaN or infinite does not count). A seed *diverged* if its loss went NaN or "
        f"infinite or its training loss ended over {DIVERGENCE_FACTOR:g}× the untrained "
        "model's; "
        f"it *collapsed* if its test accuracy is within {COLLAPSE_MARGIN:g} of chance "
        f"({chance:.3g}); the fraction of collapsed seeds has a 95 % Wilson "
        "interval. n/a (1 seed): an interval or test needs at least two seeds.\n",
        "## Figures\n",
        "Interactive versions of the learning curves and learning rate: `dvc plots show` "
        "(compare revisions with `dvc plots diff`).\n",
    ]
    for entry in figures:
        parts += [
            f"### {entry.title}\n",
            f"![{entry.title}]({figures_folder}/{entry.file})\n",
            f"{entry.caption}\n",
        ]
    return "\n".join(parts)
