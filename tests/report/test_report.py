"""Report tables and text, plot data files, and the compare stage on made-up inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from lrstudy import runlog, sweep, tuning
from lrstudy.config import parse_config
from lrstudy.evaluation import summarize
from lrstudy.report import formatting
from lrstudy.report.command import main as metrics_command
from lrstudy.report.curves import (
    ALL_SEEDS,
    averaging_weight_curves,
    curves_table,
    effective_rate_settings,
    epoch_summary,
    learning_rate_curves,
    long_history,
    rate_polyline,
    simplify_curve,
    strict_mean_curve,
)
from lrstudy.report.figures import FIGURES
from lrstudy.report.markdown import metrics_table, summary_markdown, summary_table
from lrstudy.report.reading import reading
from lrstudy.report.summary import (
    SettingSummary,
    metrics_document,
    summarize_setting,
    with_comparisons,
)
from lrstudy.runlog import read_live_history, read_step_rates
from lrstudy.stages import compare
from lrstudy.statistics import ACCURACY_BOUNDS


def history(losses: list[float], rates: list[float] | None = None) -> pd.DataFrame:
    loss = np.asarray(losses, dtype=float)
    epochs = np.arange(1, len(loss) + 1)
    return pd.DataFrame(
        {
            "epoch": epochs,
            "loss": loss,
            "accuracy": 1 - loss / 2,
            "val_loss": loss * 1.1,
            "val_accuracy": 1 - loss / 1.9,
            "learning_rate": rates if rates is not None else [0.01] * len(loss),
        }
    )


def write_live(folder: Path, frame: pd.DataFrame) -> None:
    """Write a history the way DVCLive does: plots/metrics/<key>.tsv with step, key."""
    metrics = folder / "plots" / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    for key in runlog.HISTORY_KEYS:
        pd.DataFrame({"step": frame["epoch"] - 1, key: frame[key]}).to_csv(
            metrics / f"{key}.tsv", sep="\t", index=False
        )


# --- reading logs ---


def test_read_live_history_round_trips_a_dvclive_folder(tmp_path: Path) -> None:
    frame = history([0.7, 0.5, 0.4])
    write_live(tmp_path, frame)
    read = read_live_history(tmp_path)
    assert list(read.columns) == ["epoch", *runlog.HISTORY_KEYS]
    pd.testing.assert_frame_equal(read, frame, check_dtype=False)


def test_read_live_history_reads_an_optimizers_own_key_when_logged(tmp_path: Path) -> None:
    frame = history([0.7, 0.5, 0.4])
    write_live(tmp_path, frame)
    metrics = tmp_path / "plots" / "metrics"
    (metrics / "effective_lr.tsv").write_text("step\teffective_lr\n0\t1e-06\n1\t0.002\n2\t0.003\n")
    read = read_live_history(tmp_path)
    assert list(read.columns) == ["epoch", *runlog.HISTORY_KEYS, "effective_lr"]
    assert list(read["effective_lr"]) == [1e-06, 0.002, 0.003]


def test_read_step_rates_only_when_written(tmp_path: Path) -> None:
    assert read_step_rates(tmp_path) is None
    (tmp_path / runlog.STEP_RATES_FILE).write_text(
        "step\tepoch_fraction\tlearning_rate\n0\t0.0\t0.1\n1\t0.5\t0.05\n"
    )
    steps = read_step_rates(tmp_path)
    assert steps is not None and list(steps["learning_rate"]) == [0.1, 0.05]


# --- per-epoch statistics ---


def test_epoch_summary_statistics_skip_non_finite_and_count_divergence() -> None:
    runs = {
        "b": {0: history([0.6, 0.4, 0.2]), 1: history([0.8, np.inf, np.nan])},
        "a": {0: history([0.5, 0.5, 0.5])},
    }
    summary = epoch_summary(long_history(runs))
    assert list(dict.fromkeys(summary["setting"])) == ["b", "a"]  # input order kept
    b = summary[summary["setting"] == "b"].set_index("epoch")
    assert b.loc[1, "loss"] == pytest.approx(0.7)
    assert (b.loc[1, "loss_min"], b.loc[1, "loss_max"]) == (0.6, 0.8)
    assert b.loc[2, "loss"] == pytest.approx(0.4)  # the diverged seed is left out
    assert list(b["seeds"]) == [2, 2, 2]
    assert list(b["diverged"]) == [0, 1, 1]
    assert list(summary.loc[summary["setting"] == "a", "diverged"]) == [0, 0, 0]


def test_strict_mean_curve_is_nan_where_any_seed_diverged() -> None:
    mean = strict_mean_curve({0: history([0.6, 0.4, 0.2]), 1: history([0.8, np.inf, 0.1])})
    assert mean["loss"].iloc[0] == pytest.approx(0.7)
    assert np.isnan(mean["loss"].iloc[1])
    assert mean["loss"].iloc[2] == pytest.approx(0.15)


def test_curves_table_is_long_format_with_bands() -> None:
    summary = epoch_summary(long_history({"a": {0: history([0.5, 0.4])}}))
    table = curves_table(summary)
    assert list(table.columns[:2]) == ["setting", "epoch"]
    for column in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert {column, f"{column}_min", f"{column}_max"} <= set(table.columns)
    assert "learning_rate" not in table.columns  # it has its own file


# --- learning-rate polylines ---


def interpolation_error(x: np.ndarray, y: np.ndarray, kept: np.ndarray) -> float:
    return float(np.max(np.abs(np.interp(x, x[kept], y[kept]) - y)))


def test_simplify_curve_keeps_ends_and_corners_only() -> None:
    x = np.arange(11, dtype=float)
    assert list(simplify_curve(x, np.full(11, 2.0), 1e-6)) == [0, 10]
    triangle = np.minimum(x, 10 - x)
    assert list(simplify_curve(x, triangle, 1e-6)) == [0, 5, 10]
    assert list(simplify_curve(x[:2], triangle[:2], 1e-6)) == [0, 1]


def test_simplify_curve_stays_within_tolerance() -> None:
    x = np.linspace(0, 20, 2001)
    y = np.log10(0.01 * (1 + np.cos(np.pi * x / 20)) / 2 + 1e-5)
    kept = simplify_curve(x, y, 0.005)
    assert len(kept) < 200
    assert interpolation_error(x, y, kept) <= 0.005


def test_rate_polyline_per_epoch_is_an_exact_staircase() -> None:
    constant = rate_polyline(history([0.5] * 50, [0.005] * 50))
    assert constant.to_dict("list") == {"epoch": [0.0, 50.0], "learning_rate": [0.005, 0.005]}
    cut = rate_polyline(history([0.5] * 4, [0.1, 0.1, 0.05, 0.05]))
    assert cut.to_dict("list") == {
        "epoch": [0.0, 2.0, 2.0, 4.0],
        "learning_rate": [0.1, 0.1, 0.05, 0.05],
    }


def test_rate_polyline_prefers_per_step_rates() -> None:
    steps = pd.DataFrame(
        {
            "step": range(8),
            "epoch_fraction": np.arange(8) / 4,
            "learning_rate": [0.1] * 4 + [0.01] * 4,
        }
    )
    line = rate_polyline(history([0.5, 0.4], [0.1, 0.01]), steps)
    assert line["epoch"].iloc[0] == 0 and line["epoch"].iloc[-1] == 2.0
    assert set(line["learning_rate"]) == {0.1, 0.01}
    with pytest.raises(ValueError, match="history or per-step"):
        rate_polyline()


def test_learning_rate_curves_collapse_identical_seeds_and_keep_differing_ones() -> None:
    runs = {
        "constant": {0: history([0.5] * 3), 1: history([0.4] * 3)},
        "plateau": {
            0: history([0.5] * 3, [0.1, 0.05, 0.05]),
            1: history([0.5] * 3, [0.1, 0.1, 0.05]),
        },
    }
    curves = learning_rate_curves(runs)
    assert list(curves.columns) == ["setting", "seed", "epoch", "learning_rate"]
    seeds = curves.groupby("setting", sort=False)["seed"].unique().map(list).to_dict()
    assert seeds == {"constant": [ALL_SEEDS], "plateau": ["0", "1"]}


def test_prodigy_draws_d_times_lr_at_each_epochs_end_and_schedule_free_its_weight() -> None:
    prodigy = {
        seed: history([0.5] * 3, [1.0, 0.75, 0.25]).assign(effective_lr=[1e-6, 0.02 + seed, 0.01])
        for seed in range(2)
    }
    free = {
        seed: history([0.5] * 3).assign(averaging_weight=[1 / 4, 1 / 8, 1 / 12]) for seed in (0, 1)
    }
    runs = {"prodigy": prodigy, "schedule_free": free, "adam": {0: history([0.5] * 3)}}
    curves = learning_rate_curves(runs)
    # d·lr, not the multiplier lr, each value at its epoch's end; d differs by seed.
    line = curves[(curves["setting"] == "prodigy") & (curves["seed"] == "1")]
    assert list(line["epoch"]) == [1.0, 2.0, 3.0]
    assert list(line["learning_rate"]) == [1e-6, 1.02, 0.01]
    # Schedule-Free's line is its rate; its weight is a curve of its own, one for all seeds.
    assert list(curves.loc[curves["setting"] == "schedule_free", "learning_rate"]) == [0.01, 0.01]
    assert effective_rate_settings(runs) == ["prodigy"]
    weights = averaging_weight_curves(runs)
    assert list(weights.columns) == ["setting", "epoch", "averaging_weight"]
    assert list(weights["setting"]) == ["schedule_free"] * 3
    assert list(weights["averaging_weight"]) == [1 / 4, 1 / 8, 1 / 12]
    assert averaging_weight_curves({"adam": runs["adam"]}).empty


def test_learning_rate_curves_stay_small_for_per_step_schedules() -> None:
    epochs, per_epoch = 100, 23
    steps = np.arange(epochs * per_epoch)
    cyclic = (steps / (4 * per_epoch)) % 2
    frame = pd.DataFrame(
        {
            "step": steps,
            "epoch_fraction": steps / per_epoch,
            "learning_rate": 1e-4 + (1e-2 - 1e-4) * np.where(cyclic < 1, cyclic, 2 - cyclic),
        }
    )
    runs = {"cyclic": {seed: history([0.5] * epochs) for seed in range(3)}}
    curves = learning_rate_curves(runs, {"cyclic": dict.fromkeys(range(3), frame)})
    assert set(curves["seed"]) == {ALL_SEEDS}
    assert len(curves) < 0.15 * len(steps)  # 25 log-curved ramps: about 13 points each
    x = frame["epoch_fraction"].to_numpy()
    drawn = np.interp(x, curves["epoch"], np.log10(curves["learning_rate"]))
    assert np.max(np.abs(drawn - np.log10(frame["learning_rate"]))) <= 0.01


# --- summaries and markdown ---


@pytest.fixture
def study_config(params: dict[str, Any]):
    params = copy.deepcopy(params)
    params["train"].update({"epochs": 4, "seeds": 2, "seed": 0})
    params["settings"] = {
        "steady": {"lr": 0.01},
        "cut": {"lr": 0.1, "schedule": {"type": "plateau", "factor": 0.5}, "batch_size": 50},
    }
    return parse_config(params)


def metrics_for(values: list[float | None]) -> dict[str, Any]:
    finite = [value for value in values if value is not None]
    complete = len(finite) == len(values)
    stats = {
        "mean": float(np.mean(finite)) if complete else None,
        "std": float(np.std(finite, ddof=1))
        if complete and len(finite) > 1
        else (0.0 if complete else None),
        "min": min(finite) if complete else None,
        "max": max(finite) if complete else None,
    }
    seeds = {f"seed_{index}": value for index, value in enumerate(values)}
    return {"test_accuracy": {**stats, "seeds": seeds}, "test_loss": {**stats, "seeds": seeds}}


def test_summarize_setting_reads_config_history_and_metrics(study_config) -> None:
    runs = {
        0: history([0.7, 0.3, 0.1, 0.2], [0.1, 0.1, 0.05, 0.05]),
        1: history([0.7, 0.4, 0.08, 0.09]),
    }
    item = summarize_setting(study_config, "cut", metrics_for([0.96, 0.98]), runs)
    assert (item.name, item.lr, item.batch_size, item.epochs, item.seeds) == ("cut", 0.1, 50, 4, 2)
    assert item.schedule.startswith("plateau")
    assert item.accuracy["mean"] == pytest.approx(0.97)
    assert item.best_val_loss == pytest.approx(0.09 * 1.1)
    assert item.best_val_loss_epoch == 3
    assert item.epochs_to_target == 3  # mean val accuracy first >= 0.95 at epoch 3
    assert item.diverged_seeds == []
    with pytest.raises(ValueError, match="test_accuracy"):
        summarize_setting(study_config, "cut", {}, runs)


def summary(name: str, accuracies: list[float | None], **changes: Any) -> SettingSummary:
    """A setting's summary as summarize_setting builds it; validation accuracy = test."""
    fields = {
        "name": name,
        "lr": 0.01,
        "schedule": "constant",
        "batch_size": 100,
        "epochs": 50,
        "seeds": len(accuracies),
        "accuracy": summarize(accuracies, ACCURACY_BOUNDS),
        "per_seed_accuracy": accuracies,
        "best_val_loss": 0.1,
        "best_val_loss_epoch": 40,
        "epochs_to_target": 20,
        "diverged_seeds": [seed for seed, value in enumerate(accuracies) if value is None],
        "seed_ids": list(range(len(accuracies))),
        "val_accuracy": accuracies,
        "loss": summarize(accuracies),
        "per_seed_loss": accuracies,
    }
    return SettingSummary(**{**fields, **changes})


