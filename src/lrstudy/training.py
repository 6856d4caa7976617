"""Train one setting's seeds (or any list of members): the population loop or ``fit``.

Two loops run Keras' arithmetic on the same batches (``training_run.order_stream``: one
seeded permutation of the train rows per epoch) with the rates of each run's
``rate_plan.RatePlan``:

* ``fast`` (the default, ``train.loop`` in params.yaml): the population trainer
  (``lrstudy.population``). Every member (a setting's seeds; the LR sweep's rates × seeds)
  trains at once in one compiled epoch, stacked along a member axis, 20 to 70 times faster
  per model than one model at a time (``make bench``). Keras callbacks get their
  epoch-level hooks, one ``CallbackList`` per member (DVCLive logging, Keras'
  ``ReduceLROnPlateau`` cutting that member's rate).
* ``fit`` (``lrstudy.fit_loop``): ``keras.Model.fit``, one model per seed, for callbacks
  that need per-batch hooks (the population refuses those: ``FIT_ONLY_HOOKS``) and as the
  reference the population is tested against.

Both return one ``TrainingResult`` per member: the per-epoch history ``loss``, ``accuracy``,
``val_loss``, ``val_accuracy`` and ``learning_rate`` (the rate of the epoch's first step),
then Prodigy's ``effective_lr`` or Schedule-Free's ``averaging_weight`` after the epoch's
last step (``runlog.OPTIMIZER_KEYS``; no such key for other optimizers), the rate of every
optimizer step and the trained weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lrstudy.config import ModelConfig, RunSpec
from lrstudy.data import Dataset
from lrstudy.executor import Progress, scheduler_address, train_on_cluster
from lrstudy.fit_loop import fit_seed
from lrstudy.population import (
    EpochOutput,
    Member,
    Population,
    chunk_size,
    member_bytes,
)
from lrstudy.rate_plan import plan_callbacks, rate_plan
from lrstudy.runtime import import_keras
from lrstudy.training_run import TrainingResult, order_stream

if TYPE_CHECKING:
    import keras

Callbacks = Callable[[int], Sequence["keras.callbacks.Callback"]]

# Callback hooks ``Model.fit`` calls that the population loop does not: each batch and the
# validation pass run inside the epoch's graph, out of Python's reach.
FIT_ONLY_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


# Schedule keys that are learning rates (a floor, a peak): they scale with the base rate.
RATE_KEYS = ("min_lr", "max_lr", "end_lr")


def at_rate(spec: RunSpec, rate: float) -> RunSpec:
    """``spec`` at base rate ``rate``, the schedule's shape kept.

    Every rate-valued schedule key (``RATE_KEYS``: a cyclic schedule's ``min_lr`` and
    ``max_lr``, a WSD's or plateau's floor ``min_lr``, a polynomial's ``end_lr``) is scaled
    by ``rate / spec.lr``, so the rates stay the same multiples of the base rate
    (a cyclic 0.005..0.05 becomes 0.0005..0.005 at base rate 0.005). Durations, factors
    and ratios are unchanged; a constant schedule has no rate keys.
    """
    factor = float(rate) / spec.lr
    update = {
        key: getattr(spec.schedule, key) * factor
        for key in RATE_KEYS
        if getattr(spec.schedule, key, None) is not None
    }
    return replace(spec, lr=float(rate), schedule=spec.schedule.model_copy(update=update))


def no_callbacks(_member: int) -> Sequence[keras.callbacks.Callback]:
    """No extra callbacks for any member."""
    return ()


def train_setting(
    spec: RunSpec,
    model_config: ModelConfig,
    train: Dataset,
    val: Dataset,
    *,
    n_classes: int,
    callbacks: Callbacks = no_callbacks,
    rates: Sequence[float] | None = None,
) -> Iterator[TrainingResult]:
    """Train every seed of ``spec`` (for each rate of ``rates``, if given) with ``spec.loop``.

    Args:
        spec: the setting's run; ``rates`` replaces its base rate by each rate in turn (the
            LR sweep, the tuning grid), the schedule's shape staying (``at_rate``).
        model_config: the network and optimizer.
        train: training rows.
        val: validation rows.
        n_classes: ``data.n_classes``.
        callbacks: ``f(member index) -> Keras callbacks`` for that member; members run
            rate by rate, seed by seed (index ``rate_index * len(seeds) + seed_index``).
        rates: base rates to train in turn instead of ``spec.lr`` (the LR sweep).

    Yields:
        One ``TrainingResult`` per member, in member order.

    Raises:
        ValueError: as ``train_population`` (a callback with per-batch hooks under ``fast``).
    """
    runs = [spec] if rates is None else [at_rate(spec, rate) for rate in rates]
    if spec.loop == "fit":
        members = [(run, seed) for run in runs for seed in spec.seeds]
        for index, (run, seed) in enumerate(members):
            yield fit_seed(
                run, model_config, seed, callbacks(index), train=train, val=val, n_classes=n_classes
            )
        return
    n_train = len(train)
    members = [Member(seed, rate_plan(run, n_train)) for run in runs for seed in spec.seeds]
    if (address := scheduler_address()) is not None:  # Dask's config names a scheduler
        shared = (model_config, train, val, n_classes, spec.batch_size)
        per_member = member_bytes(model_config, train.x.shape[1], *shared[3:], len(val))
        size = chunk_size(len(members), per_member)  # as train_population's, whatever runs it
        check = reject_fit_only_callbacks
        yield from train_on_cluster(address, cluster_chunk, shared, members, size, callbacks, check)
        return
    population = shared_population(
        model_config, train, val, n_classes=n_classes, batch_size=spec.batch_size
    )
    yield from train_population(population, members, callbacks)


# The last population ``shared_population`` built, with the datasets it was built on.
_LAST: list[tuple[Dataset, Dataset | None, Population]] = []


def shared_population(
    model_config: ModelConfig,
    train: Dataset,
    val: Dataset | None,
    *,
    n_classes: int,
    batch_size: int,
) -> Population:
    """A ``Population`` for these arguments: the last one built, when it was built for them.

    A stage trains several populations of one network one after another (a setting's
    seeds, its tuning grid, its tuned rate, each budget); built once, the compiled epochs
    are traced and optimised once (about a second each time otherwise, ``make bench``).
    The same network and optimizer (equal ``model_config``), the very same ``train`` and
    ``val`` objects, classes and batch size reuse it; anything else builds a new one,
    which replaces it. A population's results do not depend on what it trained before:
    its state lives in the arrays each call gets.
    """
    if _LAST:
        last_train, last_val, population = _LAST[0]
        if (
            last_train is train
            and last_val is val
            and population.model_config == model_config
            and population.n_classes == n_classes
            and population.batch_size == batch_size
        ):
            return population
    population = Population(model_config, train, val, n_classes=n_classes, batch_size=batch_size)
    _LAST[:] = [(train, val, population)]
    return population


def train_population(
    population: Population, members: Sequence[Member], callbacks: Callbacks = no_callbacks
) -> Iterator[TrainingResult]:
    """Train ``members`` together, in chunks of ``population.chunk_size`` when memory asks.

    Yields:
        One ``TrainingResult`` per member, in order.

    Raises:
        ValueError: if members differ in epochs or steps per epoch, or a callback overrides a
            hook of ``FIT_ONLY_HOOKS`` or sets ``stop_training`` (one member cannot stop
            alone in a population: train such a setting with ``train.loop: fit``).
    """
    if {(m.plan.epochs, m.plan.steps_per_epoch) for m in members} != {
        (members[0].plan.epochs, population.steps_per_epoch)
    }:
        raise ValueError("a population's members share their epochs and steps per epoch")
    per_member = member_bytes(
        population.model_config,
        population.n_features,
        population.n_classes,
        population.batch_size,
        population.n_val,
    )
    size = chunk_size(len(members), per_member)
    starts = range(0, len(members), size)
    progress = Progress("training", len(starts), len(members)) if len(starts) > 1 else None
    for start in starts:
        chunk = members[start : start + size]
        yield from _train_chunk(population, chunk, lambda i, s=start: callbacks(s + i))
        if progress is not None:  # one chunk is the whole stage: its own lines say enough
            progress.chunk_done(len(chunk))


def cluster_chunk(
    model_config: ModelConfig,
    train: Dataset,
    val: Dataset,
    n_classes: int,
    batch_size: int,
    chunk: Sequence[Member],
) -> list[TrainingResult]:
    """A Dask worker's task (``executor.train_on_cluster``): one chunk, no callbacks."""
    population = Population(model_config, train, val, n_classes=n_classes, batch_size=batch_size)
    return _train_chunk(population, chunk, no_callbacks)


