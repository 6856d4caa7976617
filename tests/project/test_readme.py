"""The README stays true: its results table matches the committed reports/metrics.json,
and every file it links to exists.

The results are read as committed (``git show HEAD:reports/metrics.json``): ``make repro``,
``dvc exp run`` and ``dvc exp apply`` rewrite the workspace copy, and the README describes
the committed results, not the user's last experiment."""

from __future__ import annotations

import io
import json
import math
import re

import pandas as pd

from lrstudy.report.markdown import metrics_table

from ..conftest import PROJECT_ROOT, committed_text

README = (PROJECT_ROOT / "README.md").read_text()


def table_rows(marker: str) -> dict[str, list[str]]:
    """The rows of the README table between ``<!-- marker`` and ``<!-- end marker -->``,
    keyed by their first cell (without backticks)."""
    start = README.index(f"<!-- {marker}")
    end = README.index(f"<!-- end {marker} -->")
    rows = {}
    for line in README[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = cells
    return rows


def test_results_table_matches_committed_metrics(default_params) -> None:
    metrics = json.loads(committed_text("reports/metrics.json"))
    rows = table_rows("results-table")
    names = [*default_params["settings"], *default_params.get("suggested", {})]
    assert list(rows) == list(metrics) == names
    for name, cells in rows.items():
        accuracy = metrics[name]["test_accuracy"]
        assert cells[3] == f"{accuracy['mean']:.4f} ± {accuracy['std']:.4f}", name
        assert cells[4] == f"{accuracy['min']:.4f} – {accuracy['max']:.4f}", name


def test_linked_files_exist() -> None:
    links = re.findall(r"\]\(((?:reports|benchmarks|docs|src|tests|\.dvc)/[^)#]+)\)", README)
    assert links, "the README embeds the figures"
    missing = [link for link in links if not (PROJECT_ROOT / link).exists()]
    assert missing == []


def test_results_seed_count_matches_committed_params(default_params) -> None:
    seeds = default_params["train"]["seeds"]
    assert f"Test accuracy on the 600-sample test split, over {seeds} seeds per setting" in README
    assert f"`seeds` ({seeds} runs per setting)" in README


def test_make_metrics_example_matches_committed_metrics() -> None:
    start = README.index("| setting | seeds | test accuracy, mean ± std |")
    example = README[start : README.index("…", start)].splitlines()
    table = metrics_table(json.loads(committed_text("reports/metrics.json"))).splitlines()
    assert len(example) >= 3
    assert example == table[: len(example)]


def significant(value: float, digits: int = 2) -> str:
    """``value`` to ``digits`` significant figures, as the README writes rates."""
    return f"{float(f'{value:.{digits}g}'):g}"


def test_lr_find_table_matches_committed_suggestions_and_sweep() -> None:
    found = json.loads(committed_text("lr_find/suggestions.json"))
    curve = pd.read_csv(io.StringIO(committed_text("sweep/curve.csv")))
    rows = table_rows("lr-find-table")
    assert sorted(rows) == sorted(found["suggestions"])
    for name, cells in rows.items():
        median = found["suggestions"][name]
        per_seed = [s[name] for s in found["seeds"].values() if s[name] is not None]
        low, high = significant(min(per_seed)), significant(max(per_seed))
        assert cells[1] == f"{significant(median)} ({low} – {high})", name
        nearest = curve.iloc[(curve["lr"].map(math.log) - math.log(median)).abs().idxmin()]
        assert cells[2].startswith(f"{nearest['test_accuracy']:.3f} (at {nearest['lr']:.3g})"), name


def test_bad_params_counts_match_the_table() -> None:
    """The Development section's count of bad-params kinds, and of those run end to end."""
    from ..bad_params import BAD_PARAMS

    end_to_end = sum(case.e2e for case in BAD_PARAMS)
    text = " ".join(README.split())
    assert f"per kind of mistake ({len(BAD_PARAMS)}); each is" in text
    assert f"and {end_to_end} of them also end to end" in text


def tuned_cells(entry: dict | None) -> list[str]:
    """A setting's row of the README's tuned table from its ``tuned`` metrics entry.

    ``None`` (committed results from before the tuned comparison): every cell ``–``.
    """
    if entry is None:
        return ["–"] * 5
    best = entry["vs_best"]
    good = entry["good_rates"]
    if best["is_best"]:
        compared, verdict = "best", "best"
    elif best["difference"] is None:  # the same run as the best's
        compared, verdict = f"= `{entry['same_as']}`", best["verdict"]
    else:
        compared = f"{best['difference']:+.4f} [{best['ci_low']:+.4f}, {best['ci_high']:+.4f}]"
        verdict = best["verdict"]
    if entry["same_as"] is not None:
        verdict += f" (the same run as `{entry['same_as']}`)"
    return [
        f"{entry['lr']:.3g} ({entry['given_lr']:.3g})",
        f"{entry['test_accuracy']:.4f}",
        compared,
        verdict,
        f"{good['low']:.3g} – {good['high']:.3g} ({good['decades']:.2g})",
    ]


def test_tuned_table_matches_committed_metrics(default_params) -> None:
    metrics = json.loads(committed_text("reports/metrics.json"))
    rows = table_rows("tuned-table")
    assert list(rows) == list(default_params["settings"])
    expected = {name: tuned_cells(metrics[name].get("tuned")) for name in rows}
    table = "\n".join(
        f"| `{name}` | " + " | ".join(cells) + " |" for name, cells in expected.items()
    )
    for name, cells in rows.items():
        assert cells[1:] == expected[name], f"{name}; the rows as they should read:\n{table}"
