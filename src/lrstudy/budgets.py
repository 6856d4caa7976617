"""Accuracy against training budget: each setting at its tuned rate, its run cut short.

Pure NumPy/pandas on what the ``train@<setting>`` stages wrote to
``tune/<setting>/budgets.csv`` (``tune_training``): per budget (a fraction of the
setting's epochs, ``tune.budgets``; 1 is the tuned evaluation itself) and evaluation seed
the test accuracy of the run whose horizon was set to that budget. ``budget_table``
gives per setting and budget the mean over seeds with its 95 % interval
(``statistics.mean_interval``, on the logit scale: inside [0, 1]) and the change from the
full run, paired by seed (``statistics.difference_interval``); ``budget_entries`` the
``reports/metrics.json`` entries and ``budget_reading`` the summary's sentence: which
schedules lose least when the run is cut to the smallest budget (the claim WSD and
Schedule-Free rest on: Hägele et al. 2024; Defazio et al. 2024).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lrstudy.statistics import ACCURACY_BOUNDS, difference_interval, finite, mean_interval

# Columns of ``budget_table`` (and of reports/plots/budgets.csv).
BUDGET_COLUMNS = (
    "setting",
    "budget",
    "epochs",
    "seeds",
    "test_accuracy",
    "test_accuracy_low",
    "test_accuracy_high",
    "change",
    "change_low",
    "change_high",
)


def budget_table(budgets: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per setting and budget: mean test accuracy with its interval, change from the full run.

    Args:
        budgets: Per setting its ``budgets.csv`` (columns ``budget``, ``epochs``, ``seed``,
            ``test_accuracy``; budget 1 present), in params order.

    Returns:
        One row per setting and budget (budgets ascending), columns ``BUDGET_COLUMNS``:
        ``test_accuracy`` the mean over the finite seeds, ``test_accuracy_low``/``_high``
        its 95 % interval (NaN with fewer than two seeds); ``change`` the mean per-seed
        difference budget − full run (accuracy units; negative: cut short, it loses) and
        ``change_low``/``_high`` its paired 95 % interval (0 at budget 1).
    """
    rows = []
    for name, frame in budgets.items():
        full = frame[frame["budget"] == 1].sort_values("seed")
        for budget, group in frame.groupby("budget", sort=True):
            group = group.sort_values("seed")
            values = group["test_accuracy"].to_numpy(np.float64)
            interval = mean_interval(values, bounds=ACCURACY_BOUNDS) or (np.nan, np.nan)
            paired = list(group["seed"]) == list(full["seed"])
            _, change, change_interval = difference_interval(
                values, full["test_accuracy"].to_numpy(np.float64), paired, bounds=ACCURACY_BOUNDS
            )
            kept = finite(values)
            rows.append(
                {
                    "setting": name,
                    "budget": float(budget),
                    "epochs": int(group["epochs"].iloc[0]),
                    "seeds": int(kept.size),
                    "test_accuracy": float(kept.mean()) if kept.size else np.nan,
                    "test_accuracy_low": interval[0],
                    "test_accuracy_high": interval[1],
                    "change": np.nan if change is None else change,
                    "change_low": (change_interval or (np.nan, np.nan))[0],
                    "change_high": (change_interval or (np.nan, np.nan))[1],
                }
            )
    return pd.DataFrame(rows, columns=BUDGET_COLUMNS)


def budget_entries(table: pd.DataFrame) -> dict[str, dict[str, dict[str, object]]]:
    """Per setting its ``tuned.budgets`` entry of ``reports/metrics.json``.

    Keyed by the budget as written (``"0.25"``, ``"1"``): ``epochs``, ``test_accuracy``
    (mean over the evaluation seeds), ``ci_low``, ``ci_high`` (its 95 % interval) and
    ``vs_full`` (``difference``, ``ci_low``, ``ci_high``: budget − full run, paired by
    seed). Floats rounded to 6 decimals, missing values null.
    """
    entries: dict[str, dict[str, dict[str, object]]] = {}
    for row in table.to_dict("records"):
        entries.setdefault(row["setting"], {})[f"{row['budget']:g}"] = {
            "epochs": int(row["epochs"]),
            "test_accuracy": _rounded(row["test_accuracy"]),
            "ci_low": _rounded(row["test_accuracy_low"]),
            "ci_high": _rounded(row["test_accuracy_high"]),
            "vs_full": {
                "difference": _rounded(row["change"]),
                "ci_low": _rounded(row["change_low"]),
                "ci_high": _rounded(row["change_high"]),
            },
        }
    return entries


def budget_reading(table: pd.DataFrame, same_as: Mapping[str, str | None]) -> str | None:
    """The summary's sentence: the change at the smallest budget, least lost first.

    Args:
        table: ``budget_table``.
        same_as: Per setting the setting whose identical tuned run stands for it
            (``tuned_comparison.identical_runs``), or ``None``: those are named once.

    Returns:
        ``None`` when no budget is below 1.
    """
    smallest = float(table["budget"].min())
    if smallest >= 1:
        return None
    cut = table[(table["budget"] == smallest) & table["setting"].map(lambda n: not same_as[n])]
    cut = cut.sort_values(["change", "setting"], ascending=[False, True], kind="stable")
    twins: dict[str, list[str]] = {}
    for name, source in same_as.items():
        if source:
            twins.setdefault(source, []).append(name)
    parts = []
    for row in cut.itertuples():
        name = row.setting + (
            f" (= {', '.join(twins[row.setting])})" if row.setting in twins else ""
        )
        parts.append(
            f"{name} {_signed(row.change)} [{_signed(row.change_low)}, {_signed(row.change_high)}]"
        )
    return (
        f"Cut short (`tune.budgets`: each setting retrained at its tuned rate with its "
        f"schedule's horizon set to {smallest:g} of its epochs, on the evaluation seeds), "
        "the change in test accuracy from the full run, paired by seed [95 % interval], "
        "least lost first: " + "; ".join(parts) + "."
    )


def _signed(value: float) -> str:
    """``+0.0012``; an en dash when missing."""
    return "–" if value is None or not np.isfinite(value) else f"{value:+.4f}"


def _rounded(value: object) -> float | None:
    """A JSON-ready float rounded to 6 decimals (never -0.0), ``None`` when missing."""
    value = float(value) if value is not None else np.nan
    return None if not np.isfinite(value) else round(value, 6) + 0.0