def _train_chunk(
    population: Population, members: Sequence[Member], callbacks: Callbacks
) -> list[TrainingResult]:
    """Train one chunk of members for their epochs; per-member callbacks between epochs.

    Members whose rates are all planned train in blocks of epochs, one graph call each
    (``Population.block_epochs``), their callbacks then called epoch by epoch as if between
    them: the population's callbacks see only the rate and ``stop_training``, which a
    planned rate ignores and which stops the stage either way. A plateau member's rate is
    set between epochs by its ``ReduceLROnPlateau``, so a chunk with one trains epoch by
    epoch.
    """
    plans = [member.plan for member in members]
    shims = [_MemberModel(plan.lr, population.metrics) for plan in plans]
    lists = _callback_lists(plans, shims, callbacks)
    # One stream per seed: the sweep's members of one seed share its batches (and the
    # graph gets each seed's order once).
    streams = {m.seed: order_stream(population.n_train, m.seed) for m in members}
    position = {seed: k for k, seed in enumerate(streams)}
    member_streams = [position[m.seed] for m in members]
    state = population.start([member.seed for member in members])
    initial = population.train_loss(state)
    for callback_list in lists:
        callback_list.on_train_begin()
    epochs = plans[0].epochs
    planned = all(plan.rates is not None for plan in plans)
    block = population.block_epochs(len(members)) if planned else 1
    hooked = [(m, hooks, shims[m]) for m, hooks in enumerate(lists) if hooks is not _NO_CALLBACKS]
    outs: list[EpochOutput] = []
    for start in range(0, epochs, block):
        block_range = range(start, min(start + block, epochs))
        orders = np.stack([[next(s) for s in streams.values()] for _ in block_range])
        rates = np.stack(
            [
                [_epoch_rates(p, h, e) for p, h in zip(plans, shims, strict=True)]
                for e in block_range
            ]
        )
        state, block_outs = population.run_epochs(state, orders, rates, member_streams)
        for epoch, out in zip(block_range, block_outs, strict=True):
            _epoch_hooks(epoch, out, hooked)
        outs.extend(block_outs)
    for callback_list in lists:
        callback_list.on_train_end()
    state = state.as_numpy()
    logs = [_epoch_logs(out) for out in outs]
    columns = {key: np.stack([epoch[key] for epoch in logs], 1) for key in logs[0]}
    used = np.stack([out.rates for out in outs], 1)  # (members, epochs, steps_per_epoch)
    return [
        TrainingResult(
            state.member_weights(m),
            {key: column[m].tolist() for key, column in columns.items()},
            used[m].reshape(-1),
            plans[m],
            state.member_optimizer_state(
                m, _last_rate(plans[m], shims[m]), population.optimizer.keras_slots
            ),
            float(initial[m]),
        )
        for m in range(len(members))
    ]


