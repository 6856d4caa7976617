"""The ``sweep`` stage's training, before and after the population trainer (``make bench``).

``train_grid_fast_loop`` mirrors ``lrstudy.sweep_training.train_grid`` as it was before the
population (commit 9fd4e8c): one fast-loop ``Trainer`` for the whole grid, trained one
model at a time, rate by rate and seed by seed, each model evaluated on the test split
right after it trained. ``sweep_section`` times it against today's ``train_grid`` (the
whole grid as one population), both in this process, round by round, and checks that
both rank the rates alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from fast_loop import Trainer
from lrstudy.config import Config, load_config
from lrstudy.data import Dataset, generate, split
from lrstudy.evaluation import divergence_epoch, evaluate_model, history_frame
from lrstudy.sweep import RESULT_COLUMNS, curve, log_grid, summary
from lrstudy.sweep_training import sweep_spec, train_grid

ROOT = Path(__file__).resolve().parents[1]


def train_grid_fast_loop(
    rates: Sequence[float], config: Config, data: Mapping[str, Dataset]
) -> pd.DataFrame:
    """The grid trained as the sweep stage did before the population: one model at a time."""
    spec = sweep_spec(config, float(rates[0]), loop="fast")
    trainer = Trainer(
        spec, config.model, data["train"], data["val"], n_classes=config.data.n_classes
    )
    rows = []
    for rate in rates:
        for seed in spec.seeds:
            result = trainer.train(seed, lr=float(rate))
            test = evaluate_model(trainer.model, data["test"])  # holds the trained weights
            last = {key: values[-1] for key, values in result.history.items()}
            rows.append(
                {
                    **{key: last[key] for key in ("loss", "accuracy", "val_loss", "val_accuracy")},
                    "lr": float(rate),
                    "seed": seed,
                    "test_loss": test["loss"],
                    "test_accuracy": test["accuracy"],
                    # The fast loop never recorded the untrained loss: NaN makes the first
                    # epoch's loss the reference (``divergence_epoch``'s documented fallback).
                    "diverged": divergence_epoch(history_frame(result.history), float("nan"))
                    is not None,
                }
            )
    return pd.DataFrame(rows)[list(RESULT_COLUMNS)]


def sweep_section(rounds: int, epochs: int) -> tuple[list[str], float]:
    """Seconds of the sweep's grid both ways (test evaluation included); lines and ratio."""
    config = load_config(ROOT / "params.yaml")
    config = config.model_copy(update={"train": config.train.model_copy(update={"epochs": epochs})})
    assert config.sweep is not None, "params.yaml has no sweep section"
    rates = [
        float(rate)
        for rate in log_grid(config.sweep.min_lr, config.sweep.max_lr, config.sweep.per_decade)
    ]
    data = split(generate(config.data), config.split)
    methods = {
        "before: fast loop, one model at a time (`9fd4e8c`'s `train_grid`)": (
            lambda: train_grid_fast_loop(rates, config, data)
        ),
        "now: `train_grid`, the grid as one population": (
            lambda: train_grid(rates, config, data, progress=lambda line: None)
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    results: dict[str, pd.DataFrame] = {}
    for _ in range(rounds):
        for name, method in methods.items():
            started = time.perf_counter()
            results[name] = method()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    before, now = medians.values()
    models = len(next(iter(results.values())))
    return _sweep_lines(rates, config, models, rounds, medians, results), before / now


def _sweep_lines(rates, config, models, rounds, medians, results) -> list[str]:
    before = next(iter(medians.values()))
    lines = [
        f"The `sweep` stage's work: {len(rates)} constant Adam rates × {config.train.seeds} "
        f"seeds = {models} models, {config.train.epochs} epochs, batch "
        f"{config.train.batch_size}, each model also evaluated on the test split; trainer "
        f"built and traced inside the timing, in this process, median of {rounds} "
        "round(s), methods alternating.",
        "",
        "| method | s | s / model | speed-up | best rate | mean val_accuracy at it |",
        "|---|---|---|---|---|---|",
    ]
    for name, seconds in medians.items():
        best = summary(curve(results[name]))
        lines.append(
            f"| {name} | {seconds:.1f} | {seconds / models:.3f} | {before / seconds:.1f}× | "
            f"{best['best_lr']:.3g} | {best['best_val_accuracy']:.4f} |"
        )
    old, new = results.values()
    gap = (old["val_accuracy"] - new["val_accuracy"]).abs()
    lines += [
        "",
        f"Same models both ways up to float tolerance: the largest difference in a model's "
        f"final val_accuracy is {gap.max():.4f} ({int((gap > 0).sum())} of {models} differ; "
        "chaotic large rates may end elsewhere).",
    ]
    return lines
