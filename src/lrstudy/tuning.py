"""Choosing a setting's base rate from its tuning curve, and how sensitive it is to it.

Pure NumPy/pandas, on ``sweep.curve``'s per-rate table of the tuning seeds. The rule
(Google deep-learning tuning playbook: compare candidates each at its best value of the
nuisance hyperparameter, chosen on validation data):

* **best**: the rate with the highest mean validation accuracy over the tuning seeds;
  a tie (equal means, common with 280 validation rows) goes to the **lower** rate, the
  cautious side of a learning rate. Rates with a non-finite mean (a diverged seed) never win.
* **one standard error**: the rates whose mean is within one standard error of the
  best's (Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed.,
  §7.10) are reported, not used to choose: with few tuning seeds the standard error is
  wide and the rule would pick the grid's lowest plausible rate.
* **sensitivity**: the contiguous run of grid rates around the best whose mean is within
  ``margin`` of the best's; its ends and its width in decades (log10 high/low; 0 when
  only the best qualifies). A wide range means the schedule is not fussy about its rate.
* **edge**: the best is the grid's lowest or highest rate (the playbook's check that the
  search range was wide enough).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lrstudy.sweep import grid_edge_warning


def select_rate(per_rate: pd.DataFrame, margin: float) -> dict[str, object]:
    """The tuned base rate and its sensitivity range, from a per-rate curve.

    Args:
        per_rate: ``sweep.curve``'s output (one row per rate, increasing ``lr``; columns
            ``val_accuracy``, ``val_accuracy_sem``, ``test_accuracy``, ``seeds``).
        margin: Accuracy within which a rate counts as good (``tune.margin``), ≥ 0.

    Returns:
        ``tuned_lr``, ``tuned_val_accuracy`` (mean over tuning seeds), ``tuning_seeds``,
        ``tie`` (other rates shared the best mean), ``one_se_range`` {low, high},
        ``sensitivity`` {margin, low, high, decades}, ``edge`` (``"low"``, ``"high"`` or
        ``None``) and ``rates`` (grid size).

    Raises:
        ValueError: if no rate has a finite mean validation accuracy, or margin < 0.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    mean = np.nan_to_num(per_rate["val_accuracy"].to_numpy(np.float64), nan=-np.inf)
    if not np.isfinite(mean).any():
        raise ValueError("no rate has a finite mean validation accuracy")
    rates = per_rate["lr"].to_numpy(np.float64)
    best = int(np.argmax(mean))  # the first maximum: the lowest rate on a tie
    sem = float(per_rate["val_accuracy_sem"].iloc[best])
    close = rates[mean >= mean[best] - sem]
    low, high = _contiguous(mean >= mean[best] - margin, best)
    edge = "low" if best == 0 else "high" if best == len(rates) - 1 else None
    return {
        "tuned_lr": float(rates[best]),
        "tuned_val_accuracy": float(mean[best]),
        "tuning_seeds": int(per_rate["seeds"].iloc[best]),
        "tie": bool(np.sum(mean == mean[best]) > 1),
        "one_se_range": {"low": float(close.min()), "high": float(close.max())},
        "sensitivity": {
            "margin": float(margin),
            "low": float(rates[low]),
            "high": float(rates[high]),
            # rounded: grid rates are rounded, so log10 of their ratio is 0.99999... not 1
            "decades": round(math.log10(rates[high] / rates[low]), 6) + 0.0,
        },
        "edge": edge,
        "rates": len(rates),
    }


def _contiguous(good: np.ndarray, index: int) -> tuple[int, int]:
    """The first and last index of the run of ``True`` in ``good`` that holds ``index``."""
    low = high = index
    while low > 0 and good[low - 1]:
        low -= 1
    while high < len(good) - 1 and good[high + 1]:
        high += 1
    return low, high


def tuning_edge_warning(setting: str, selection: dict[str, object]) -> str | None:
    """A one-line warning when the setting's tuned rate sits at an end of the grid."""
    rate, edge = selection.get("tuned_lr"), selection.get("edge")
    return grid_edge_warning(f"{setting}: tuned rate", rate, edge, "tune")
