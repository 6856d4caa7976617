"""Test metrics, their spread over seeds, and the decision-boundary grid.

``summarize`` and ``grid_axes`` are plain NumPy; the functions that take a model import
nothing themselves but call into Keras through the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from lrstudy.config import GridConfig
from lrstudy.runlog import seed_key
from lrstudy.statistics import ACCURACY_BOUNDS, finite, mean_interval

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from lrstudy.data import Dataset

# Grid rows per predict_on_batch call: memory stays ~rows × the widest layer × 4 bytes
# (33 MB at 1,000 units) whatever the grid. Each row's output depends only on that row, so
# the chunks give the same bits as one call (tested).
PREDICT_ROWS = 8192
ROUND = 6  # decimals kept in metrics files: readable diffs, far below seed-to-seed noise
SUMMARY_KEYS = ("mean", "std", "min", "max", "ci_low", "ci_high")
# A run diverged if its loss went non-finite or its training loss ended more than this
# many times above the untrained model's (README "Diverged").
DIVERGENCE_FACTOR = 1.25


def sample_std(values: Sequence[float] | np.ndarray) -> float:
    """Sample standard deviation (ddof=1) over seeds; 0 for a single value."""
    array = np.asarray(values, dtype=np.float64)
    return float(np.std(array, ddof=1)) if array.size > 1 else 0.0


def divergence_epoch(history: pd.DataFrame, initial_loss: float) -> int | None:
    """The first epoch (1-based) at which a run diverged, or None if it did not.

    A run diverged if its training or validation loss became NaN or infinite (the first
    such epoch), or if its training loss ended more than ``DIVERGENCE_FACTOR`` (1.25)
    times above ``initial_loss``, the untrained model's loss on the train split (the
    first epoch above that line). Judged against the untrained model, not the first
    epoch: at Adam 10 the first epoch's loss is already 12-22, and a run ending at 1.0-3.4
    is far worse than the untrained model's 0.69 (ln 2). The margin keeps a run that never
    learns (its loss stays within about 1 % of the untrained one) or a short warm-up that
    barely moves from being called diverged. Without ``initial_loss`` (NaN: logs written
    before it was recorded) the first epoch's loss is the reference.
    """
    losses = history[["loss", "val_loss"]].to_numpy(dtype=float)
    broken = np.flatnonzero(~np.isfinite(losses).all(axis=1))
    if broken.size:
        return int(history["epoch"].iloc[broken[0]])
    loss = losses[:, 0]
    if not loss.size:
        return None
    line = DIVERGENCE_FACTOR * (initial_loss if math.isfinite(initial_loss) else loss[0])
    if loss[-1] > line:
        return int(history["epoch"].iloc[np.flatnonzero(loss > line)[0]])
    return None


def history_frame(history: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """A training history as ``divergence_epoch`` reads it.

    ``history`` is ``TrainingResult.history``; the frame has an ``epoch`` column (1-based)
    beside the per-epoch values.
    """
    import pandas as pd

    frame = pd.DataFrame(dict(history))
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame


def summarize(
    values: Sequence[float | None], bounds: tuple[float, float] | None = None
) -> dict[str, float | int | None]:
    """Mean, sample std, min, max and 95 % interval of the mean over the finite values.

    The interval is ``statistics.mean_interval``'s: Student's t, on the logit scale of
    ``bounds`` when the values have bounds (an accuracy: ``ACCURACY_BOUNDS``), so it stays
    inside them.

    A seed without a value (``None``, NaN or ±inf: a diverged run) is left out and ``n``
    counts the seeds that remain. With one value the std is 0 and the interval ``None``;
    with none every statistic is ``None`` (JSON null), never NaN.

    Raises:
        ValueError: If ``values`` is empty.
    """
    if len(values) == 0:
        raise ValueError("summarize() needs at least one value")
    array = finite(values)
    if array.size == 0:
        empty: dict[str, float | int | None] = dict.fromkeys(SUMMARY_KEYS)
        return {**empty, "n": 0}
    interval = mean_interval(array, bounds=bounds)
    return {
        "mean": _round(float(np.mean(array))),
        "std": _round(sample_std(array)),
        "min": _round(float(np.min(array))),
        "max": _round(float(np.max(array))),
        "ci_low": None if interval is None else _round(interval[0]),
        "ci_high": None if interval is None else _round(interval[1]),
        "n": int(array.size),
    }


def _round(value: float) -> float | None:
    """Round for metrics files; ``None`` (JSON null) for nan or inf."""
    return round(value, ROUND) if math.isfinite(value) else None


def grid_axes(config: GridConfig) -> np.ndarray:
    """The grid's coordinates along each axis: ``points`` values from low to high inclusive.

    The notebook's ``np.mgrid[-1.5:1.5:.01]`` has the same 300 points per axis but stops
    at 1.49; this grid spans the whole square.
    """
    return np.linspace(config.low, config.high, config.points, dtype=np.float64)


def grid_points(config: GridConfig, n_features: int = 2) -> np.ndarray:
    """Every grid point as a model input row, x0 varying slowest, float32.

    Shape (points², n_features): the grid's x0 and x1, and 0 for every further feature,
    so the grid is the 2-D slice x2 = ... = 0 through the input space.

    Raises:
        ValueError: if ``n_features`` < 2 (there is no 2-D slice).
    """
    if n_features < 2:
        raise ValueError(f"a 2-D grid needs at least 2 features, got {n_features}")
    axis = grid_axes(config)
    first, second = np.meshgrid(axis, axis, indexing="ij")
    rows = np.zeros((first.size, n_features), dtype=np.float32)
    rows[:, 0] = first.ravel()
    rows[:, 1] = second.ravel()
    return rows


def evaluate_model(model: keras.Model, test: Dataset) -> dict[str, float]:
    """Test loss and accuracy of one trained model: Keras' compiled loss and metric.

    The whole test split is one batch (``test_on_batch``: no ``tf.data`` pipeline).
    """
    logs = model.test_on_batch(test.x, test.y.astype(np.float32), return_dict=True)
    return {"loss": float(logs["loss"]), "accuracy": float(logs["accuracy"])}


def predict_grid(model: keras.Model, config: GridConfig) -> np.ndarray:
    """The model's probabilities on the grid (the slice of ``grid_points``), float32.

    Returns:
        Indexed ``[x0, x1]``: shape (points, points), P(y = 1), for a one-unit (binary)
        output; (points, points, k), the k class probabilities, for a k-unit softmax
        output; (0, 0) for a model of one feature, which has no 2-D slice. Predicted in
        chunks of ``PREDICT_ROWS`` rows (``predict_on_batch``), so a wide network on a fine
        grid never holds every row's activations at once.
    """
    n_features = int(model.input_shape[-1])
    if n_features < 2:
        return np.zeros((0, 0), dtype=np.float32)
    rows = grid_points(config, n_features)
    probabilities = np.concatenate(
        [
            np.asarray(model.predict_on_batch(rows[start : start + PREDICT_ROWS]))
            for start in range(0, len(rows), PREDICT_ROWS)
        ]
    )
    shape = (config.points, config.points)
    if probabilities.shape[-1] > 1:
        shape += (probabilities.shape[-1],)
    return probabilities.reshape(shape).astype(np.float32)


def seed_diverged(result: Mapping[str, float]) -> bool:
    """Whether one seed's test result shows a diverged model.

    A model whose weights or outputs went NaN or infinite has a non-finite test loss
    (binary cross-entropy of a NaN prediction is NaN), while Keras still counts a NaN
    prediction as class 0 and reports an accuracy; ``finite_predictions`` (optional)
    flags non-finite outputs found elsewhere (e.g. on the boundary grid).
    """
    return not (
        math.isfinite(result["loss"])
        and math.isfinite(result["accuracy"])
        and result.get("finite_predictions", True)
    )


def setting_metrics(
    per_seed: Mapping[int, Mapping[str, float]], diverged: Sequence[int] = ()
) -> dict[str, object]:
    """Per-setting test metrics: per-seed values and their summary (``summarize``).

    A diverged seed (``seed_diverged``, or listed in ``diverged``, e.g. because its
    training loss went non-finite) has no accuracy and no loss: both are ``None``
    (null in JSON) and the summaries cover the other seeds.

    Args:
        per_seed: Per seed, ``{"loss": ..., "accuracy": ...}`` (``evaluate_model``).
        diverged: Further seeds to treat as diverged.

    Returns:
        ``{"test_accuracy": {...summary, "seeds": {"seed_<s>": value}}, "test_loss": ...}``.
    """
    seeds = sorted(per_seed)
    lost = set(diverged) | {seed for seed in seeds if seed_diverged(per_seed[seed])}
    result: dict[str, object] = {}
    for metric, bounds in (("accuracy", ACCURACY_BOUNDS), ("loss", None)):
        values = [None if seed in lost else per_seed[seed][metric] for seed in seeds]
        result[f"test_{metric}"] = {
            **summarize(values, bounds),
            "seeds": {
                seed_key(seed): None if value is None else _round(value)
                for seed, value in zip(seeds, values, strict=True)
            },
        }
    return result
