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

from lrstudy import report, sweep
from lrstudy.config import parse_config
from lrstudy.report import (
    ALL_SEEDS,
    FIGURES,
    SettingSummary,
    curves_table,
    epoch_summary,
    learning_rate_curves,
    long_history,
    rate_polyline,
    read_live_history,
    read_step_rates,
    simplify_curve,
    strict_mean_curve,
    summarize_setting,
    summary_markdown,
    summary_table,
)
from lrstudy.stages import compare


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
    for key in report.HISTORY_KEYS:
        pd.DataFrame({"step": frame["epoch"] - 1, key: frame[key]}).to_csv(
            metrics / f"{key}.tsv", sep="\t", index=False
        )


# --- reading logs ---


def test_read_live_history_round_trips_a_dvclive_folder(tmp_path: Path) -> None:
    frame = history([0.7, 0.5, 0.4])
    write_live(tmp_path, frame)
    read = read_live_history(tmp_path)
    assert list(read.columns) == ["epoch", *report.HISTORY_KEYS]
    pd.testing.assert_frame_equal(read, frame, check_dtype=False)


def test_read_step_rates_only_when_written(tmp_path: Path) -> None:
    assert read_step_rates(tmp_path) is None
    (tmp_path / report.STEP_RATES_FILE).write_text(
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
    stats = metrics_for(accuracies)["test_accuracy"]
    fields = {
        "name": name,
        "lr": 0.01,
        "schedule": "constant",
        "batch_size": 100,
        "epochs": 50,
        "seeds": len(accuracies),
        "accuracy": {key: stats[key] for key in ("mean", "std", "min", "max")},
        "per_seed_accuracy": accuracies,
        "best_val_loss": 0.1,
        "best_val_loss_epoch": 40,
        "epochs_to_target": 20,
        "diverged_seeds": [],
    }
    return SettingSummary(**{**fields, **changes})


def test_summary_table_has_one_row_per_setting_with_every_column() -> None:
    table = summary_table(
        [
            summary("good", [0.97, 0.99]),
            summary("slow", [0.5, 0.52], epochs_to_target=None),
            summary("wild", [None, 0.8, 0.9], diverged_seeds=[0], best_val_loss=float("nan")),
        ]
    )
    lines = table.strip().splitlines()
    assert len(lines) == 2 + 3
    header = lines[0]
    for column in ("lr", "schedule", "batch", "epochs", "test accuracy", "range", "best val_loss"):
        assert column in header
    assert "epochs to 95% val acc" in header and "diverged seeds" in header
    good, slow, wild = lines[2:]
    assert "| 0.9800 ± 0.0141 | 0.9700–0.9900 | 0.1000 (40) | 20 | none |" in good
    assert "| never |" in slow
    assert "0.8500 ± 0.0707 (2 of 3 seeds)" in wild and "| n/a |" in wild
    assert wild.endswith("| 0 |")


def test_reading_names_best_failed_diverged_and_spread() -> None:
    text = report.reading(
        [
            summary("good", [0.97, 0.99], best_val_loss=0.05, best_val_loss_epoch=30),
            summary("flat", [0.5, 0.52]),
            summary("wild", [0.7, 0.95, 0.8], diverged_seeds=[0, 2]),
        ]
    )
    assert "Best on test accuracy: **good**" in text
    assert "Best on validation: **good**" in text and "epoch 30" in text
    assert "flat fails to learn" in text
    assert "wild (2 of 3 seeds)" in text
    assert "Seeds disagree most for wild" in text


def test_reading_when_everything_learned_and_nothing_diverged() -> None:
    text = report.reading([summary("a", [0.9]), summary("b", [0.95])])
    assert "Every setting learned" in text and "No run diverged." in text
    assert "disagree" not in text  # one seed each: no spread to speak of


def test_reading_does_not_crown_survivors_or_call_missing_results_failures() -> None:
    text = report.reading(
        [summary("partial", [None, 0.99]), summary("whole", [0.9, 0.91]), summary("none", [None])]
    )
    assert "Best on test accuracy: **whole**" in text
    assert "fail to learn" not in text and "fails to learn" not in text
    assert "none has no test result" in text  # partial has one seed's result


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
    """params.yaml, test split, evaluate@ and train@ outputs for three settings.

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
                    tmp_path / "logs" / name / f"seed_{seed}" / report.STEP_RATES_FILE,
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
    return tmp_path


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
        assert metrics[name] == json.loads(
            (compare_inputs / "evaluation" / name / "metrics.json").read_text()
        )

    assert sorted(path.name for path in (reports / "figures").iterdir()) == sorted(
        entry.file for entry in FIGURES
    )
    assert sorted(path.name for path in (reports / "plots").iterdir()) == [
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
    assert "diverging (1 of 2 seeds)" in markdown
    assert "Best on test accuracy: **plateau**" in markdown


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
    assert first.keys() == second.keys() and len(first) == 2 + len(FIGURES) + 2
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
    assert "settings.brand_new: no results at" in error and "evaluate@brand_new" in error
    assert error.count("settings.") == 1
    assert not (compare_inputs / "reports").exists()


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
