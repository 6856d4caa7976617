"""The learning-rate range test: raise the rate every step, watch the training loss.

Smith's LR range test ("Cyclical Learning Rates for Training Neural Networks", 2017, §3.3)
as fastai's ``lr_find`` runs it: from a fresh model, the rate grows exponentially from
``start_lr`` to ``end_lr`` over ``steps`` optimizer steps; the training loss of every
step is smoothed with a bias-corrected exponential moving average, and the test stops
once the smoothed loss exceeds ``diverge_factor`` times its best. Suggestions are read
off the smoothed curve with fastai's rules (``fastai/callback/schedule.py``: ``minimum``,
``steep``, ``valley``), reimplemented here.

Everything here is NumPy on arrays except ``range_test`` (one seed, Keras'
``train_on_batch``) and ``population_range_tests`` (every seed at once, the population
trainer), which train (Keras is imported inside them, so this module stays light for
plotting and validation), and ``range_tests``, which runs them and collects what the
lr_find stage writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lrstudy.runlog import seed_key

if TYPE_CHECKING:
    from lrstudy.config import LrFindConfig, ModelConfig
    from lrstudy.data import Dataset

SUGGESTIONS = ("minimum", "steep", "valley")
# fastai leaves out the first tenth of the steps (the optimizer's start-up) and the last
# five (the blow-up) before it suggests anything: ``lrs[num_it//10:-5]``.
SKIP_START_FRACTION = 10
SKIP_END = 5
# A curve whose smoothed loss varies by less than this fraction of its level is flat.
FLAT_RELATIVE_RANGE = 1e-3
# The rules read a curve only up to where it blew up: its first non-finite smoothed loss or
# the first step above this many times its lowest (fastai's stop_div default), whatever
# ``lr_find.diverge_factor`` let the test run on to.
RULE_DIVERGE_FACTOR = 4.0


def exponential_rates(start_lr: float, end_lr: float, steps: int) -> np.ndarray:
    """The rate of each step: ``start_lr * (end_lr / start_lr) ** (i / (steps - 1))``.

    Args:
        start_lr: Rate of the first step (> 0).
        end_lr: Rate of the last step (> start_lr).
        steps: Number of optimizer steps (≥ 2).

    Returns:
        Shape ``(steps,)``, float64, from ``start_lr`` to ``end_lr`` inclusive, evenly
        spaced on a log axis (fastai's ``ExponentialLR`` schedule of ``lr_find``).

    Raises:
        ValueError: if the bounds or the step count are out of range.
    """
    if not (0 < start_lr < end_lr) or steps < 2:
        raise ValueError(
            f"need 0 < start_lr < end_lr and steps >= 2; got {start_lr}, {end_lr}, {steps}"
        )
    return start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))


def smooth(losses: Sequence[float] | np.ndarray, beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction (Adam's, Kingma & Ba 2015, §3).

    ``avg_i = beta * avg_{i-1} + (1 - beta) * loss_i`` from ``avg_{-1} = 0``, reported as
    ``avg_i / (1 - beta ** (i + 1))`` so the start is not pulled toward zero (fastai's
    ``AvgSmoothLoss``). A non-finite loss makes it and everything after it non-finite.

    Args:
        losses: Training loss per step, shape ``(n,)``.
        beta: Weight of the past, in [0, 1); 0 returns the losses unchanged.

    Returns:
        The smoothed losses, shape ``(n,)``, float64.
    """
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1); got {beta}")
    values = np.asarray(losses, dtype=np.float64)
    smoothed = np.empty_like(values)
    average = 0.0
    for index, loss in enumerate(values):
        average = beta * average + (1 - beta) * loss
        smoothed[index] = average / (1 - beta ** (index + 1))
    return smoothed


def divergence_step(smoothed: Sequence[float] | np.ndarray, diverge_factor: float) -> int | None:
    """The first step at which the smoothed loss diverged, or ``None`` if it never did.

    A step diverged when its smoothed loss is not finite or exceeds ``diverge_factor``
    times the lowest smoothed loss before it (fastai's ``stop_div``); the range test stops
    after it, so a kept curve ends at that step.
    """
    best = math.inf
    for index, value in enumerate(np.asarray(smoothed, dtype=np.float64)):
        if not math.isfinite(value) or (index > 0 and value > diverge_factor * best):
            return index
        best = min(best, value)
    return None


