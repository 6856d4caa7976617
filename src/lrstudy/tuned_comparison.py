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
from lrstudy.io import read_json
from lrstudy.statistics import ACCURACY_BOUNDS, ALPHA, compare_to_reference, holm

TUNE_FILES = ("curve.csv", "tuned.json", "evaluation.csv")


def read_tuned(folder: Path, names: Sequence[str]) -> dict[str, dict[str, object]]:
    """Per setting ``{"selection": tuned.json, "evaluation": frame, "curve": frame}``.

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
        }
    return tuned


def tuned_table(tuned: Mapping[str, Mapping[str, object]], margin: float) -> pd.DataFrame:
    """One row per setting: tuned rate, accuracies, comparison with the best, verdict.

    Columns: ``setting``, ``given_lr``, ``tuned_lr``, ``val_accuracy``, ``test_accuracy``
    (means over evaluation seeds), ``seeds``, ``difference``, ``ci_low``, ``ci_high``,
    ``p_holm``, ``probability_of_improvement``, ``tost_p_holm``, ``verdict``,
    ``seeds_needed``, ``good_low``, ``good_high``, ``good_decades``, ``edge``,
    ``reference`` (the best row has no comparison fields). Sorted by mean test accuracy,
    best first.
    """
    names = list(tuned)
    evaluations = {name: tuned[name]["evaluation"] for name in names}
    val = {name: float(frame["val_accuracy"].mean()) for name, frame in evaluations.items()}
    reference = max(names, key=lambda name: (val[name], -names.index(name)))
    seeds = {name: tuple(frame["seed"]) for name, frame in evaluations.items()}
    values = {
        name: frame["test_accuracy"].to_numpy(np.float64) for name, frame in evaluations.items()
    }
    paired = {name: seeds[name] == seeds[reference] for name in names}
    comparisons = compare_to_reference(values, reference, paired, bounds=ACCURACY_BOUNDS)
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
        }
        if name in comparisons:
            row.update(_comparison_fields(comparisons[name], tost_holm.get(name), margin, family))
        rows.append(row)
    return pd.DataFrame(rows).sort_values("test_accuracy", ascending=False, kind="stable")


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


def tuned_metrics(table: pd.DataFrame, margin: float) -> dict[str, object]:
    """The tuned numbers for ``reports/tuned/metrics.json`` (DVC metrics), per setting."""
    best = table.loc[table["reference"], "setting"].iloc[0]
    settings = {}
    for row in table.to_dict("records"):
        clean = {key: _plain(value) for key, value in row.items() if key not in ("setting",)}
        settings[row["setting"]] = clean
    return {"best": best, "equivalence_margin": margin, "settings": settings}


def _plain(value: object) -> object:
    """A JSON-ready value: NaN and None as None, NumPy scalars as Python ones."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def tuned_markdown(table: pd.DataFrame, margin: float) -> str:
    """The summary section: the answer first, then the table."""
    best = table[table["reference"]].iloc[0]
    others = table[~table["reference"]]
    lines = [
        "## Which schedule? Each at its own tuned base rate",
        "",
        f"Best tuned setting (highest mean validation accuracy): **{best['setting']}** at "
        f"base rate {best['tuned_lr']:.3g}, test accuracy {best['test_accuracy']:.4f} "
        f"over {best['seeds']} evaluation seeds.",
        "",
    ]
    for kind in ("equivalent", "worse", "better", "inconclusive"):
        group = others[others["verdict"] == kind]
        if len(group):
            lines.append(
                f"- {kind.capitalize()}: " + "; ".join(_reading(r) for _, r in group.iterrows())
            )
    ranked = table.sort_values("good_decades", ascending=False, kind="stable")
    least = ", ".join(
        f"{r['setting']} ({r['good_decades']:.2g} decades, "
        f"{r['good_low']:.3g}–{r['good_high']:.3g})"
        for _, r in ranked.head(3).iterrows()
    )
    lines += [
        "",
        "Least sensitive to the rate (widest range of base rates whose mean validation "
        f"accuracy is within tune.margin of the setting's best): {least}.",
    ]
    edges = table[table["edge"].notna()]["setting"].tolist()
    if edges:
        lines += [
            "",
            f"Tuned rate at an end of the grid (widen tune.min_lr/max_lr): {', '.join(edges)}.",
        ]
    lines += ["", _markdown_table(table), ""]
    return "\n".join(lines)


def _num(value: object, spec: str) -> str:
    """``value`` formatted with ``spec``; an en dash when missing (too few seeds)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return format(value, spec)


def _reading(row: pd.Series) -> str:
    """One setting's verdict with its numbers."""
    text = (
        f"{row['setting']} {_num(row['difference'], '+.4f')} [{_num(row['ci_low'], '+.4f')}, "
        f"{_num(row['ci_high'], '+.4f')}] ({row['verdict_text']})"
    )
    if row["verdict"] == "inconclusive" and pd.notna(row["seeds_needed"]):
        text += f", ~{int(row['seeds_needed'])} seeds for a verdict"
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