def test_summarize_setting_nulls_seeds_that_diverged_in_training(study_config) -> None:
    runs = {0: history([0.7, 0.3, np.nan, np.nan]), 1: history([0.7, 0.4, 0.08, 0.09])}
    item = summarize_setting(study_config, "steady", metrics_for([0.5, 0.98]), runs)
    assert item.per_seed_accuracy == [None, 0.98] and item.diverged_seeds == [0]
    assert item.first_diverged_epoch == 3
    assert item.accuracy["n"] == 1 and item.accuracy["mean"] == 0.98
    assert item.val_accuracy[0] is None
    assert item.val_accuracy[1] == pytest.approx(1 - 0.09 / 1.9)


def test_a_seed_ending_far_above_its_start_is_flagged_but_keeps_its_accuracy(
    study_config,
) -> None:
    # finite losses: the measured accuracy is a real number, unlike a NaN model's 0.5
    runs = {0: history([0.7, 1.0, 2.0, 30.0]), 1: history([0.7, 0.4, 0.08, 0.09])}
    untrained = {0: 0.69, 1: 0.69}
    item = summarize_setting(study_config, "steady", metrics_for([0.5, 0.98]), runs, untrained)
    assert item.per_seed_accuracy == [0.5, 0.98] and item.diverged_seeds == [0]
    assert item.first_diverged_epoch == 2  # the first epoch above 1.25 x 0.69 = 0.8625
    summaries = with_comparisons([item, summary("other", [0.9, 0.91], seed_ids=[0, 1])])
    assert [entry.name for entry in summaries if entry.is_best] == ["other"]


