"""The tuning rule on synthetic curves with known answers: a tie, a flat curve, an edge."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrstudy.tuning import select_rate, tuning_edge_warning

RATES = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def per_rate(val: list[float], sem: float = 0.0) -> pd.DataFrame:
    """A ``sweep.curve``-shaped table over ``RATES`` with the given mean validation accuracy."""
    return pd.DataFrame(
        {
            "lr": RATES,
            "seeds": 4,
            "val_accuracy": val,
            "val_accuracy_sem": sem,
            "test_accuracy": val,
        }
    )


def test_interior_best_and_its_sensitivity_range() -> None:
    chosen = select_rate(per_rate([0.60, 0.93, 0.95, 0.945, 0.70]), margin=0.01)
    assert chosen["tuned_lr"] == 1e-2 and chosen["edge"] is None and not chosen["tie"]
    good = chosen["sensitivity"]
    # 0.945 is within 0.01 of 0.95, 0.93 is not: the range is 1e-2 .. 1e-1, one decade.
    assert (good["low"], good["high"]) == (1e-2, 1e-1)
    assert good["decades"] == pytest.approx(1.0)


def test_a_tie_goes_to_the_lower_rate() -> None:
    chosen = select_rate(per_rate([0.5, 0.9, 0.7, 0.9, 0.5]), margin=0.0)
    assert chosen["tuned_lr"] == 1e-3 and chosen["tie"]
    # The tied rate 0.1 is not contiguous with the best: the range stays at 1e-3 alone.
    assert chosen["sensitivity"]["decades"] == 0.0


def test_a_flat_curve_picks_the_lowest_rate_and_spans_the_grid() -> None:
    chosen = select_rate(per_rate([0.8] * 5), margin=0.01)
    assert chosen["tuned_lr"] == 1e-4 and chosen["tie"] and chosen["edge"] == "low"
    assert chosen["sensitivity"]["decades"] == pytest.approx(4.0)


def test_best_at_the_high_edge_is_flagged() -> None:
    chosen = select_rate(per_rate([0.5, 0.6, 0.7, 0.8, 0.9]), margin=0.01)
    assert chosen["tuned_lr"] == 1.0 and chosen["edge"] == "high"
    warning = tuning_edge_warning("wsd", chosen)
    assert warning is not None and warning.startswith("wsd: tuned rate 1 is the highest")
    assert "tune.max_lr" in warning


def test_one_standard_error_range_is_reported_not_used() -> None:
    chosen = select_rate(per_rate([0.60, 0.93, 0.95, 0.945, 0.70], sem=0.03), margin=0.0)
    assert chosen["tuned_lr"] == 1e-2
    assert chosen["one_se_range"] == {"low": 1e-3, "high": 1e-1}


def test_a_rate_with_a_diverged_seed_cannot_win() -> None:
    chosen = select_rate(per_rate([0.6, math.nan, 0.7, 0.65, 0.5]), margin=0.1)
    assert chosen["tuned_lr"] == 1e-2
    # 0.6 at 1e-4 is within 0.1 of 0.7 but the NaN rate between breaks the run; 0.5 at
    # 1.0 is not within 0.1: the range is 1e-2 .. 1e-1.
    assert (chosen["sensitivity"]["low"], chosen["sensitivity"]["high"]) == (1e-2, 1e-1)


def test_nothing_finite_or_a_negative_margin_is_an_error() -> None:
    with pytest.raises(ValueError, match="finite"):
        select_rate(per_rate([np.nan] * 5), margin=0.01)
    with pytest.raises(ValueError, match="margin"):
        select_rate(per_rate([0.8] * 5), margin=-0.1)
