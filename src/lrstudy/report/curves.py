"""Training curves over seeds: the long history, per-epoch statistics and plot files.

From per-setting, per-seed histories (``runlog.read_live_history``) to the learning-curves
and learning-rate plot files of the compare stage, and the strict mean curve the summary
picks the best validation epoch from. Pure pandas and NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lrstudy.runlog import AVERAGING_WEIGHT, EFFECTIVE_LR, HISTORY_KEYS

CURVE_COLUMNS = ("loss", "val_loss", "accuracy", "val_accuracy")
# Learning-rate polylines keep every point needed to stay within this many decades
# (2.3 %) of the true rate: under a pixel on a log axis spanning a few decades, and a
# plot file of a few hundred rows per setting even for a cyclic per-step schedule.
RATE_TOLERANCE_DECADES = 0.01
ALL_SEEDS = "all"


def long_history(histories: Mapping[str, Mapping[int, pd.DataFrame]]) -> pd.DataFrame:
    """Stack per-setting, per-seed histories into one frame: setting, seed, epoch, ..."""
    frames = [
        history.assign(setting=setting, seed=seed)
        for setting, by_seed in histories.items()
        for seed, history in by_seed.items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["setting", "seed", "epoch", *HISTORY_KEYS]]


def epoch_summary(long: pd.DataFrame) -> pd.DataFrame:
    """Per setting and epoch: mean, min and max over seeds, and how many seeds diverged.

    Settings keep their input order. Non-finite values (a diverged seed) are left out of
    the statistics; an epoch where every seed diverged stays NaN. ``seeds`` counts the
    seeds logged at that epoch and ``diverged`` those whose training or validation loss
    was non-finite at it.
    """
    finite = long.replace([np.inf, -np.inf], np.nan)
    keys = ["setting", "epoch"]
    grouped = finite.groupby(keys, sort=False)[list(HISTORY_KEYS)]
    mean = grouped.mean()
    low = grouped.min().add_suffix("_min")
    high = grouped.max().add_suffix("_max")
    broken = ~np.isfinite(long[["loss", "val_loss"]].to_numpy(dtype=float)).all(axis=1)
    counts = (
        long.assign(diverged=broken)
        .groupby(keys, sort=False)
        .agg(seeds=("seed", "nunique"), diverged=("diverged", "sum"))
    )
    return pd.concat([mean, low, high, counts], axis=1).reset_index()


def curves_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The learning-curves plot file: per setting and epoch, mean, min and max over seeds.

    Long format (one row per setting and epoch, a ``setting`` column), so ``dvc plots``
    templates colour by setting and a new setting needs no dvc.yaml edit.
    """
    columns = [f"{column}{suffix}" for column in CURVE_COLUMNS for suffix in ("", "_min", "_max")]
    return summary[["setting", "epoch", *columns]].reset_index(drop=True)