@dataclass(frozen=True)
class Suggestions:
    """Rates suggested from one smoothed loss curve; ``None`` where a rule finds none.

    ``reason`` says why there is no suggestion (empty when every rule gave one).
    """

    minimum: float | None
    steep: float | None
    valley: float | None
    reason: str = ""

    def as_dict(self) -> dict[str, float | None]:
        """``{suggestion name: rate or None}`` in ``SUGGESTIONS`` order."""
        return {name: getattr(self, name) for name in SUGGESTIONS}


def minimum_rule(rates: np.ndarray, losses: np.ndarray) -> float | None:
    """A tenth of the rate at the lowest loss (fastai ``minimum``).

    At the minimum the rate is already too high to train with; one order of magnitude
    below is the rule of thumb. ``None`` if the loss never falls below its first value.
    """
    lowest = int(np.argmin(losses))
    return float(rates[lowest]) / 10 if losses[lowest] < losses[0] else None


def steep_rule(rates: np.ndarray, losses: np.ndarray) -> float | None:
    """The rate where the loss falls fastest against log rate (fastai ``steep``).

    The slope between neighbouring points is ``(L[i+1] - L[i]) / (ln r[i+1] - ln r[i])``;
    the suggestion is ``r[i]`` at the most negative slope (the start of the steepest
    segment, as fastai returns it; pytorch-lr-finder and Lightning pick the same point).
    ``None`` if the loss never falls.
    """
    slopes = np.diff(losses) / np.diff(np.log(rates))
    steepest = int(np.argmin(slopes))
    return float(rates[steepest]) if slopes[steepest] < 0 else None


def valley_rule(rates: np.ndarray, losses: np.ndarray) -> float | None:
    """About halfway along the longest stretch of falling loss (fastai ``valley``).

    The longest valley is the longest strictly decreasing subsequence of the losses
    (``lds[i]``: its length when it ends at ``i``; the first ``i`` with the largest
    ``lds`` ends it). With ``start = end - lds[end]`` and ``third = (end - start) / 3``
    the suggestion is ``rates[start + int(third) + int(third / 2)]``, fastai's index
    (``start`` clamped at 0). ``None`` if the loss never falls.
    """
    count = len(losses)
    longest = [1] * count
    for later in range(1, count):
        for earlier in range(later):
            if losses[later] < losses[earlier]:
                longest[later] = max(longest[later], longest[earlier] + 1)
    end = int(np.argmax(longest))
    if longest[end] < 2:
        return None
    start = end - longest[end]
    third = (end - start) / 3
    return float(rates[max(0, start + int(third) + int(third / 2))])


def suggest(
    rates: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
    steps: int | None = None,
) -> Suggestions:
    """Apply every rule to a smoothed loss curve, after fastai's trimming.

    Args:
        rates: The rate of each kept step, shape ``(n,)``, increasing.
        smoothed: The smoothed loss of each kept step, shape ``(n,)``.
        steps: The steps the test was set to run (``lr_find.steps``); the first
            ``steps // 10`` and the last 5 kept points are left out, as in fastai.
            Defaults to ``n``.

    Returns:
        The three suggestions, read from the curve up to where it blew up
        (``RULE_DIVERGE_FACTOR``); all ``None`` with a ``reason`` when fewer than 3 points
        are left (saying so when the loss blew up too early) or the loss is flat
        (varies by less than 0.1 % of its level); a rule
        that finds nothing (the loss never falls the way it looks for) gives ``None``
        and is named in ``reason``.
    """
    rates = np.asarray(rates, dtype=np.float64)
    losses = np.asarray(smoothed, dtype=np.float64)
    if rates.shape != losses.shape:
        raise ValueError(f"rates {rates.shape} and losses {losses.shape} differ in shape")
    blown = divergence_step(losses, RULE_DIVERGE_FACTOR)
    if blown is not None:
        rates, losses = rates[: blown + 1], losses[: blown + 1]
    begin = (steps if steps is not None else len(rates)) // SKIP_START_FRACTION
    rates, losses = rates[begin : len(rates) - SKIP_END], losses[begin : len(losses) - SKIP_END]
    if len(losses) < 3:
        if blown is not None:
            reason = (
                f"the loss blew up at step {blown}, before {begin + 3 + SKIP_END} steps "
                "(fastai leaves out the first tenth and the last 5): no rate to judge; "
                "lower lr_find.start_lr or raise lr_find.steps"
            )
        else:
            reason = f"only {len(losses)} usable steps (need 3)"
        return Suggestions(None, None, None, reason)
    level = float(np.max(np.abs(losses)))
    if float(np.ptp(losses)) <= FLAT_RELATIVE_RANGE * level:
        return Suggestions(None, None, None, "the loss is flat: no rate trains faster")
    found = Suggestions(
        minimum_rule(rates, losses), steep_rule(rates, losses), valley_rule(rates, losses)
    )
    missing = [name for name, rate in found.as_dict().items() if rate is None]
    if missing:
        reason = f"no {' or '.join(missing)} suggestion: the loss never falls enough"
        return Suggestions(**found.as_dict(), reason=reason)
    return found