def test_summary_table_has_one_row_per_setting_with_every_column() -> None:
    table = summary_table(
        with_comparisons(
            [
                summary("good", [0.97, 0.99]),
                summary("slow", [0.5, 0.52], epochs_to_target=None),
                summary(
                    "wild",
                    [None, 0.8, 0.9],
                    best_val_loss=float("nan"),
                    first_diverged_epoch=7,
                ),
            ]
        )
    )
    lines = table.strip().splitlines()
    assert len(lines) == 2 + 3
    header = lines[0]
    for column in ("lr", "schedule", "batch", "epochs", "test accuracy", "95 % CI", "range"):
        assert column in header
    for column in ("Δ vs best", "p (Holm)", "P(beats best)", "seeds for 80 % power"):
        assert column in header
    assert "epochs to 95% val acc" in header and "diverged seeds" in header
    good, slow, wild = lines[2:]
    # mean 0.98, se = 0.01, t(0.975, 1) = 12.7062; on the logit scale ln(0.98 / 0.02) =
    # 3.891820 -/+ 12.7062 * 0.01 / 0.0196 = 6.482758 -> expit: 0.069724, 0.999969 (the
    # plain t-interval, 0.8529 to 1.1071, passed 1)
    assert "| 0.9800 [0.0697 to 1.0000] | 0.9700–0.9900 | best (reference) |" in good
    assert "| 0.1000 (40) | 20 | none | 0 of 2 [0.00–0.66] |" in good
    # paired differences -0.47, -0.47: -0.47 with a zero-width interval; the exact
    # sign-flip test of two equal differences gives p = 2/4 = 0.5. wild (unpaired, 0.8 and
    # 0.9 against 0.97 and 0.99): the most extreme of C(4, 2) = 6 splits, p = 2/6. Holm:
    # 2 x 1/3 = 0.667, then max(0.667, 1 x 0.5) = 0.667. Seeds: no spread, so only the
    # permutation floor counts, 2 / 2^n <= 0.05 / 2 -> n = 7.
    assert "| -0.4700 [-0.4700 to -0.4700] | 0.667 | 0.00 | 7 |" in slow
    assert "| never |" in slow and "| 2 of 2 [0.34–1.00] |" in slow
    # 0.8 and 0.9: 1.734601 -/+ 12.7062 * 0.05 / 0.1275 = 4.982825 -> 0.037391, 0.998792
    assert "0.8500 [0.0374 to 0.9988] (2 of 3 seeds)" in wild
    assert "(unpaired)" in wild  # seed lists differ from the best's
    assert "| n/a | 20 | 0 (from epoch 7) |" in wild


