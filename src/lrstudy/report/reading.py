"""The reading: a plain-language paragraph of reports/summary.md, made from the numbers.

``reading`` joins one sentence builder per topic (the best setting, the comparisons with
it, the lowest validation loss, failures, collapse to chance, missing results,
divergence, the seeds a clear answer would take and the spread over seeds); each builds
its sentence from ``SettingSummary`` values, or none where it has nothing to say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lrstudy.data import CHANCE_ACCURACY
from lrstudy.evaluation import DIVERGENCE_FACTOR
from lrstudy.report.formatting import (
    interval,
    join_names,
    number,
    p_phrase,
    plural,
    signed_number,
)
from lrstudy.report.summary import COLLAPSE_MARGIN, NO_DIFFERENCE, SettingSummary
from lrstudy.statistics import ALPHA, POWER, Comparison

FAILED_ACCURACY = 0.6  # mean test accuracy below this: the setting did not learn


def reading(summaries: Sequence[SettingSummary], chance: float = CHANCE_ACCURACY) -> str:
    """A plain-language paragraph generated from the numbers.

    The best setting on validation accuracy and its test accuracy with its interval;
    which settings are worse than, better than or indistinguishable from it (paired
    test, Holm-adjusted); which failed to learn or collapsed to chance (with a Wilson
    interval); which diverged; how many seeds would settle the smallest difference; and
    where seeds disagreed most. ``chance`` is the accuracy of guessing, 1 / data.n_classes.
    """
    best = next((item for item in summaries if item.is_best), None)
    failed = [
        item.name
        for item in summaries
        if item.mean_accuracy is not None and item.mean_accuracy < FAILED_ACCURACY
    ]
    sentences = [
        _best_sentence(summaries, best),
        *(_comparison_sentences(summaries, best) if best is not None else []),
        _validation_sentence(summaries),
        _failure_sentence(failed, chance),
        _collapse_sentence(summaries, failed, chance),
        _results_sentence(summaries, failed),
        _divergence_sentence(summaries),
        _power_sentence(summaries, best) if best is not None else None,
        _spread_sentence(summaries),
    ]
    return " ".join(sentence for sentence in sentences if sentence)


def _best_sentence(summaries: Sequence[SettingSummary], best: SettingSummary | None) -> str | None:
    """The best setting on validation accuracy and its test accuracy, or why there is none."""
    if best is None:
        if not summaries:
            return None
        return (
            "No setting is named best: every setting lost a seed to divergence or has no "
            "validation result, so nothing is compared."
        )
    stats = best.accuracy
    count = int(stats.get("n") or 0)
    return (
        f"Best on validation accuracy: **{best.name}** (final-epoch validation accuracy "
        f"{number(best.mean_val_accuracy)}, mean over {plural(best.seeds, 'seed')}; "
        f"lr {best.lr:g}, schedule "
        f"{best.schedule}); its test accuracy is {number(stats.get('mean'))} (95 % CI "
        f"{interval(stats.get('ci_low'), stats.get('ci_high'), count)})."
    )


def _difference_text(comparison: Comparison) -> str:
    """``difference -0.0508, 95 % CI -0.0534 to -0.0482`` (``, unpaired`` if so)."""
    bounds = interval(comparison.ci_low, comparison.ci_high, comparison.n, signed=True)
    unpaired = ", unpaired" if not comparison.paired else ""
    return f"difference {signed_number(comparison.difference)}, 95 % CI {bounds}{unpaired}"


def _comparison_sentences(summaries: Sequence[SettingSummary], best: SettingSummary) -> list[str]:
    """Which settings are worse than, better than or indistinguishable from the best."""
    compared = [item for item in summaries if item.comparison is not None]
    decided = [
        item
        for item in compared
        if item.comparison.p_holm is not None and item.comparison.p_holm < ALPHA
    ]
    worse = [item for item in decided if (item.comparison.difference or 0) < 0]
    better = [item for item in decided if (item.comparison.difference or 0) > 0]
    open_ = [item for item in compared if item not in decided]
    sentences = []
    for group, word in ((worse, "Worse than"), (better, "Better on test accuracy than")):
        if group:
            listed = [
                f"{item.name} ({_difference_text(item.comparison)}; "
                f"p {p_phrase(item.comparison.p_holm, item.comparison.n)} after Holm)"
                for item in group
            ]
            sentences.append(f"{word} {best.name}: {join_names(listed)}.")
    excluded = [item for item in open_ if item.comparison.within_noise is False]
    if excluded:
        # the interval says "different", the adjusted test cannot (yet): say both
        family = sum(item.comparison.p_value is not None for item in compared)
        n = max(item.comparison.n for item in excluded)
        listed = [f"{item.name} ({_difference_text(item.comparison)})" for item in excluded]
        # the permutation floor explains the verdict only where it is above Holm's
        # strictest level; at 20 seeds (floor 1.9e-06) it says nothing
        floor = (
            f" (a paired permutation test of {n} seeds cannot give p below {2 / 2**n:.3g})"
            if all(item.comparison.paired for item in excluded) and 2 / 2**n > ALPHA / family
            else ""
        )
        sentences.append(
            f"Apart from {best.name} by their 95 % interval, but not significant after Holm "
            f"over {plural(family, 'comparison')} at {n} seeds{floor}: {join_names(listed)}."
        )
    noise = [item for item in open_ if item not in excluded]
    if noise:
        counts = sorted({item.comparison.n for item in noise})
        seeds = " or ".join(map(str, counts))
        listed = [f"{item.name} ({_difference_text(item.comparison)})" for item in noise]
        sentences.append(
            f"Indistinguishable from {best.name} at {seeds} seed{'s' if counts != [1] else ''}: "
            f"{join_names(listed)}."
        )
    return sentences


def _power_sentence(summaries: Sequence[SettingSummary], best: SettingSummary) -> str | None:
    """How many seeds would detect the smallest reported difference at 80 % power."""
    compared = [
        item.comparison
        for item in summaries
        if item.comparison is not None
        and item.comparison.difference is not None
        and abs(item.comparison.difference) >= NO_DIFFERENCE
        and item.comparison.spread is not None
    ]
    if not compared:
        return None
    smallest = min(compared, key=lambda comparison: abs(comparison.difference or 0.0))
    family = sum(
        item.comparison is not None and item.comparison.p_value is not None for item in summaries
    )
    needed = (
        f"about {smallest.seeds_for_power} seeds per setting"
        if smallest.seeds_for_power is not None
        else "more than 100000 seeds per setting"
    )
    spread = "paired spread" if smallest.paired else "spread"
    sentence = (
        f"Seeds: detecting the smallest difference reported here ({smallest.setting}, "
        f"{signed_number(smallest.difference)} against {best.name}, {spread} "
        f"{number(smallest.spread)}) at {POWER:.0%} power with Holm over "
        f"{plural(family, 'comparison')} takes {needed}"
    )
    separable = [
        comparison
        for comparison in compared
        if comparison.ci_low is not None
        and not comparison.ci_low <= 0 <= comparison.ci_high
        and comparison.seeds_for_power is not None
    ]
    if separable:
        most = max(comparison.seeds_for_power or 0 for comparison in separable)
        sentence += (
            f"; {most} would separate every setting whose interval already excludes 0 "
            f"({join_names([comparison.setting for comparison in separable])})"
        )
    return sentence + " (t-test power from the observed spread; `train.seeds` in params.yaml)."


def _validation_sentence(summaries: Sequence[SettingSummary]) -> str | None:
    """The setting with the lowest validation loss (mean curve over seeds), and when."""
    validated = [item for item in summaries if math.isfinite(item.best_val_loss)]
    if not validated:
        return None
    by_val = min(validated, key=lambda item: item.best_val_loss)
    return (
        f"Lowest validation loss: **{by_val.name}**, {number(by_val.best_val_loss)} at "
        f"epoch {by_val.best_val_loss_epoch} (mean over seeds)."
    )


def _failure_sentence(failed: Sequence[str], chance: float) -> str | None:
    """The settings whose mean test accuracy is below ``FAILED_ACCURACY``."""
    if not failed:
        return None
    verb = "fails" if len(failed) == 1 else "fail"
    return (
        f"{join_names(failed)} {verb} to learn: mean test accuracy below "
        f"{FAILED_ACCURACY:.2f}, where chance is {chance:.2f}."
    )


def _collapse_sentence(
    summaries: Sequence[SettingSummary], failed: Sequence[str], chance: float
) -> str | None:
    """The settings with seeds that collapsed to chance, with the fraction's interval."""
    collapsed = [item for item in summaries if item.collapsed_seeds]
    if not collapsed:
        return None
    listed = []
    for item in collapsed:
        low, high = item.collapse_interval or (0.0, 1.0)
        count = int(item.finite_accuracies.size)
        # a setting that fails to learn as a whole has no seeds that "learned"
        split = (
            ": its seeds split between learning and not, so no mean describes it"
            if item.collapsed_seeds < count and item.name not in failed
            else ""
        )
        listed.append(
            f"{item.name} {item.collapsed_seeds} of {count} seeds (95 % Wilson CI of the "
            f"fraction {low:.2f} to {high:.2f}){split}"
        )
    return (
        f"Collapsed to chance (test accuracy within {COLLAPSE_MARGIN:g} of "
        f"{chance:.3g}): {'; '.join(listed)}."
    )


