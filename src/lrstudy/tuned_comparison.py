"""The tuned comparison: every setting at its tuned base rate against the best tuned one.

Pure NumPy/pandas on what the ``tune@<setting>`` stages wrote (``read_tuned``). The
reference is the setting with the highest mean **validation** accuracy at its tuned rate
on the evaluation seeds (the test set chooses nothing); the others are compared with it
on **test** accuracy, paired by seed (``statistics.compare_to_reference``: difference,
95 % interval, Holm-adjusted permutation p, probability of improvement, seeds for 80 %
power) and tested for practical equivalence within ±``compare.equivalence_margin``
(``equivalence``: TOST, Holm-adjusted over the same family).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lrstudy.equivalence import tost_p, tost_seeds, verdict, verdict_text
from lrstudy.evaluation import ROUND
from lrstudy.io import read_json
from lrstudy.statistics import ACCURACY_BOUNDS, ALPHA, compare_to_reference, holm

TUNE_FILES = ("curve.csv", "tuned.json", "evaluation.csv", "budgets.csv")
# Columns of ``tuned_table``.
TABLE_COLUMNS = (
    "setting",
    "given_lr",
    "tuned_lr",
    "val_accuracy",
    "test_accuracy",
    "seeds",
    "good_low",
    "good_high",
    "good_decades",
    "edge",
    "reference",
    "same_as",
    "difference",
    "ci_low",
    "ci_high",
    "p_holm",
    "probability_of_improvement",
    "tost_p_holm",
    "verdict",
    "verdict_text",
    "seeds_needed",
)
# The columns in accuracy units: rounded to ``ROUND`` places in the table (``tuned_table``).
ACCURACY_COLUMNS = ("val_accuracy", "test_accuracy", "difference", "ci_low", "ci_high")


def read_tuned(folder: Path, names: Sequence[str]) -> dict[str, dict[str, object]]:
    """Per setting ``{"selection": tuned.json, "evaluation", "curve", "budgets": frames}``.

    Raises:
        FileNotFoundError: naming the first missing file (run its tune@ stage).
    """
    tuned = {}
    for name in names:
        paths = {file: folder / name / file for file in TUNE_FILES}
        for path in paths.values():
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; run `dvc repro tune@{name}`")
        tuned[name] = {
            "selection": read_json(paths["tuned.json"]),
            "evaluation": pd.read_csv(paths["evaluation.csv"]).sort_values("seed"),
            "curve": pd.read_csv(paths["curve.csv"]),
            "budgets": pd.read_csv(paths["budgets.csv"]),
        }
    return tuned


def tuned_table(tuned: Mapping[str, Mapping[str, object]], margin: float) -> pd.DataFrame:
    """One row per setting: tuned rate, accuracies, comparison with the best, verdict.

    Columns: ``setting``, ``given_lr``, ``tuned_lr``, ``val_accuracy``, ``test_accuracy``
    (means over evaluation seeds), ``seeds``, ``difference``, ``ci_low``, ``ci_high``,
    ``p_holm``, ``probability_of_improvement``, ``tost_p_holm``, ``verdict``,
    ``seeds_needed``, ``good_low``, ``good_high``, ``good_decades``, ``edge``,
    ``reference`` (the best row has no comparison fields), ``same_as``. Sorted by mean test
    accuracy, best first.

    Settings whose tuned runs are identical (the same tuned rate and the same validation
    and test accuracy on every evaluation seed: constant-rate settings differing only in
    the rate that tuning replaces) are compared once: the first in params order stands for
    the others, which carry its fields and its name in ``same_as`` (``None`` elsewhere),
    and the Holm family counts it once.
    """
    names = list(tuned)
    evaluations = {name: tuned[name]["evaluation"] for name in names}
    same_as = identical_runs(tuned)
    unique = [name for name in names if same_as[name] is None]
    val = {name: float(frame["val_accuracy"].mean()) for name, frame in evaluations.items()}
    reference = max(unique, key=lambda name: (val[name], -names.index(name)))
    seeds = {name: tuple(frame["seed"]) for name, frame in evaluations.items()}
    values = {
        name: frame["test_accuracy"].to_numpy(np.float64) for name, frame in evaluations.items()
    }
    paired = {name: seeds[name] == seeds[reference] for name in names}
    comparisons = compare_to_reference(
        {name: values[name] for name in unique}, reference, paired, bounds=ACCURACY_BOUNDS
    )
    raw_tost = {
        name: tost_p(values[name], values[reference], margin, paired[name]) for name in comparisons
    }
    tested = [name for name, p in raw_tost.items() if p is not None]
    tost_holm = dict(zip(tested, holm([raw_tost[n] for n in tested]), strict=True))
    family = max(1, len(tested))
    rows = []
    for name in names:
        selection = tuned[name]["selection"]
        good = selection["sensitivity"]
        row = {
            "setting": name,
            "given_lr": selection["given_lr"],
            "tuned_lr": selection["tuned_lr"],
            "val_accuracy": val[name],
            "test_accuracy": float(np.mean(values[name])),
            "seeds": len(values[name]),
            "good_low": good["low"],
            "good_high": good["high"],
            "good_decades": good["decades"],
            "edge": selection["edge"],
            "reference": name == reference,
            "same_as": same_as[name],
        }
        source = same_as[name] or name
        if source in comparisons:
            row.update(
                _comparison_fields(comparisons[source], tost_holm.get(source), margin, family)
            )
        elif source == reference and name != reference:  # the best's own run again
            row.update({"verdict": "equivalent", "verdict_text": "the same run as the best"})
        rows.append(row)
    # Every column, also where nothing was compared (one setting, or only identical runs).
    # Accuracies rounded once here, so the summary and metrics.json format the same numbers
    # (p-values keep their digits: rounded to ROUND places a small one would read 0).
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS).round(dict.fromkeys(ACCURACY_COLUMNS, ROUND))
    return frame.sort_values("test_accuracy", ascending=False, kind="stable")


def identical_runs(tuned: Mapping[str, Mapping[str, object]]) -> dict[str, str | None]:
    """Per setting the first earlier setting with an identical tuned run, else ``None``.

    Identical: the same tuned rate, evaluation seeds and per-seed validation and test
    accuracy (bit for bit: the same run trains to the same bytes).
    """
    keys: dict[tuple, str] = {}
    same_as: dict[str, str | None] = {}
    for name, entry in tuned.items():
        frame = entry["evaluation"]
        key = (
            entry["selection"]["tuned_lr"],
            tuple(frame["seed"]),
            tuple(frame["val_accuracy"]),
            tuple(frame["test_accuracy"]),
        )
        same_as[name] = keys.get(key)
        keys.setdefault(key, name)
    return same_as


def _comparison_fields(item, tost_p_holm: float | None, margin: float, family: int) -> dict:
    """The comparison columns of one setting's row (see ``tuned_table``)."""
    name = verdict(item.difference, item.p_holm, tost_p_holm)
    needed = None
    if name == "inconclusive":
        options = [item.seeds_for_power]
        if item.paired and item.difference is not None and item.spread is not None:
            options.append(tost_seeds(item.difference, item.spread, margin, ALPHA / family))
        options = [n for n in options if n is not None]
        needed = min(options) if options else None
    return {
        "difference": item.difference,
        "ci_low": item.ci_low,
        "ci_high": item.ci_high,
        "p_holm": item.p_holm,
        "probability_of_improvement": item.probability_of_improvement,
        "tost_p_holm": tost_p_holm,
        "verdict": name,
        "verdict_text": verdict_text(name, tost_p_holm, item.p_holm, item.n, margin),
        "seeds_needed": needed,
    }