def test_metrics_intervals_of_accuracies_and_differences_stay_in_their_range() -> None:
    # Issue 21's two seeds, 290/600 and 370/600: mean 0.55, plain t-interval -0.2971 to
    # 1.3971; the summary's is expit(ln(0.55 / 0.45) -/+ 12.7062 * 0.0666667 / 0.2475)
    # = 0.038351 to 0.973998 (tests/test_statistics.py works it through).
    wide = summary("wide", [290 / 600, 370 / 600], val_accuracy=[0.5, 0.5])
    best = summary("best", [0.99, 0.995])
    document = metrics_document(with_comparisons([best, wide]))
    accuracy = document["wide"]["test_accuracy"]
    assert (accuracy["ci_low"], accuracy["ci_high"]) == (0.038351, 0.973998)
    # paired differences -0.506667, -0.378333: mean -0.4425, se 0.0641667;
    # tanh(atanh(-0.4425) -/+ 12.7062 * 0.0641667 / (1 - 0.4425^2)) = -0.903171, 0.491847
    # (plain t: -1.2578 to 0.3728)
    versus = document["wide"]["vs_best"]
    assert versus["ci_low"] == pytest.approx(-0.903171, abs=1e-6)
    assert versus["ci_high"] == pytest.approx(0.491847, abs=1e-6)
    loss = document["wide"]["test_loss"]  # a loss has no upper bound: the plain t
    assert (loss["ci_low"], loss["ci_high"]) == pytest.approx((-0.2971, 1.3971), abs=5e-5)


def test_one_seed_gives_n_a_for_every_interval_and_test_never_nan() -> None:
    summaries = with_comparisons([summary("a", [0.9]), summary("b", [0.85])])
    table = summary_table(summaries)
    text = reading(summaries)
    row = table.strip().splitlines()[-1]
    assert row.count("n/a (1 seed)") == 4  # accuracy CI, difference CI, p, seeds needed
    assert "nan" not in (table + text).lower()
    metrics = metrics_document(summaries)
    assert metrics["b"]["test_accuracy"]["ci_low"] is None
    assert metrics["b"]["vs_best"]["p_holm"] is None and metrics["a"]["vs_best"]["is_best"]


def test_huge_finite_losses_print_in_scientific_notation() -> None:
    assert formatting.number(1.2345678e30) == "1.235e+30"
    assert formatting.number(0.04213) == "0.0421"
    table = summary_table([summary("blown", [0.5, 0.5], best_val_loss=3.3e31)])
    assert "3.300e+31 (40)" in table


def paired_study() -> list[SettingSummary]:
    """Ten paired seeds: one setting clearly worse, one the same as the best."""
    rng = np.random.default_rng(1)
    best = 0.98 + rng.normal(0, 0.003, 10)
    return with_comparisons(
        [
            summary("best", list(best), val_accuracy=list(best + 0.01)),
            summary("same", list(best + rng.normal(0, 0.003, 10))),
            summary("worse", list(best - 0.05 + rng.normal(0, 0.003, 10))),
            summary("flat", [0.5 + 0.01 * (i % 3) for i in range(10)]),
        ]
    )