def median_suggestions(
    per_seed: Mapping[int, Mapping[str, float | None]],
) -> dict[str, float | None]:
    """Per suggestion, the median over the seeds that have one (``None`` if none has).

    The median of an odd number of seeds is one seed's own suggestion; of an even number,
    the geometric mean of the middle two (the median on a log axis).
    """
    result: dict[str, float | None] = {}
    for name in SUGGESTIONS:
        values = sorted(v for s in per_seed.values() if (v := s.get(name)) is not None)
        result[name] = float(np.exp(np.median(np.log(values)))) if values else None
    return result


def range_test(
    model_config: ModelConfig,
    train: Dataset,
    batch_size: int,
    seed: int,
    rates: np.ndarray,
    diverge_factor: float,
    beta: float,
    *,
    n_classes: int,
) -> np.ndarray:
    """Run the range test once: one optimizer step per rate on a fresh seeded model.

    Batches come from the training set reshuffled every pass (seeded), as in training;
    each step's rate is set on the optimizer before the step, and its loss is the
    batch's training loss from that step's forward pass. The test stops after the first
    step whose smoothed loss diverged (``divergence_step``).

    Args:
        model_config: The network and optimizer to test.
        train: The training split.
        batch_size: Rows per step.
        seed: Seeds weights and batch order (``keras.utils.set_random_seed``).
        rates: The rate of each step, shape ``(steps,)``.
        diverge_factor: Stop once the smoothed loss exceeds this times its best.
        beta: Smoothing weight of ``smooth``.
        n_classes: Classes the model predicts (``data.n_classes``).

    Returns:
        The raw training loss of every step run, shape ``(k,)`` with ``k <= steps``.
    """
    from lrstudy.model import build_model, compile_model
    from lrstudy.runtime import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    model = build_model(model_config, n_features=train.x.shape[1], n_classes=n_classes)
    compile_model(model, model_config, float(rates[0]))
    order = np.random.default_rng(seed)
    labels = train.y.astype(np.float32)
    batches: list[np.ndarray] = []
    losses: list[float] = []
    for rate in rates:
        if not batches:
            permutation = order.permutation(len(train))
            batches = [permutation[i : i + batch_size] for i in range(0, len(train), batch_size)]
            batches.reverse()
        rows = batches.pop()
        model.optimizer.learning_rate.assign(float(rate))
        logs = model.train_on_batch(train.x[rows], labels[rows], return_dict=True)
        losses.append(float(logs["loss"]))
        if divergence_step(smooth(losses, beta), diverge_factor) is not None:
            break
    return np.asarray(losses, dtype=np.float64)


