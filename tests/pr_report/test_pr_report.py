"""The PR report's markdown: pure functions on parsed dvc diffs and metrics files."""

from __future__ import annotations

import subprocess

import pytest

from lrstudy.pr_report import command, freshness
from lrstudy.pr_report.accuracy import (
    accuracy_chart,
    accuracy_section,
    delta_cells,
    per_seed_cell,
    spread_cell,
)
from lrstudy.pr_report.diffs import (
    Change,
    changed_settings,
    diff_changes,
    flatten,
    metric_decimals,
    metrics_section,
    params_table,
)
from lrstudy.pr_report.rendering import (
    MARKER,
    FigureLink,
    figures_section,
    github_figure_url,
    render_report,
)
from lrstudy.report.formatting import format_change, format_value


def accuracy(mean, std, low, high, **seeds):
    return {"mean": mean, "std": std, "min": low, "max": high, "seeds": seeds}


BASE_METRICS = {
    "lr_large": {"test_accuracy": accuracy(0.5, 0.0, 0.5, 0.5, seed_0=0.5, seed_1=0.5)},
    "lr_medium": {"test_accuracy": accuracy(0.9, 0.02, 0.88, 0.92, seed_0=0.88, seed_1=0.92)},
}
HEAD_METRICS = {
    "lr_large": {"test_accuracy": accuracy(0.5, 0.0, 0.5, 0.5, seed_0=0.5, seed_1=0.5)},
    "lr_medium": {"test_accuracy": accuracy(0.95, 0.01, 0.94, 0.96, seed_0=0.94, seed_1=0.96)},
}
PARAMS_DIFF = {"params.yaml": {"settings.lr_medium.lr": {"old": 0.005, "new": 0.01}}}
METRICS_DIFF = {
    "reports/metrics.json": {
        "lr_medium.test_accuracy.seeds.seed_1": {"old": 0.92, "new": 0.96, "diff": 0.04},
        "lr_medium.test_accuracy.max": {"old": 0.92, "new": 0.96, "diff": 0.04},
        "lr_medium.test_accuracy.mean": {"old": 0.9, "new": 0.95, "diff": 0.05},
    }
}


def test_flatten_keeps_order_and_dots_keys() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [2]}}, "e": None}) == {
        "a.b": 1,
        "a.c.d": [2],
        "e": None,
    }


def test_diff_changes_follow_the_given_order_then_natural_order() -> None:
    diff = {
        "m.json": {
            "s.seeds.seed_10": {"old": 1, "new": 2},
            "s.seeds.seed_2": {"old": 1, "new": 2},
            "s.mean": {"old": 1, "new": 2},
            "s.std": {"old": 1, "new": None},
        }
    }
    keys = [item.key for item in diff_changes(diff, order=["s.mean", "s.std"])]
    assert keys == ["s.mean", "s.std", "s.seeds.seed_2", "s.seeds.seed_10"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [(0.5, 0.75, 0.25), (1, 3, 2.0), (None, 1.0, None), (True, False, None), ("a", "b", None)],
)
def test_change_is_new_minus_old_for_numbers_only(old, new, expected) -> None:
    assert Change("f", "k", old, new).change == expected


def test_change_knows_its_setting_and_whether_it_is_per_seed() -> None:
    assert Change("f", "lr_medium.test_accuracy.seeds.seed_0", 1, 2).setting == "lr_medium"
    assert Change("f", "lr_medium.test_accuracy.seeds.seed_0", 1, 2).per_seed
    assert not Change("f", "lr_medium.test_accuracy.mean", 1, 2).per_seed


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (True, "true"),
        (100, "100"),
        (0.005, "0.005"),
        (1e-05, "1e-05"),
        (0.045000000000000005, "0.045"),
        (1.619764, "1.6198"),
        ([10, 10], "[10, 10]"),
        ("a|b", "a\\|b"),
    ],
)
def test_format_value(value, text) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0.0, "0"),
        (-0.050000000000000044, "-0.05"),
        (0.006316000000000099, "+0.006316"),
    ],
)
def test_format_change(value, text) -> None:
    assert format_change(value) == text


def test_params_table() -> None:
    changes = diff_changes(
        {
            "params.yaml": {
                "settings.lr_medium.lr": {"old": 0.005, "new": 0.01},
                "settings.new_one.lr": {"old": None, "new": 0.1},
            },
            "other.yaml": {"x": {"old": "adam", "new": "sgd"}},
        }
    )
    assert params_table(changes) == (
        "| param | base | head |\n"
        "|---|---:|---:|\n"
        "| `settings.lr_medium.lr` | 0.005 | 0.01 |\n"
        "| `settings.new_one.lr` | — | 0.1 |\n"
        "| `other.yaml:x` | adam | sgd |\n"
    )
    assert params_table([]) == "No parameter changed.\n"