def simplify_curve(x: np.ndarray, y: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the points of a polyline to keep (Ramer–Douglas–Peucker, vertical).

    A dropped point lies within ``tolerance`` (in ``y`` units) of the straight line
    between the kept points around it, so the kept points, joined by straight lines,
    draw the same curve. Constant runs shrink to their ends; corners are kept exactly.

    Args:
        x: Non-decreasing x coordinates.
        y: Finite y coordinates.
        tolerance: Largest vertical distance a dropped point may have from the line.

    Returns:
        Sorted indices, always including the first and the last point.
    """
    count = len(x)
    if count <= 2:
        return np.arange(count)
    keep = np.zeros(count, dtype=bool)
    keep[[0, -1]] = True
    pending = [(0, count - 1)]
    while pending:
        start, end = pending.pop()
        if end - start < 2:
            continue
        inner = np.arange(start + 1, end)
        if x[end] > x[start]:
            share = (x[inner] - x[start]) / (x[end] - x[start])
            error = np.abs(y[inner] - (y[start] + share * (y[end] - y[start])))
        else:  # a vertical segment: distance to the nearer end's range
            error = np.maximum(
                0.0,
                np.maximum(y[inner] - max(y[start], y[end]), min(y[start], y[end]) - y[inner]),
            )
        worst = int(np.argmax(error))
        if error[worst] > tolerance:
            split = int(inner[worst])
            keep[split] = True
            pending += [(start, split), (split, end)]
    return np.flatnonzero(keep)


def _polyline(x: np.ndarray, rates: np.ndarray) -> pd.DataFrame:
    """Points of a rate curve, keeping only what a log axis can show (positive rates)."""
    rates = np.asarray(rates, dtype=float)
    usable = np.isfinite(rates) & (rates > 0)
    x, rates = np.asarray(x, dtype=float)[usable], rates[usable]
    kept = simplify_curve(x, np.log10(rates), RATE_TOLERANCE_DECADES) if len(x) else []
    return pd.DataFrame({"epoch": x[kept], "learning_rate": rates[kept]})


def rate_polyline(
    history: pd.DataFrame | None = None, steps: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One seed's learning rate as a small polyline over training progress (epochs).

    Per-step rates (``read_step_rates``) win over the per-epoch ``learning_rate`` of the
    history. A per-epoch rate is held for its whole epoch (a staircase, exact for
    reduce-on-plateau and per-epoch schedules); per-step rates are joined point to point
    (a step is too short to see). Points the eye could not tell from the straight line
    through their neighbours are dropped (``RATE_TOLERANCE_DECADES``).

    Returns:
        Columns ``epoch`` (0 = start of training; fractional inside an epoch) and
        ``learning_rate``.
    """
    if steps is not None and not steps.empty:
        starts = steps["epoch_fraction"].to_numpy(dtype=float)
        rates = steps["learning_rate"].to_numpy(dtype=float)
        width = float(np.median(np.diff(starts))) if len(starts) > 1 else 1.0
        # The last rate holds until the end of its step.
        return _polyline(np.append(starts, starts[-1] + width), np.append(rates, rates[-1]))
    if history is None:
        raise ValueError("rate_polyline needs a history or per-step rates")
    epochs = history["epoch"].to_numpy(dtype=float)
    x = np.column_stack([epochs - 1, epochs]).ravel()
    return _polyline(x, np.repeat(history["learning_rate"].to_numpy(dtype=float), 2))


def end_of_epoch_polyline(history: pd.DataFrame, column: str) -> pd.DataFrame:
    """A value logged after each epoch's last step (``runlog.OPTIMIZER_KEYS``) as a polyline.

    Each epoch's value sits at the end of that epoch (``epoch`` 1 is the end of the first),
    joined point to point; non-positive values are left out (a log axis cannot show them)
    and points the eye could not tell from their neighbours' line dropped, as
    ``rate_polyline``.

    Returns:
        Columns ``epoch`` and ``learning_rate`` (the value, whatever it is).
    """
    return _polyline(history["epoch"].to_numpy(dtype=float), history[column].to_numpy(float))


def learning_rate_curves(
    histories: Mapping[str, Mapping[int, pd.DataFrame]],
    steps: Mapping[str, Mapping[int, pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """The learning-rate plot file: per setting, the rate each seed used.

    A setting whose seeds all used the same rates (any deterministic schedule) gets one
    polyline with ``seed`` = ``"all"``; one whose rates depend on the run (for example
    reduce-on-plateau) gets one polyline per seed. A Prodigy setting (its history has
    ``effective_lr``) shows the step size it really took, ``d · lr`` after each epoch
    (``end_of_epoch_polyline``), not its multiplier ``lr``: ``d`` is estimated per seed.

    Args:
        histories: Per setting and seed, the per-epoch history (``read_live_history``).
        steps: Per setting and seed, per-step rates where the train stage wrote them.

    Returns:
        Long format: ``setting``, ``seed`` (text), ``epoch``, ``learning_rate``.
    """
    frames = []
    for setting, by_seed in histories.items():
        per_step = (steps or {}).get(setting, {})
        lines = {
            seed: end_of_epoch_polyline(history, EFFECTIVE_LR)
            if EFFECTIVE_LR in history
            else rate_polyline(history, per_step.get(seed))
            for seed, history in by_seed.items()
        }
        first = next(iter(lines.values()))
        if all(line.equals(first) for line in lines.values()):
            lines = {ALL_SEEDS: first}
        frames += [line.assign(setting=setting, seed=str(seed)) for seed, line in lines.items()]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["setting", "seed", "epoch", "learning_rate"]]


def effective_rate_settings(histories: Mapping[str, Mapping[int, pd.DataFrame]]) -> list[str]:
    """The settings whose histories log Prodigy's ``effective_lr``, in input order."""
    return [
        setting
        for setting, by_seed in histories.items()
        if any(EFFECTIVE_LR in history for history in by_seed.values())
    ]


def averaging_weight_curves(histories: Mapping[str, Mapping[int, pd.DataFrame]]) -> pd.DataFrame:
    """Per Schedule-Free setting (its history has ``averaging_weight``), that weight per epoch.

    ``c = 1/t`` of each epoch's last step depends on the step count alone, so one seed's
    values stand for all (the first seed's).

    Returns:
        Long format: ``setting``, ``epoch`` (the end of that epoch), ``averaging_weight``;
        no rows without a Schedule-Free setting.
    """
    frames = [
        history[["epoch", AVERAGING_WEIGHT]].assign(setting=setting)
        for setting, by_seed in histories.items()
        if by_seed and AVERAGING_WEIGHT in (history := next(iter(by_seed.values())))
    ]
    columns = ["setting", "epoch", AVERAGING_WEIGHT]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def strict_mean_curve(by_seed: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per epoch, the mean over seeds, NaN wherever any seed's value is non-finite.

    Unlike ``epoch_summary`` (which averages the seeds that survived, for the figures),
    a diverged seed here spoils the epoch, so a setting that lost seeds cannot win on
    the survivors alone.
    """
    stacked = long_history({"_": by_seed}).replace([np.inf, -np.inf], np.nan)
    return (
        stacked.groupby("epoch")[list(HISTORY_KEYS)]
        .agg(lambda values: values.mean(skipna=False))
        .reset_index()
    )