def population_range_tests(
    model_config: ModelConfig,
    train: Dataset,
    batch_size: int,
    seeds: Sequence[int],
    rates: np.ndarray,
    *,
    n_classes: int,
) -> np.ndarray:
    """Every seed's range test at once, as one population (``lrstudy.population``).

    Each member is ``range_test``'s run for its seed (the same initial weights, batches and
    rates), trained for all ``len(rates)`` steps: the divergence stop is applied afterwards
    (``kept_steps``), which keeps the same steps because the smoothing looks only back.

    Returns:
        The raw training loss of every step (before its update), shape
        ``(len(seeds), len(rates))``, float64.
    """
    from lrstudy.population import Population
    from lrstudy.training_run import order_stream

    population = Population(model_config, train, None, n_classes=n_classes, batch_size=batch_size)
    per_epoch = population.steps_per_epoch
    epochs = math.ceil(len(rates) / per_epoch)
    padded = np.zeros(epochs * per_epoch, np.float32)  # past the last step: rate 0, ignored
    padded[: len(rates)] = rates
    state = population.start(seeds)
    streams = [order_stream(len(train), seed) for seed in seeds]
    block = population.block_epochs(len(seeds))
    losses = []
    for start in range(0, epochs, block):
        block_range = range(start, min(start + block, epochs))
        orders = np.stack([np.stack([next(stream) for stream in streams]) for _ in block_range])
        block_rates = np.stack(
            [
                np.tile(padded[e * per_epoch : (e + 1) * per_epoch], (len(seeds), 1))
                for e in block_range
            ]
        )
        state, outs = population.run_epochs(state, orders, block_rates)
        losses += [out.step_losses for out in outs]
    return np.concatenate(losses, axis=1)[:, : len(rates)].astype(np.float64)


def kept_steps(losses: np.ndarray, diverge_factor: float, beta: float) -> np.ndarray:
    """The steps a range test keeps: up to and including its first diverged step."""
    stop = divergence_step(smooth(losses, beta), diverge_factor)
    return losses if stop is None else losses[: stop + 1]


def range_tests(
    settings: LrFindConfig,
    model_config: ModelConfig,
    train: Dataset,
    batch_size: int,
    seeds: Sequence[int],
    progress: Callable[[str], None] = print,
    *,
    n_classes: int,
    loop: str = "fast",
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Run the range test once per seed and suggest rates from each seed's curve.

    Args:
        settings: Params ``lr_find``: the rates (``start_lr``, ``end_lr``, ``steps``),
            ``diverge_factor`` and ``smoothing``.
        model_config: The network and optimizer to test.
        train: The training split.
        batch_size: Rows per step.
        seeds: The study's seeds, one range test each.
        progress: Called with one line per seed (steps run and its suggestions).
        n_classes: Classes the network predicts (``data.n_classes``).
        loop: ``train.loop``: ``fast`` runs every seed's test in one population
            (``population_range_tests``), ``fit`` one ``range_test`` per seed.

    Returns:
        The curves, one row per seed and step run: ``seed``, ``step``, ``lr``, ``loss``
        (raw) and ``smoothed_loss``; and the suggestions document: under
        ``suggestions`` the median over seeds of each suggestion (``median_suggestions``),
        under ``seeds`` (keys ``seed_<s>``) each seed's suggestions, ``steps_run``,
        ``diverged`` and ``reason``.

    Raises:
        ValueError: if ``seeds`` is empty or the rate settings are out of range.
    """
    rates = exponential_rates(settings.start_lr, settings.end_lr, settings.steps)
    if loop == "fit":
        curves = [
            range_test(
                model_config,
                train,
                batch_size,
                seed,
                rates,
                settings.diverge_factor,
                settings.smoothing,
                n_classes=n_classes,
            )
            for seed in seeds
        ]
    else:
        every = population_range_tests(
            model_config, train, batch_size, seeds, rates, n_classes=n_classes
        )
        curves = [kept_steps(row, settings.diverge_factor, settings.smoothing) for row in every]
    frames, per_seed = [], {}
    for seed, losses in zip(seeds, curves, strict=True):
        smoothed = smooth(losses, settings.smoothing)
        kept = rates[: len(losses)]
        found = suggest(kept, smoothed, settings.steps)
        per_seed[seed] = {
            **found.as_dict(),
            "steps_run": len(losses),
            "diverged": divergence_step(smoothed, settings.diverge_factor) is not None,
            "reason": found.reason,
        }
        frames.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "step": range(len(losses)),
                    "lr": kept,
                    "loss": losses,
                    "smoothed_loss": smoothed,
                }
            )
        )
        progress(f"lr_find seed {seed}: {len(losses)} steps, {found.as_dict()}")
    document = {
        "suggestions": median_suggestions(per_seed),
        "seeds": {seed_key(seed): values for seed, values in per_seed.items()},
    }
    return pd.concat(frames, ignore_index=True), document