def test_reading_names_worse_and_indistinguishable_settings_with_numbers() -> None:
    summaries = paired_study()
    text = reading(summaries)
    assert text.startswith("Best on validation accuracy: **best**")
    worse = next(item for item in summaries if item.name == "worse").comparison
    assert worse.p_holm < 0.05 and worse.paired and worse.n == 10
    # exact sign-flip test, all 10 differences negative: p = 2 / 2^10; Holm x3
    assert worse.p_value == pytest.approx(2 / 1024)
    assert worse.p_holm == pytest.approx(3 * 2 / 1024)
    assert f"Worse than best: worse (difference {worse.difference:+.4f}" in text
    assert "flat (difference" in text.split("Worse than best:")[1].split("Indistinguishable")[0]
    same = next(item for item in summaries if item.name == "same").comparison
    assert same.within_noise and same.p_holm >= 0.05
    assert (
        f"Indistinguishable from best at 10 seeds: "
        f"same (difference {same.difference:+.4f}, 95 % CI {same.ci_low:+.4f} to "
        f"{same.ci_high:+.4f})." in text
    )
    assert "Seeds: detecting the smallest difference reported here (same," in text
    assert "flat 10 of 10 seeds (95 % Wilson CI of the fraction 0.72 to 1.00)" in text


def test_best_is_chosen_on_validation_accuracy_and_never_a_setting_that_diverged() -> None:
    summaries = with_comparisons(
        [
            summary("test_winner", [0.99, 0.99], val_accuracy=[0.90, 0.91]),
            summary("val_winner", [0.95, 0.96], val_accuracy=[0.97, 0.97]),
            summary("lost_one", [None, 0.999], val_accuracy=[None, 0.999]),
        ]
    )
    assert [item.name for item in summaries if item.is_best] == ["val_winner"]
    text = reading(summaries)
    assert "**val_winner**" in text and "lost_one (1 of 2 seeds)" in text


def test_reading_when_everything_learned_and_nothing_diverged() -> None:
    text = reading([summary("a", [0.9]), summary("b", [0.95])])
    assert "Every setting learned" in text and "No run diverged." in text
    assert "disagree" not in text  # one seed each: no spread to speak of


def test_reading_does_not_call_missing_results_failures() -> None:
    text = reading(
        with_comparisons(
            [
                summary("partial", [None, 0.99]),
                summary("whole", [0.9, 0.91]),
                summary("none", [None]),
            ]
        )
    )
    assert "**whole**" in text
    assert "fail to learn" not in text and "fails to learn" not in text
    assert "none has no test result" in text  # partial has one seed's result


def test_bimodal_setting_reports_the_collapsed_fraction() -> None:
    item = summary("split", [0.5, 0.52, 0.95, 0.96, 0.97])
    assert item.collapsed_seeds == 2
    text = reading([item])
    assert "split 2 of 5 seeds" in text and "no mean describes it" in text


def test_summary_markdown_embeds_every_figure_with_caption() -> None:
    markdown = summary_markdown([summary("a", [0.9, 0.92])])
    assert markdown.startswith("# Learning-rate study: summary\n")
    assert "| a | 0.01 | constant |" in markdown
    for entry in FIGURES:
        assert f"![{entry.title}](figures/{entry.file})" in markdown
        assert entry.caption in markdown
    assert "dvc plots show" in markdown
    assert summary_markdown([summary("a", [0.9])], figures_folder="reports/figures").count(
        "](reports/figures/"
    ) == len(FIGURES)


# --- the compare stage on made-up inputs ---


@pytest.fixture
def compare_inputs(tmp_path: Path, params: dict[str, Any]) -> Path:
    """params.yaml, test split and train@ outputs for three settings.

    ``diverging`` loses a seed to NaN, ``cosine`` has per-step rates, ``plateau`` cuts
    its rate at a different epoch per seed.
    """
    params = copy.deepcopy(params)
    params["train"].update({"epochs": 6, "seeds": 2, "seed": 0})
    params["evaluate"]["grid"].update({"points": 12})
    params["settings"] = {
        "plateau": {"lr": 0.05, "schedule": {"type": "plateau", "factor": 0.5}},
        "cosine": {"lr": 0.01},
        "diverging": {"lr": 0.5},
    }
    params["suggested"] = {}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_sweep_and_range_test(tmp_path)
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, size=(40, 2)).astype(np.float32)
    test = pd.DataFrame(points, columns=["x0", "x1"])
    test["y"] = (np.hypot(points[:, 0], points[:, 1]) > 0.6).astype(int)
    (tmp_path / "data").mkdir()
    test.to_csv(tmp_path / "data" / "test.csv", index=False)
    accuracies = {"plateau": [0.97, 0.99], "cosine": [0.93, 0.95], "diverging": [0.5, 0.81]}
    for name in params["settings"]:
        for seed in (0, 1):
            losses = list(np.geomspace(0.7, 0.05 + 0.01 * seed, 6))
            rates = [0.01] * 6
            if name == "plateau":
                rates = [0.05] * (3 + seed) + [0.025] * (3 - seed)
            if name == "diverging" and seed == 0:
                losses[3:] = [np.nan] * 3
            write_live(tmp_path / "logs" / name / f"seed_{seed}", history(losses, rates))
            if name == "cosine":
                steps = np.arange(6 * 5)
                pd.DataFrame(
                    {
                        "step": steps,
                        "epoch_fraction": steps / 5,
                        "learning_rate": 0.005 * (1 + np.cos(np.pi * steps / 30)) + 1e-5,
                    }
                ).to_csv(
                    tmp_path / "logs" / name / f"seed_{seed}" / runlog.STEP_RATES_FILE,
                    sep="\t",
                    index=False,
                )
        folder = tmp_path / "evaluation" / name
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(metrics_for(accuracies[name])))
        grid = rng.uniform(0, 1, size=(2, 12, 12)).astype(np.float32)
        if name == "diverging":
            grid[0] = np.nan
        np.save(folder / "boundary.npy", grid)
        write_tuning(tmp_path / "tune" / name, accuracies[name])
    return tmp_path