def _results_sentence(summaries: Sequence[SettingSummary], failed: Sequence[str]) -> str | None:
    """The settings without a test result, or that every setting learned."""
    missing = [item.name for item in summaries if item.mean_accuracy is None]
    if missing:
        verb = "has" if len(missing) == 1 else "have"
        return f"{join_names(missing)} {verb} no test result."
    if not failed:
        return f"Every setting learned (mean test accuracy {FAILED_ACCURACY:.2f} or more)."
    return None


def _divergence_sentence(summaries: Sequence[SettingSummary]) -> str:
    """The settings with diverged seeds (how many, from which epoch), or that none did."""
    unstable = [
        f"{item.name} ({len(item.diverged_seeds)} of {item.seeds} seeds"
        + (f", first at epoch {item.first_diverged_epoch})" if item.first_diverged_epoch else ")")
        for item in summaries
        if item.diverged_seeds
    ]
    if not unstable:
        return "No run diverged."
    return (
        f"Diverged (loss non-finite, or training loss ending over {DIVERGENCE_FACTOR:g}× "
        f"the untrained model's): {join_names(unstable)}; a seed whose loss or predictions went "
        "NaN or infinite has no test accuracy, and a setting with a diverged seed does "
        "not compete for best."
    )


def _spread_sentence(summaries: Sequence[SettingSummary]) -> str | None:
    """The setting whose seeds disagree most on test accuracy, if any disagree."""
    spread = [item for item in summaries if item.finite_accuracies.size > 1]
    if not spread:
        return None
    widest = max(spread, key=lambda item: np.ptp(item.finite_accuracies))
    if np.ptp(widest.finite_accuracies) <= 0:
        return None
    return (
        f"Seeds disagree most for {widest.name} (test accuracy "
        f"{number(widest.accuracy['min'])}–{number(widest.accuracy['max'])}): "
        "a single run can mislead."
    )