def test_metrics_section_folds_per_seed_values() -> None:
    changes = diff_changes(METRICS_DIFF, order=list(flatten(HEAD_METRICS)))
    assert metrics_section(changes) == (
        "| metric | base | head | change |\n"
        "|---|---:|---:|---:|\n"
        "| `lr_medium.test_accuracy.mean` | 0.9 | 0.95 | +0.05 |\n"
        "| `lr_medium.test_accuracy.max` | 0.92 | 0.96 | +0.04 |\n"
        "\n"
        "<details><summary>Per-seed values (1 changed)</summary>\n"
        "\n"
        "| metric | base | head | change |\n"
        "|---|---:|---:|---:|\n"
        "| `lr_medium.test_accuracy.seeds.seed_1` | 0.92 | 0.96 | +0.04 |\n"
        "\n"
        "</details>\n"
    )
    assert metrics_section([]) == "No metric changed.\n"


def test_changed_settings_from_params_metrics_and_presence() -> None:
    params = [
        Change("params.yaml", "settings.plateau.schedule.patience", 10, 5),
        Change("params.yaml", "train.epochs", 50, 60),
    ]
    metrics = [
        Change("reports/metrics.json", "lr_small.test_loss.mean", 1.0, 0.9),
        Change("reports/metrics.json", "same.vs_best.difference", -0.1, -0.2),  # not its own
    ]
    base = {"lr_small": {}, "plateau": {}, "gone": {}, "same": {}}
    head = {"added": {}, "lr_small": {}, "plateau": {}, "same": {}}
    assert changed_settings(params, metrics, base, head) == ["added", "lr_small", "plateau", "gone"]


def test_spread_delta_and_per_seed_cells() -> None:
    base = BASE_METRICS["lr_medium"]["test_accuracy"]
    head = HEAD_METRICS["lr_medium"]["test_accuracy"]
    # 0.94, 0.96: mean 0.95, se = 0.01, t(0.975, 1) = 12.7062; on the logit scale
    # ln(0.95 / 0.05) = 2.944439 -/+ 12.7062 * 0.01 / (0.95 * 0.05) = 2.674990, back
    # through expit: 0.566958, 0.996386 (the plain t-interval, 0.82 to 1.08, passed 1).
    # Half-width 0.2147, PDG rule: leading digits 214 -> two significant -> 2 decimals
    assert spread_cell(head) == "0.95 [0.57, 1.00] (2 seeds)"
    five = accuracy(
        0, 0, 0, 0, **{f"seed_{i}": v for i, v in enumerate([0.98, 0.99, 0.985, 0.99, 0.98])}
    )
    # mean 0.985, se = 0.005 / sqrt(5), t(0.975, 4) = 2.776445: logit 4.184591 -/+
    # 0.420191 -> 0.977344, 0.990095; half-width 0.00638 (leading 638): 3 decimals
    assert spread_cell(five) == "0.985 [0.977, 0.990] (5 seeds)"
    assert spread_cell(accuracy(0.5, 0.0, 0.5, 0.5, seed_0=0.5)) == "0.5000 [n/a (1 seed)]"
    assert spread_cell(accuracy(None, None, None, None, seed_0=None)) == (
        "n/a (1 seed, none with a result)"
    )
    assert spread_cell(None) == "—"
    # paired differences +0.06, +0.04: +0.05, se = 0.01: tanh(atanh(0.05) -/+
    # 12.7062 * 0.01 / (1 - 0.05^2)) = -0.077185, +0.175584
    assert delta_cells(base, head) == ("+0.05 [-0.08, +0.18]", "within seed noise (2 seeds)")
    shifted = accuracy(
        0, 0, 0, 0, **{f"seed_{i}": v - 0.02 for i, v in enumerate([0.98, 0.99, 0.985, 0.99, 0.98])}
    )
    # every paired difference is +0.02 (to rounding): a zero-width interval off 0
    difference, verdict = delta_cells(shifted, five)
    assert difference.startswith("+0.02") and verdict == "**beyond seed noise** (5 seeds)"
    # unpaired (architecture changed): Welch, same means
    assert delta_cells(base, head, paired=False)[1].endswith("(2 seeds, unpaired)")
    one = accuracy(0.5, 0.0, 0.5, 0.5, seed_0=0.5)
    assert delta_cells(one, accuracy(0.6, 0.0, 0.6, 0.6, seed_0=0.6)) == ("+0.1000", "n/a (1 seed)")
    assert delta_cells(head, dict(head)) == ("0", "unchanged (identical on all 2 seeds)")
    assert delta_cells(None, head) == ("—", "—")
    assert delta_cells(accuracy(None, None, None, None, seed_0=None), head) == ("n/a", "n/a")
    assert per_seed_cell(head) == "0: 0.9400, 1: 0.9600"