def write_tuning(folder: Path, accuracies: list[float]) -> None:
    """Made-up outputs of a train@ stage's tuning: 3 base rates × 2 tuning seeds, 2 seeds."""
    folder.mkdir(parents=True)
    results = pd.DataFrame(
        {
            "lr": [1e-3, 1e-3, 1e-2, 1e-2, 1e-1, 1e-1],
            "seed": [1000, 1001] * 3,
            "val_accuracy": [0.7, 0.72, 0.95, 0.96, 0.94, 0.95],
            "test_accuracy": [0.71, 0.7, 0.96, 0.95, 0.93, 0.94],
            "diverged": [False] * 6,
        }
    )
    per_rate = sweep.curve(results)
    per_rate.to_csv(folder / "curve.csv", index=False)
    (folder / "tuned.json").write_text(
        json.dumps({"given_lr": 0.05, **tuning.select_rate(per_rate, 0.01)})
    )
    pd.DataFrame(
        {
            "seed": [0, 1],
            "lr": 0.01,
            "val_accuracy": accuracies,
            "test_accuracy": accuracies,
            "diverged": False,
        }
    ).to_csv(folder / "evaluation.csv", index=False)
    pd.DataFrame(
        {
            "budget": [0.5, 0.5, 1.0, 1.0],
            "epochs": [3, 3, 6, 6],
            "seed": [0, 1, 0, 1],
            "test_accuracy": [accuracies[0] - 0.1, accuracies[1] - 0.05, *accuracies],
        }
    ).to_csv(folder / "budgets.csv", index=False)


def write_sweep_and_range_test(root: Path) -> None:
    """Made-up outputs of the sweep and lr_find stages: 3 rates × 2 seeds, 2 seeds × 5 steps."""
    results = pd.DataFrame(
        {
            "lr": [1e-3, 1e-3, 1e-2, 1e-2, 1e-1, 1e-1],
            "seed": [0, 1] * 3,
            "val_accuracy": [0.7, 0.72, 0.95, 0.96, 0.6, 0.5],
            "test_accuracy": [0.71, 0.7, 0.96, 0.95, 0.55, 0.5],
            "diverged": [False] * 5 + [True],
        }
    )
    (root / "sweep").mkdir()
    results.to_csv(root / "sweep" / "results.csv", index=False)
    per_rate = sweep.curve(results)
    per_rate.to_csv(root / "sweep" / "curve.csv", index=False)
    (root / "sweep" / "metrics.json").write_text(json.dumps(sweep.summary(per_rate)))
    (root / "lr_find").mkdir()
    rates = np.geomspace(1e-4, 1.0, 5)
    pd.DataFrame(
        {
            "seed": [0] * 5 + [1] * 5,
            "step": list(range(5)) * 2,
            "lr": list(rates) * 2,
            "loss": [0.7, 0.6, 0.4, 0.5, 3.0] * 2,
            "smoothed_loss": [0.7, 0.65, 0.55, 0.53, 1.0, 0.71, 0.66, 0.56, 0.52, 0.9],
        }
    ).to_csv(root / "lr_find" / "curves.csv", index=False)
    found = {"minimum": 1e-3, "steep": 1e-2, "valley": 3e-3}
    (root / "lr_find" / "suggestions.json").write_text(
        json.dumps({"suggestions": found, "seeds": {"seed_0": found, "seed_1": found}})
    )


def run_compare(root: Path, reports: str = "reports") -> int:
    return compare.main(
        [
            "--sweep",
            str(root / "sweep"),
            "--lr-find",
            str(root / "lr_find"),
            "--tune",
            str(root / "tune"),
            "--suggestions",
            str(root / "lr_find" / "suggestions.json"),
            "--params",
            str(root / "params.yaml"),
            "--data",
            str(root / "data"),
            "--evaluation",
            str(root / "evaluation"),
            "--logs",
            str(root / "logs"),
            "--models",
            str(root / "models"),
            "--reports",
            str(root / reports),
        ]
    )