def _callback_lists(
    plans: Sequence[Any], shims: Sequence[_MemberModel], callbacks: Callbacks
) -> list[Any]:
    """Each member's ``CallbackList`` (its plateau scheduler, then ``callbacks(member)``).

    ``_NO_CALLBACKS`` for a member without any: building a list per member costs more than
    a sweep member's epoch.

    Raises:
        ValueError: as ``reject_fit_only_callbacks``.
    """
    keras = import_keras()
    lists = []
    for index, (plan, shim) in enumerate(zip(plans, shims, strict=True)):
        extra = list(callbacks(index))
        reject_fit_only_callbacks(extra, keras.callbacks.Callback)
        every = [*(plan_callbacks(plan) if plan.rates is None else []), *extra]
        lists.append(keras.callbacks.CallbackList(every, model=shim) if every else _NO_CALLBACKS)
    return lists


def _epoch_logs(out: EpochOutput) -> dict[str, np.ndarray]:
    """One epoch's logs of every member, ``(members,)`` per key, in a history's key order.

    ``runlog.HISTORY_KEYS`` (the rate: each member's first step's), then the optimizer's
    own (Prodigy's ``effective_lr``, Schedule-Free's ``averaging_weight``:
    ``runlog.OPTIMIZER_KEYS``).
    """
    logs = {
        "loss": out.loss,
        "accuracy": out.accuracy,
        "val_loss": out.val_loss,
        "val_accuracy": out.val_accuracy,
        "learning_rate": out.rates[:, 0],
    }
    return logs | out.optimizer_logs