def test_metrics_digits_follow_the_seed_spread() -> None:
    values = [0.98, 0.99, 0.985, 0.99, 0.98]
    head = {
        "s": {
            "test_accuracy": accuracy(0, 0, 0, 0, **{f"seed_{i}": v for i, v in enumerate(values)})
        }
    }
    decimals = metric_decimals(head)
    assert decimals == {"s.test_accuracy": 3}
    changes = [
        Change("reports/metrics.json", "s.test_accuracy.mean", 0.983334, 0.985),
        Change("reports/metrics.json", "s.vs_best.p_holm", 0.0625, 0.5),
    ]
    table = metrics_section(changes, decimals=decimals)
    assert "| `s.test_accuracy.mean` | 0.983 | 0.985 | +0.002 |" in table  # not +0.001666
    assert "| `s.vs_best.p_holm` | 0.0625 | 0.5 | +0.4375 |" in table


def test_accuracy_section() -> None:
    section = accuracy_section(["lr_medium", "added"], BASE_METRICS, HEAD_METRICS)
    assert section.splitlines()[:4] == [
        "| setting | base: mean [95 % CI] | head: mean [95 % CI] "
        "| head − base [95 % CI] | seed noise? | head per seed |",
        "|---|---:|---:|---:|---|---|",
        # base 0.88, 0.92: se = 0.02, logit 2.197225 -/+ 12.7062 * 0.02 / 0.09 = 2.823601
        # -> 0.348333, 0.993444; half-width 0.3226 -> 2 decimals
        "| lr_medium | 0.90 [0.35, 0.99] (2 seeds) | 0.95 [0.57, 1.00] (2 seeds) "
        "| +0.05 [-0.08, +0.18] | within seed noise (2 seeds) | 0: 0.9400, 1: 0.9600 |",
        "| added | — | — | — | — | — |",
    ]
    assert accuracy_section([], BASE_METRICS, HEAD_METRICS) == "No setting's results changed.\n"


def test_accuracy_chart_draws_base_over_head_per_changed_setting() -> None:
    chart = accuracy_chart(["lr_medium", "added"], BASE_METRICS, HEAD_METRICS)
    assert chart.startswith("```text\nlr_medium\n")
    body = chart.split("```")[1]
    lines = body.splitlines()
    base, head = (
        next(line for line in lines if line.startswith(name)) for name in ("base", "head")
    )
    # the base's mean 0.90 lies left of the head's 0.95 on their shared scale
    assert base.index("|") < head.index("|")
    # intervals stay inside [0, 1] (built on the logit scale): never cut at an edge
    assert base.endswith("0.90 [0.35, 0.99] (2 seeds)") and ">" not in base
    assert head.endswith("0.95 [0.57, 1.00] (2 seeds)")
    assert base.count("[") == base.count("]") == 2  # the strip's and the note's
    # a setting neither revision has: the rows say so, no axis
    assert "\nadded\nbase  — (the base has no added)\nhead  — (the head has no added)\n" in body
    assert "`[---|---]` the 95 % interval of the mean" in chart.split("```")[2]
    assert accuracy_chart([], BASE_METRICS, HEAD_METRICS) == ""


def test_figures_section_names_the_changed_settings() -> None:
    section = figures_section([FigureLink("A", None, "a.png")], ["lr_medium", "added"])
    assert section.startswith("Settings this change touches: `lr_medium`, `added`;")


def test_figures_section_shows_the_head_full_width_and_folds_the_base() -> None:
    figures = [
        FigureLink("Test accuracy", "base/test_accuracy.png", "../test_accuracy.png"),
        FigureLink("New figure", None, "../new.png"),
    ]
    assert figures_section(figures) == (
        "#### Test accuracy\n\n"
        "![Test accuracy (head)](../test_accuracy.png)\n\n"
        "<details><summary>Test accuracy: base</summary>\n\n"
        "![Test accuracy (base)](base/test_accuracy.png)\n\n</details>\n\n"
        "#### New figure\n\n"
        "![New figure (head)](../new.png)\n\n"
        "The base has no such figure.\n"
    )


def test_github_figure_url() -> None:
    assert github_figure_url("https://github.com/o/r/", "abc", "reports/figures/a.png") == (
        "https://github.com/o/r/blob/abc/reports/figures/a.png?raw=true"
    )