def test_compare_writes_every_output(compare_inputs: Path) -> None:
    stale = compare_inputs / "reports" / "plots" / "history.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("old\n")
    assert run_compare(compare_inputs) == 0
    reports = compare_inputs / "reports"
    names = ["plateau", "cosine", "diverging"]

    metrics = json.loads((reports / "metrics.json").read_text())
    assert list(metrics) == names
    for name in names:
        evaluated = json.loads((compare_inputs / "evaluation" / name / "metrics.json").read_text())
        if name != "diverging":
            assert metrics[name]["test_accuracy"]["seeds"] == evaluated["test_accuracy"]["seeds"]
    # diverging's seed 0 went NaN at epoch 4 in training: no accuracy, not best
    diverging = metrics["diverging"]
    assert diverging["test_accuracy"]["seeds"] == {"seed_0": None, "seed_1": 0.81}
    assert diverging["diverged"] == {"seeds": 1, "first_epoch": 4}
    assert diverging["test_accuracy"]["n"] == 1 and diverging["test_accuracy"]["ci_low"] is None
    assert metrics["plateau"]["diverged"] == {"seeds": 0, "first_epoch": None}
    # every history is the same, so validation accuracy ties and the first setting wins
    assert metrics["plateau"]["vs_best"] == {"is_best": True}
    cosine = metrics["cosine"]["vs_best"]
    assert cosine["paired"] is True and cosine["difference"] == pytest.approx(-0.04)
    assert cosine["prob_improvement"] == 0.0
    # Tuned (write_tuning): every setting's best mean validation accuracy is at 0.01; the
    # reference is the highest mean validation accuracy at the tuned rate, plateau's.
    assert metrics["plateau"]["tuned"]["vs_best"] == {"is_best": True}
    tuned = metrics["cosine"]["tuned"]
    assert tuned["lr"] == 0.01 and tuned["good_rates"] == {"low": 0.01, "high": 0.1, "decades": 1.0}
    assert tuned["vs_best"]["difference"] == pytest.approx(-0.04)
    # Budgets (write_tuning): half the epochs loses 0.1 and 0.05 on the two seeds.
    assert tuned["budgets"]["0.5"]["vs_full"]["difference"] == pytest.approx(-0.075)
    assert tuned["budgets"]["1"]["epochs"] == 6

    assert sorted(path.name for path in (reports / "figures").iterdir()) == sorted(
        entry.file for entry in FIGURES
    )
    assert sorted(path.name for path in (reports / "plots").iterdir()) == [
        "budgets.csv",
        "isolation.csv",
        "learning_curves.csv",
        "learning_rate.csv",
    ]  # written as a whole folder: the stale file is gone
    curves = pd.read_csv(reports / "plots" / "learning_curves.csv")
    assert list(dict.fromkeys(curves["setting"])) == names
    assert len(curves) == 3 * 6
    rates = pd.read_csv(reports / "plots" / "learning_rate.csv", dtype={"seed": str})
    assert list(dict.fromkeys(rates["setting"])) == names
    assert set(rates.loc[rates["setting"] == "plateau", "seed"]) == {"0", "1"}
    cosine = rates[rates["setting"] == "cosine"]
    assert set(cosine["seed"]) == {ALL_SEEDS} and (cosine["epoch"] % 1 != 0).any()

    markdown = (reports / "summary.md").read_text()
    for name in names:
        assert f"| {name} |" in markdown
    assert "diverging (1 of 2 seeds, first at epoch 4)" in markdown
    assert "Best on validation accuracy: **plateau**" in markdown
    tuned_at, hand_picked_at = (
        markdown.index("## Which schedule? Each at its own tuned base rate"),
        markdown.index("## Each setting at its hand-picked rate"),
    )
    assert markdown.index("# Learning-rate study") < tuned_at < hand_picked_at


def test_compare_is_byte_for_byte_reproducible(compare_inputs: Path) -> None:
    assert run_compare(compare_inputs, "first") == 0
    assert run_compare(compare_inputs, "second") == 0
    first = {
        p.relative_to(compare_inputs / "first"): p.read_bytes()
        for p in (compare_inputs / "first").rglob("*")
        if p.is_file()
    }
    second = {
        p.relative_to(compare_inputs / "second"): p.read_bytes()
        for p in (compare_inputs / "second").rglob("*")
        if p.is_file()
    }
    assert first.keys() == second.keys() and len(first) == 2 + len(FIGURES) + 4
    assert first == second
    leftovers = [p.name for p in (compare_inputs / "first").rglob(".*")]
    assert leftovers == []  # no temporary files left behind


