"""The learning-rate sweep: a log grid of constant rates, and what its results say.

Pure NumPy/pandas: the grid, the per-rate summary over seeds, the best rate by validation
accuracy with the rates within one standard error of it (the "one-standard-error rule",
Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed., §7.10),
and the edge check of the Google deep-learning tuning playbook (a best value at the edge
of the searched range means the range was too narrow).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

# Columns of the per-rate-and-seed results table (sweep/results.csv).
RESULT_COLUMNS = (
    "lr",
    "seed",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "diverged",
)
ACCURACIES = ("val_accuracy", "test_accuracy")
# The "good region" the README and the checks talk about: mean test accuracy at least this.
GOOD_TEST_ACCURACY = 0.95


def log_grid(min_lr: float, max_lr: float, per_decade: int) -> np.ndarray:
    """Rates ``min_lr * 10 ** (k / per_decade)`` for k = 0, 1, ... up to ``max_lr``.

    Args:
        min_lr: The lowest rate (> 0).
        max_lr: The highest rate allowed (> min_lr); included when it falls on the grid.
        per_decade: Rates per factor of ten (≥ 1).

    Returns:
        Shape ``(n,)``, float64, increasing. 1e-5 to 1 at 3 per decade gives 16 rates:
        1e-5, 2.15e-5, 4.64e-5, 1e-4, ..., 1.

    Raises:
        ValueError: unless ``0 < min_lr < max_lr`` and ``per_decade >= 1``.
    """
    if not (0 < min_lr < max_lr) or per_decade < 1:
        raise ValueError(
            f"need 0 < min_lr < max_lr and per_decade >= 1; got {min_lr}, {max_lr}, {per_decade}"
        )
    # The small tolerance keeps max_lr when rounding puts it a hair past the last point.
    count = math.floor(per_decade * math.log10(max_lr / min_lr) + 1e-9) + 1
    return min_lr * 10.0 ** (np.arange(count) / per_decade)


def curve(results: pd.DataFrame) -> pd.DataFrame:
    """Per rate, the seeds' validation and test accuracy summarised.

    Args:
        results: One row per rate and seed, with at least ``lr``, ``seed``,
            ``val_accuracy``, ``test_accuracy`` and ``diverged``.

    Returns:
        One row per rate, increasing: ``lr``, ``seeds``, ``diverged`` (count) and, for
        each accuracy, ``<acc>`` (mean; NaN if any seed's value is NaN), ``<acc>_min``,
        ``<acc>_max`` and ``<acc>_sem`` (standard error of the mean, ddof 1, via
        ``scipy.stats.sem``; 0 for one seed).
    """
    rows = []
    for rate, group in results.sort_values(["lr", "seed"]).groupby("lr", sort=True):
        row: dict[str, float] = {
            "lr": float(rate),
            "seeds": len(group),
            "diverged": int(group["diverged"].astype(bool).sum()),
        }
        for column in ACCURACIES:
            values = group[column].to_numpy(dtype=np.float64)
            row[column] = float(np.mean(values))
            row[f"{column}_min"] = float(np.min(values))
            row[f"{column}_max"] = float(np.max(values))
            row[f"{column}_sem"] = float(stats.sem(values)) if len(values) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def summary(per_rate: pd.DataFrame) -> dict[str, object]:
    """The sweep's headline numbers (the sweep stage's DVC metrics).

    Args:
        per_rate: ``curve``'s output.

    Returns:
        ``best_lr`` (highest mean validation accuracy; the lower rate on a tie) with its
        ``best_val_accuracy`` and ``best_test_accuracy``; ``one_se_range`` (``low`` and
        ``high``: the lowest and highest rate whose mean validation accuracy is within one
        standard error of the best's); ``at_edge`` (the best is the grid's first or last
        rate) and ``edge`` (``"low"``, ``"high"`` or ``None``); ``good_test_range``
        (lowest and highest rate with mean test accuracy ≥ 0.95, ``None`` when no rate
        reaches it); ``rates`` and ``diverged_runs`` (counts).

    Raises:
        ValueError: if no rate has a finite mean validation accuracy.
    """
    mean = per_rate["val_accuracy"].to_numpy(dtype=np.float64)
    if not np.isfinite(mean).any():
        raise ValueError("no rate has a finite mean validation accuracy")
    best = int(np.nanargmax(mean))
    rates = per_rate["lr"].to_numpy(dtype=np.float64)
    floor = mean[best] - float(per_rate["val_accuracy_sem"].iloc[best])
    close = rates[np.nan_to_num(mean, nan=-np.inf) >= floor]
    good = rates[np.nan_to_num(per_rate["test_accuracy"].to_numpy(), nan=0) >= GOOD_TEST_ACCURACY]
    edge = "low" if best == 0 else "high" if best == len(rates) - 1 else None
    return {
        "best_lr": float(rates[best]),
        "best_val_accuracy": float(mean[best]),
        "best_test_accuracy": float(per_rate["test_accuracy"].iloc[best]),
        "one_se_range": {"low": float(close.min()), "high": float(close.max())},
        "at_edge": edge is not None,
        "edge": edge,
        "good_test_range": (
            {"threshold": GOOD_TEST_ACCURACY, "low": float(good.min()), "high": float(good.max())}
            if good.size
            else None
        ),
        "rates": len(rates),
        "diverged_runs": int(per_rate["diverged"].sum()),
    }


def edge_warning(result: dict[str, object]) -> str | None:
    """A one-line warning when the best rate sits at an edge of the grid, else ``None``."""
    return grid_edge_warning("best rate", result.get("best_lr"), result.get("edge"), "sweep")


def grid_edge_warning(what: str, rate: object, edge: object, section: str) -> str | None:
    """``"<what> <rate> is the lowest/highest rate of the grid: ...; widen <section>.<key>"``.

    ``edge`` is ``"low"``, ``"high"`` or ``None`` (no warning; ``rate``, a float, is then
    not read). The sweep's best rate and a setting's tuned rate
    (``tuning.tuning_edge_warning``) share the message.
    """
    if edge is None:
        return None
    side, key = ("lowest", "min_lr") if edge == "low" else ("highest", "max_lr")
    return (
        f"{what} {float(rate):.3g} is the {side} rate of the grid: the optimum may lie beyond it; "
        f"widen {section}.{key}"
    )