def render(**overrides) -> str:
    arguments = {
        "params_diff": PARAMS_DIFF,
        "metrics_diff": METRICS_DIFF,
        "base_metrics": BASE_METRICS,
        "head_metrics": HEAD_METRICS,
        "figures": [FigureLink("Test accuracy", "b.png", "h.png")],
        "base_label": "`main` at `1234567`",
        "head_label": "workspace at `89abcde`",
    }
    return render_report(**{**arguments, **overrides})


def test_render_report_puts_the_sections_in_order() -> None:
    report = render()
    assert report.startswith(MARKER + "\n")
    assert "**base**: `main` at `1234567` · **head**: workspace at `89abcde`" in report
    headings = [line for line in report.splitlines() if line.startswith("#")]
    assert headings == [
        "## Learning-rate study: what this change does",
        "### Test accuracy of the changed settings",
        "### Params diff (`dvc params diff`)",
        "### Metrics diff (`dvc metrics diff`)",
        "### Figures",
        "#### Test accuracy",
    ]
    assert "| lr_medium | 0.90 [0.35, 0.99] (2 seeds)" in report
    assert "| lr_large |" not in report
    chart = report.split("```text\n")[1].split("```")[0]
    assert chart.startswith("lr_medium\n") and "lr_large" not in chart
    assert "Settings this change touches: `lr_medium`;" in report.split("### Figures")[1]
    assert "| `settings.lr_medium.lr` | 0.005 | 0.01 |" in report
    assert "![Test accuracy (head)](h.png)" in report
    assert "[!WARNING]" not in report


def test_render_report_warns_about_uncommitted_results() -> None:
    report = render(uncommitted=["dvc.lock", "reports/metrics.json"])
    assert "> [!WARNING]\n> The pipeline results differ from the committed ones " in report
    assert "(`dvc.lock`, `reports/metrics.json`)" in report


def test_render_report_with_nothing_changed() -> None:
    report = render(params_diff={}, metrics_diff={}, base_metrics=HEAD_METRICS)
    assert "No setting's results changed." in report
    assert "No parameter changed." in report
    assert "No metric changed." in report


def test_unknown_base_fails_with_a_clear_message(tmp_path, monkeypatch, capsys) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    assert command.main(["--base", "origin/no-such-branch"]) == 2
    error = capsys.readouterr().err
    assert "unknown base revision 'origin/no-such-branch'" in error
    assert "git fetch origin no-such-branch" in error
    assert not (tmp_path / "build").exists()


def test_stale_stages_ignore_absent_outputs_but_not_changed_code_or_params() -> None:
    # Shapes as printed by `dvc status --json` (DVC 3.67).
    status = {
        "generate": [{"changed outs": {"data/raw/dataset.csv": "not in cache"}}],
        "train@lr_small": [{"changed outs": {"models/lr_small": "deleted"}}],
        "evaluate@lr_small": [{"changed deps": {"models/lr_small": "deleted"}}],
        "train@lr_medium": [{"changed deps": {"params.yaml": {"settings.lr_medium": "modified"}}}],
        "compare": [{"changed deps": {"src/lrstudy/plots.py": "modified"}}],
        "split": [{"changed outs": {"data/prepared": "modified"}}],
        "generate_again": ["always changed"],
        "evaluate@plateau": [{"changed command": True}],
    }
    assert freshness.stale_stages(status) == [
        "train@lr_medium",
        "compare",
        "split",
        "generate_again",
        "evaluate@plateau",
    ]
    assert freshness.stale_stages({}) == []


def test_stale_stages_count_empty_folders_as_absent() -> None:
    # What `dvc status --json` says in a fresh clone after a `dvc pull` that found no
    # remote copy: the pull left evaluation/ and logs/ as empty folders.
    status = {
        "compare": [
            {
                "changed deps": {
                    "data/prepared/test.csv": "deleted",
                    "evaluation": "modified",
                    "logs": "modified",
                }
            }
        ]
    }
    assert freshness.stale_stages(status, holds_files=lambda path: False) == []
    assert freshness.stale_stages(status, holds_files=lambda path: path == "logs") == ["compare"]
    assert freshness.stale_stages(status) == ["compare"]  # by default, "modified" is stale


def test_holds_files_looks_below_every_folder(tmp_path) -> None:
    (tmp_path / "empty" / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "full" / "nested").mkdir(parents=True)
    (tmp_path / "full" / "nested" / "file").write_text("x")
    assert not freshness.holds_files(tmp_path / "empty")
    assert not freshness.holds_files(tmp_path / "missing")
    assert freshness.holds_files(tmp_path / "full")
    assert freshness.holds_files(tmp_path / "full" / "nested" / "file")