def test_compare_names_missing_results_and_writes_nothing(
    compare_inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = yaml.safe_load((compare_inputs / "params.yaml").read_text())
    params["settings"]["brand_new"] = {"lr": 0.2}
    (compare_inputs / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert run_compare(compare_inputs) == 2
    error = capsys.readouterr().err
    assert "settings.brand_new: no results at" in error and "train@brand_new" in error
    assert error.count("settings.") == 1
    assert not (compare_inputs / "reports").exists()


def test_reading_says_when_five_seeds_cannot_confirm_what_the_interval_shows() -> None:
    best = [0.99, 0.98, 0.99, 0.985, 0.99]
    summaries = with_comparisons(
        [
            summary("best", best, val_accuracy=[value + 0.01 for value in best]),
            summary("lower", [value - 0.1 for value in best]),
        ]
    )
    text = reading(summaries)
    # every paired difference is -0.1: interval -0.1 to -0.1, but the exact sign-flip
    # test of 5 seeds bottoms out at 2 / 2^5 = 0.0625
    assert (
        "Apart from best by their 95 % interval, but not significant after Holm over 1 "
        "comparison at 5 seeds (a paired permutation test of 5 seeds cannot give p below "
        "0.0625): lower (difference -0.1000, 95 % CI -0.1000 to -0.1000)." in text
    )
    assert "Indistinguishable" not in text and "Worse than" not in text
    # no spread: only the permutation floor, 2 / 2^n <= 0.05 -> n = 6
    assert "takes about 6 seeds per setting" in text


def dropped_setting_folders(root: Path) -> list[Path]:
    """What a setting removed from params.yaml leaves behind: its train@
    outputs, plus another stage's half-built (hidden) folder that must survive."""
    folders = [root / part / "lr_large" for part in ("evaluation", "logs", "models")]
    for folder in folders:
        (folder / "seed_0").mkdir(parents=True)
        (folder / "seed_0" / "file").write_text("old\n")
    (root / "models" / ".cosine.tmp1234").mkdir()
    (root / "models" / "cosine").mkdir()
    return folders


def test_compare_removes_what_dropped_settings_left(compare_inputs: Path, capsys) -> None:
    dropped = dropped_setting_folders(compare_inputs)
    assert run_compare(compare_inputs) == 0
    assert [folder for folder in dropped if folder.exists()] == []
    assert capsys.readouterr().out.count("is no longer in params.yaml") == len(dropped)
    for name in ("plateau", "cosine", "diverging"):
        assert (compare_inputs / "evaluation" / name / "metrics.json").is_file()
        assert (compare_inputs / "logs" / name / "seed_0").is_dir()
    assert (compare_inputs / "models" / ".cosine.tmp1234").is_dir()
    assert (compare_inputs / "models" / "cosine").is_dir()


def test_compare_that_fails_removes_nothing(compare_inputs: Path) -> None:
    dropped = dropped_setting_folders(compare_inputs)
    params = yaml.safe_load((compare_inputs / "params.yaml").read_text())
    params["settings"]["brand_new"] = {"lr": 0.2}
    (compare_inputs / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert run_compare(compare_inputs) == 2
    assert all(folder.is_dir() for folder in dropped)


def test_metrics_table_one_row_per_setting() -> None:
    metrics = {
        "lr_medium": {
            "test_accuracy": {
                "mean": 0.9,
                "std": 0.0141421,
                "min": 0.89,
                "max": 0.91,
                "seeds": {"seed_0": 0.89, "seed_1": 0.91},
            },
            "test_loss": {"mean": 0.25, "std": 0.05, "min": 0.2, "max": 0.3, "seeds": {}},
        },
        "lr_large": {
            "test_accuracy": {"mean": None, "std": None, "min": 0.5, "max": 0.5, "seeds": {}},
            "test_loss": {"mean": None, "std": None, "min": None, "max": None, "seeds": {}},
        },
    }
    lines = metrics_table(metrics).splitlines()
    assert lines[0].startswith("| setting | seeds | test accuracy, mean ± std | min – max |")
    assert lines[2:] == [
        "| lr_medium | 2 | 0.9000 ± 0.0141 | 0.8900 – 0.9100 | 0.2500 ± 0.0500 | 0.2000 – 0.3000 |",
        "| lr_large | 0 | n/a ± n/a | 0.5000 – 0.5000 | n/a ± n/a | n/a – n/a |",
    ]


def test_metrics_command_fails_clearly_without_a_metrics_file(tmp_path, capsys) -> None:
    assert metrics_command([str(tmp_path / "metrics.json")]) == 2
    assert "run `make repro` first" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text('{"lr_medium": {"accuracy": 1}}')
    assert metrics_command([str(tmp_path / "metrics.json")]) == 2


def test_compare_names_a_missing_sweep_and_writes_nothing(
    compare_inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (compare_inputs / "sweep" / "curve.csv").unlink()
    assert run_compare(compare_inputs) == 2
    error = capsys.readouterr().err
    assert "sweep/curve.csv: not found; run `dvc repro sweep` first" in error
    assert not (compare_inputs / "reports").exists()


def test_compare_includes_a_suggested_setting_at_its_suggested_rate(
    compare_inputs: Path,
) -> None:
    params = yaml.safe_load((compare_inputs / "params.yaml").read_text())
    params["suggested"] = {"auto": {"lr": {"from": "lr_find", "suggestion": "valley"}}}
    (compare_inputs / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for seed in (0, 1):
        write_live(
            compare_inputs / "logs" / "auto" / f"seed_{seed}", history([0.7] * 6, [3e-3] * 6)
        )
    folder = compare_inputs / "evaluation" / "auto"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(metrics_for([0.9, 0.92])))
    np.save(folder / "boundary.npy", np.zeros((2, 12, 12), dtype=np.float32))
    assert run_compare(compare_inputs) == 0
    metrics = json.loads((compare_inputs / "reports" / "metrics.json").read_text())
    assert list(metrics) == ["plateau", "cosine", "diverging", "auto"]
    assert "| auto | 0.003 |" in (compare_inputs / "reports" / "summary.md").read_text()


def test_differences_and_p_values_print_as_prose_reads_them() -> None:
    # Float noise of accuracies stored to 6 decimals is a zero difference, not -5.000e-08.
    assert formatting.signed_number(-5e-8) == "0.0000"
    assert formatting.signed_number(0.00126) == "+0.0013"
    assert formatting.signed_number(-0.0094) == "-0.0094"
    assert formatting.p_phrase(0.0004, 20) == "< 0.001"
    assert formatting.p_phrase(0.118, 20) == "= 0.118"