def tuned_entries(table: pd.DataFrame, margin: float) -> dict[str, dict[str, object]]:
    """Per setting its ``tuned`` entry of ``reports/metrics.json`` (DVC metrics).

    Keys: ``lr`` (the tuned base rate), ``given_lr``, ``val_accuracy`` and
    ``test_accuracy`` (means over the evaluation seeds), ``seeds``, ``good_rates``
    (``low``, ``high``, ``decades``: the sensitivity range), ``edge``, ``same_as`` (the
    setting whose identical run stands for this one, see ``tuned_table``) and ``vs_best``
    (``is_best``; for the others ``difference``, ``ci_low``, ``ci_high``, ``p_holm``,
    ``prob_improvement``, ``tost_p_holm``, ``equivalence_margin``, ``verdict``,
    ``seeds_needed``). Floats rounded to ``ROUND`` decimals, missing values null.
    """
    entries = {}
    for row in table.to_dict("records"):
        vs_best: dict[str, object] = {"is_best": bool(row["reference"])}
        if not row["reference"]:
            vs_best |= {
                "difference": row["difference"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "p_holm": row["p_holm"],
                "prob_improvement": row["probability_of_improvement"],
                "tost_p_holm": row["tost_p_holm"],
                "equivalence_margin": margin,
                "verdict": row["verdict"],
                "seeds_needed": None if pd.isna(row["seeds_needed"]) else int(row["seeds_needed"]),
            }
        entry = {
            "lr": row["tuned_lr"],
            "given_lr": row["given_lr"],
            "val_accuracy": row["val_accuracy"],
            "test_accuracy": row["test_accuracy"],
            "seeds": int(row["seeds"]),
            "good_rates": {
                "low": row["good_low"],
                "high": row["good_high"],
                "decades": row["good_decades"],
            },
            "edge": row["edge"],
            "same_as": row["same_as"],
            "vs_best": vs_best,
        }
        entries[row["setting"]] = _plain_tree(entry)
    return entries


def _plain_tree(value: object) -> object:
    """``value`` with every leaf JSON-ready (``_plain``), floats rounded to ``ROUND`` places."""
    if isinstance(value, dict):
        return {key: _plain_tree(item) for key, item in value.items()}
    plain = _plain(value)
    if isinstance(plain, float):
        return round(plain, ROUND) + 0.0  # + 0.0: never -0.0
    return plain


def _plain(value: object) -> object:
    """A JSON-ready value: NaN and None as None, NumPy scalars as Python ones."""
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return value


def tuned_markdown(table: pd.DataFrame, margin: float, budgets: str | None = None) -> str:
    """The summary section: the answer in words (verdicts, sensitivity), then the table.

    ``budgets``: the reading of the runs cut short (``budgets.budget_reading``), after the
    sensitivity's.
    """
    best = table[table["reference"]].iloc[0]
    twins = {
        source: list(group["setting"])
        for source, group in table[table["same_as"].notna()].groupby("same_as", sort=False)
    }
    shown = table[~table["reference"] & table["same_as"].isna()]
    lines = [
        "## Which schedule? Each at its own tuned base rate",
        "",
        f"Best tuned setting (highest mean validation accuracy at its tuned rate): "
        f"**{_named(best['setting'], twins)}** at base rate {best['tuned_lr']:.3g} "
        f"(hand-picked {best['given_lr']:.3g}), test accuracy {best['test_accuracy']:.4f} "
        f"over {best['seeds']} evaluation seeds."
        + (
            " Each other setting against it, on test accuracy paired by seed (difference "
            "[95 % interval]):"
            if len(shown)
            else ""
        ),
        "",
    ]
    headings = {
        "equivalent": f"Equivalent within ±{margin:g} (two one-sided tests, Holm-adjusted)",
        "worse": "Worse (paired permutation test, Holm-adjusted)",
        "better": "Better (paired permutation test, Holm-adjusted)",
        "inconclusive": f"Inconclusive at {best['seeds']} seeds",
    }
    for kind, heading in headings.items():
        group = shown[shown["verdict"] == kind]
        if len(group):
            readings = "; ".join(_reading(row, twins) for _, row in group.iterrows())
            lines.append(f"- {heading}: {readings}.")
    lines += ["", _sensitivity_reading(table)]
    if budgets:
        lines += ["", budgets]
    edges = table[table["edge"].notna()]["setting"].tolist()
    if edges:
        lines += [
            "",
            f"Tuned rate at an end of the grid (widen tune.min_lr/max_lr): {', '.join(edges)}.",
        ]
    lines += ["", _markdown_table(table), ""]
    return "\n".join(lines)


def _sensitivity_reading(table: pd.DataFrame) -> str:
    """Settings grouped by the width of their good-rate range, widest (least fussy) first."""
    groups = []
    for width, group in table.groupby(table["good_decades"].round(6), sort=True):
        names = ", ".join(group.sort_values("setting", kind="stable")["setting"])
        groups.append(f"{width:.2g} decade{'' if width == 1 else 's'}: {names}")
    return (
        "Sensitivity to the rate, least fussy first (the width of the contiguous range of "
        "base rates whose mean validation accuracy over the tuning seeds is within "
        "tune.margin of the setting's best): " + "; ".join(reversed(groups)) + "."
    )


def _num(value: object, spec: str) -> str:
    """``value`` formatted with ``spec``; an en dash when missing (too few seeds)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return format(value, spec)


def _named(name: str, twins: Mapping[str, Sequence[str]]) -> str:
    """``name``, with the settings whose tuned run is the same: ``a (= b, c: the same run)``."""
    if name not in twins:
        return name
    return f"{name} (= {', '.join(twins[name])}: the same run once tuned)"


def _reading(row: pd.Series, twins: Mapping[str, Sequence[str]]) -> str:
    """One setting's difference, interval and the p-value or seeds behind its verdict."""
    text = (
        f"{_named(row['setting'], twins)} {_num(row['difference'], '+.4f')} "
        f"[{_num(row['ci_low'], '+.4f')}, {_num(row['ci_high'], '+.4f')}]"
    )
    if row["verdict"] == "equivalent":
        return text + f" (p = {_num(row['tost_p_holm'], '.2g')})"
    if row["verdict"] in ("worse", "better"):
        return text + f" (p = {_num(row['p_holm'], '.2g')})"
    if pd.notna(row["seeds_needed"]):
        return text + f" (~{int(row['seeds_needed'])} seeds for a verdict)"
    return text


def _markdown_table(table: pd.DataFrame) -> str:
    """The per-setting table of the section."""
    header = (
        "| setting | given rate | tuned rate | test accuracy | vs best [95 % CI] | Holm p "
        "| P(improve) | TOST p | verdict | good rates (decades) |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for _, r in table.iterrows():
        if r["reference"]:
            compared = "best | | | | best"
        elif pd.isna(r.get("difference")):  # the best's own run again
            compared = f"= {r['same_as']} | | | | {r['verdict']}"
        else:
            compared = (
                f"{_num(r['difference'], '+.4f')} [{_num(r['ci_low'], '+.4f')}, "
                f"{_num(r['ci_high'], '+.4f')}] | {_num(r['p_holm'], '.2g')} | "
                f"{_num(r['probability_of_improvement'], '.2f')} | "
                f"{_num(r['tost_p_holm'], '.2g')} | {r['verdict']}"
            )
        rows.append(
            f"| {r['setting']} | {r['given_lr']:.3g} | {r['tuned_lr']:.3g} | "
            f"{r['test_accuracy']:.4f} | {compared} | {r['good_low']:.3g}–{r['good_high']:.3g} "
            f"({r['good_decades']:.2g}) |"
        )
    return "\n".join([header, *rows])


def isolation_table(tuned: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Every setting's tuning curve in long form (a ``setting`` column), for DVC plots."""
    frames = [
        tuned[name]["curve"].assign(setting=name)[
            [
                "setting",
                "lr",
                "val_accuracy",
                "val_accuracy_min",
                "val_accuracy_max",
                "test_accuracy",
                "test_accuracy_min",
                "test_accuracy_max",
            ]
        ]
        for name in tuned
    ]
    return pd.concat(frames, ignore_index=True)