def _epoch_hooks(epoch: int, out: EpochOutput, hooked: Sequence[tuple[int, Any, Any]]) -> None:
    """Call the epoch hooks of the members with callbacks, ``(member, its list, its shim)``.

    A member without callbacks costs nothing here (the LR sweep's 320): its history is
    read from the stacked epochs afterwards.

    Raises:
        ValueError: if a callback set ``stop_training``.
    """
    if not hooked:
        return
    columns = {key: values.tolist() for key, values in _epoch_logs(out).items()}
    for m, callback_list, shim in hooked:
        callback_list.on_epoch_begin(epoch)
        callback_list.on_epoch_end(epoch, {key: column[m] for key, column in columns.items()})
        if shim.stop_training:
            raise ValueError(
                "a callback stopped training early, which one member of a population "
                "cannot do alone; set train.loop: fit"
            )


def _last_rate(plan: Any, shim: _MemberModel) -> float:
    """The rate a member's optimizer holds after training, as ``fit`` leaves it.

    The last step's planned rate, or its plateau rate (a cut at the last epoch's end
    included).
    """
    return float(shim.optimizer.learning_rate if plan.rates is None else plan.rates[-1])


class _NoCallbacks:
    """A member without callbacks: every epoch-level hook does nothing."""

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...


_NO_CALLBACKS = _NoCallbacks()


def _epoch_rates(plan: Any, shim: _MemberModel, epoch: int) -> np.ndarray:
    """A member's float32 rates in epoch ``epoch``: its plan's, or its plateau rate throughout."""
    rates = plan.epoch_rates(epoch)
    if rates is None:
        return np.full(plan.steps_per_epoch, shim.optimizer.learning_rate, np.float32)
    return rates


class _MemberOptimizer:
    """What a Keras callback reads and sets of one member's optimizer: its float32 rate."""

    def __init__(self, rate: float) -> None:
        self.learning_rate = rate

    @property
    def learning_rate(self) -> np.float32:
        return self._rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._rate = np.float32(value)  # Keras' optimizer keeps its rate in a float32 variable


class _MemberModel:
    """The model a member's callbacks see: its optimizer's rate and ``stop_training``.

    ``ReduceLROnPlateau`` in ``mode: auto`` asks ``model.metrics`` which way a metric
    improves: ``metrics`` are a compiled model's (``Population.metrics``).
    """

    def __init__(self, rate: float, metrics: list[object]) -> None:
        self.optimizer = _MemberOptimizer(rate)
        self.stop_training = False
        self.metrics = metrics

    def __getattr__(self, name: str) -> object:
        # Only for what __init__ did not set: weights, save, layers, ... do not exist per
        # member inside a population.
        raise ValueError(
            f"a callback asked for model.{name}, which a member of the population training "
            "loop does not have (its callbacks see only the optimizer's rate, stop_training "
            "and metrics); set train.loop: fit"
        )


def reject_fit_only_callbacks(callbacks: Sequence[object], base: type) -> None:
    """Raise ``ValueError`` naming each callback that overrides a hook of ``FIT_ONLY_HOOKS``.

    ``base`` is ``keras.callbacks.Callback``: a hook a callback inherits from it unchanged
    does nothing, so only overridden ones count, in its class or set on the instance
    (``keras.callbacks.LambdaCallback(on_batch_end=...)``).
    """
    problems = [
        f"{type(callback).__name__} ({', '.join(hooks)})"
        for callback in callbacks
        if (
            hooks := [
                hook
                for hook in FIT_ONLY_HOOKS
                if getattr(getattr(callback, hook, None), "__func__", None)
                is not getattr(base, hook)
            ]
        )
    ]
    if problems:
        raise ValueError(
            "the population training loop calls only epoch-level callback hooks, but "
            + "; ".join(problems)
            + " act per batch or per validation pass; set train.loop: fit to use them"
        )
