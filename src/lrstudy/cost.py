"""What a study costs before it runs: models, optimizer steps, time and peak memory; its limits.

The ``validate`` stage prints ``study_cost`` and refuses a study whose estimate passes
``limits.hours`` (the whole study from scratch, stage after stage) or ``limits.memory_gb``
(the largest stage), with one line naming the key that drives it, its value and the limit:
a typo such as ``train.epochs: 100000`` stops there instead of training for hours. A user
who means it raises the limit in params.yaml.

Time. A stage is one process: ``PROCESS_SECONDS`` (importing TensorFlow, tracing) plus its
populations. One compiled epoch of a chunk of ``m`` members of the population trainer takes

    steps * STEP_SECONDS + m * (steps * MEMBER_STEP_SECONDS + macs * MAC_SECONDS)

(``macs``: one member's multiply-adds in the epoch, ``epoch_macs``), and drawing a member's
initial weights ``MEMBER_SECONDS``. The four constants
were fitted by ``benchmarks/bench_cost.py`` on the machine of ``benchmarks/cost.md`` (Intel
Xeon, 2 cores shared with other jobs); ``train.loop: fit`` trains one model at a time,
``FIT_FACTOR`` times slower than a population of one (``benchmarks/results.md``). Expect
the estimate within a factor of about 2 of the time a loaded machine of that kind takes.

Memory. ``BASE_BYTES`` (a process that imported TensorFlow and traced a population,
``benchmarks/results.md``: 710 MiB) plus the largest chunk's members (``population.
member_bytes`` and ``population.chunk_size``: the same numbers the trainer chunks by) plus
the data and the decision grid's chunk of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from lrstudy.clock import steps_per_epoch
from lrstudy.config import Config, ModelConfig, RunSpec, split_sizes
from lrstudy.evaluation import PREDICT_ROWS
from lrstudy.population import chunk_size, layer_shapes, member_bytes
from lrstudy.sweep import log_grid

# Fitted by benchmarks/bench_cost.py (benchmarks/cost.md, run 3: the population trainer as
# of 1493c7f, on a loaded 2-core Intel Xeon): seconds per member (drawing its initial
# weights), per optimizer step of a chunk, per member-step, per multiply-add of a member.
MEMBER_SECONDS = 1.2e-3
STEP_SECONDS = 2.4e-4
MEMBER_STEP_SECONDS = 2.1e-5
MAC_SECONDS = 5.5e-11
# benchmarks/cost.md: a fresh process that imports TensorFlow and traces a population.
PROCESS_SECONDS = 6.7
# A further population in the same process (a train@ stage's tuning grid, tuned run and
# budget runs), beyond population_seconds: the Python between its epochs and each member's
# test evaluation (the population and the Keras model to evaluate with are built and
# traced once per stage). Measured 0.08-0.24 s for lr_medium, 0.23-1.48 s for plateau
# (trained epoch by epoch, a ReduceLROnPlateau per member) with load average 5 on the
# 2-core machine of benchmarks/cost.md (benchmarks/bench_tuning.py).
POPULATION_SECONDS = 0.3
# benchmarks/results.md: lrstudy's fit loop 3.71 s per model, a population of 1 0.67 s.
FIT_FACTOR = 5.5
# benchmarks/results.md: peak RSS of a process training a population of one, 710 MiB.
BASE_BYTES = 710 * 2**20
GB = 10**9


@dataclass(frozen=True)
class StageCost:
    """One stage's estimate.

    Attributes:
        stage: its name in dvc.yaml (``train@lr_medium``, ``sweep``, ``lr_find``).
        models: models it trains.
        steps: optimizer steps summed over its models.
        seconds: estimated wall time of its process.
        peak_bytes: estimated peak resident memory of its process.
        epochs_key, epochs: the params key that sets its epochs (or range-test steps) and
            the value: what a limit's message names first.
    """

    stage: str
    models: int
    steps: int
    seconds: float
    peak_bytes: int
    epochs_key: str
    epochs: int


def epoch_macs(
    model_config: ModelConfig, n_features: int, n_classes: int, n_train: int, n_val: int
) -> int:
    """One member's multiply-adds in one epoch: 3 per weight and train row, 1 per val row.

    The forward pass is one multiply-add per kernel weight and row; the backward pass two
    (the gradient of the weights and of the layer's input).
    """
    shapes = layer_shapes(model_config, n_features, n_classes)
    kernel = sum(math.prod(shape) for shape in shapes if len(shape) == 2)
    return kernel * (3 * n_train + n_val)


def population_seconds(
    members: int, epochs: int, steps: int, macs: int, per_chunk: int, seeds: int
) -> float:
    """Seconds to train ``members`` in chunks of ``per_chunk`` for ``epochs`` epochs of ``steps``.

    ``seeds``: how many initial weights are drawn (a population draws each seed's once).
    """
    chunks = math.ceil(members / per_chunk)
    per_epoch = chunks * steps * STEP_SECONDS
    per_epoch += members * (steps * MEMBER_STEP_SECONDS + macs * MAC_SECONDS)
    return seeds * MEMBER_SECONDS + epochs * per_epoch


def _population_stage(
    config: Config,
    stage: str,
    spec: RunSpec,
    members: int,
    epochs_key: str,
    boundary: bool = True,
) -> StageCost:
    """A stage that trains ``members`` models of ``spec`` (with validation) and evaluates them.

    ``boundary``: each model also predicts the decision grid (``evaluate.grid``), as the
    hand-picked run does; the tuning's populations evaluate on test only.
    """
    sizes = split_sizes(
        config.data.n_samples, config.split.test_fraction, config.split.val_fraction
    )
    model, n_features, n_classes = (
        config.model_for(spec),
        config.data.n_features,
        config.data.n_classes,
    )
    steps = steps_per_epoch(sizes["train"], spec.batch_size)
    macs = epoch_macs(model, n_features, n_classes, sizes["train"], sizes["val"])
    per_member = member_bytes(model, n_features, n_classes, spec.batch_size, sizes["val"])
    fit = spec.loop == "fit"
    per_chunk = 1 if fit else chunk_size(members, per_member)
    seconds = population_seconds(members, spec.epochs, steps, macs, per_chunk, len(spec.seeds))
    seconds *= FIT_FACTOR if fit else 1.0
    grid_rows = config.evaluate.grid.points**2 if boundary else 0
    kernel = macs // (3 * sizes["train"] + sizes["val"])
    seconds += members * (grid_rows + sizes["test"]) * kernel * MAC_SECONDS
    return StageCost(
        stage,
        members,
        members * spec.epochs * steps,
        PROCESS_SECONDS + seconds,
        _peak_bytes(config, model, per_chunk * per_member, sizes["test"]),
        epochs_key,
        spec.epochs,
    )


def _peak_bytes(config: Config, model: ModelConfig, chunk_bytes: int, n_test: int = 0) -> int:
    """The process' base, one chunk's tensors, the data and the largest evaluation batch.

    Evaluation is a chunk of the decision grid's rows (``evaluation.PREDICT_ROWS``) or the
    whole test split (``evaluation.evaluate_model``: one batch), through every layer.
    """
    width = config.data.n_features + sum(model.hidden_units) + config.data.n_classes
    data = 3 * 4 * config.data.n_samples * (config.data.n_features + 1)  # raw, split, read
    rows = max(min(PREDICT_ROWS, config.evaluate.grid.points**2), n_test)
    return BASE_BYTES + chunk_bytes + data + 2 * 4 * rows * width


def study_cost(config: Config) -> list[StageCost]:
    """Every training stage's estimate: ``train@<setting>`` in file order, ``sweep``, ``lr_find``.

    The rates of ``suggested`` settings do not change their cost: a placeholder stands in
    for the range test's suggestion.
    """
    from lrstudy.config import LR_SUGGESTIONS
    from lrstudy.sweep_training import sweep_spec

    resolved = config.with_suggestions(dict.fromkeys(LR_SUGGESTIONS, 1e-3))
    costs = []
    for name in config.setting_names:
        section = "settings" if name in config.settings else "suggested"
        own = getattr(config, section)[name].epochs is not None
        key = f"{section}.{name}.epochs" if own else "train.epochs"
        spec = resolved.run(name)
        cost = _population_stage(config, f"train@{name}", spec, len(spec.seeds), key)
        if config.tune is not None and name in config.settings:
            cost = _with_tuning(config, cost, spec)
        costs.append(cost)
    if config.sweep is not None:
        rates = log_grid(config.sweep.min_lr, config.sweep.max_lr, config.sweep.per_decade)
        spec = sweep_spec(config, 1e-3)
        members = len(rates) * len(spec.seeds)
        costs.append(_population_stage(config, "sweep", spec, members, "train.epochs"))
    if config.lr_find is not None:
        costs.append(_range_test(config))
    return costs


def _with_tuning(config: Config, cost: StageCost, spec: RunSpec) -> StageCost:
    """``cost`` of a ``train@`` stage plus its tuning, in the same process.

    Each further population costs ``POPULATION_SECONDS`` on top of its training. Three
    kinds of population (``tune_training.tune_setting``): the grid's rates × the
    tuning seeds, the tuned rate on the evaluation seeds, and the tuned rate on the
    evaluation seeds once per budget below 1 (its epochs cut, ``budget_run``).
    """
    from lrstudy.config.tuning import budget_epochs

    assert config.tune is not None
    rates = log_grid(config.tune.min_lr, config.tune.max_lr, config.tune.per_decade)
    populations = [
        (replace(spec, seeds=config.tune.tuning_seeds), len(rates) * config.tune.seeds),
        (spec, len(spec.seeds)),
    ] + [
        (replace(spec, epochs=budget_epochs(budget, spec.epochs)), len(spec.seeds))
        for budget in config.tune.budgets
        if budget < 1
    ]
    parts = [
        _population_stage(config, cost.stage, run, members, cost.epochs_key, False)
        for run, members in populations
    ]
    return replace(
        cost,
        models=cost.models + sum(part.models for part in parts),
        steps=cost.steps + sum(part.steps for part in parts),
        seconds=cost.seconds
        + sum(part.seconds - PROCESS_SECONDS + POPULATION_SECONDS for part in parts),
        peak_bytes=max([cost.peak_bytes] + [part.peak_bytes for part in parts]),
    )


def _range_test(config: Config) -> StageCost:
    """The ``lr_find`` stage: every seed for ``lr_find.steps`` steps, one population, no val."""
    assert config.lr_find is not None
    sizes = split_sizes(
        config.data.n_samples, config.split.test_fraction, config.split.val_fraction
    )
    model, n_features, n_classes = config.model, config.data.n_features, config.data.n_classes
    seeds, steps = config.train.seeds, config.lr_find.steps
    per_epoch = steps_per_epoch(sizes["train"], config.train.batch_size)
    macs = epoch_macs(model, n_features, n_classes, sizes["train"], 0)
    epochs = math.ceil(steps / per_epoch)
    seconds = population_seconds(seeds, epochs, per_epoch, macs, seeds, seeds)
    chunk = seeds * member_bytes(model, n_features, n_classes, config.train.batch_size, 0)
    return StageCost(
        "lr_find",
        seeds,
        seeds * steps,
        PROCESS_SECONDS + seconds,
        _peak_bytes(config, model, chunk),
        "lr_find.steps",
        steps,
    )


def describe(costs: list[StageCost]) -> list[str]:
    """The cost as ``validate`` prints it: the study's total, then its longest stage."""
    total = sum(cost.seconds for cost in costs)
    peak = max(cost.peak_bytes for cost in costs)
    longest = max(costs, key=lambda cost: cost.seconds)
    return [
        f"study cost (estimate, benchmarks/cost.md): {sum(c.models for c in costs):,} models, "
        f"{sum(c.steps for c in costs):,} optimizer steps, about {_duration(total)} "
        f"from scratch, peak memory about {peak / GB:.1f} GB",
        f"  longest stage: {longest.stage}, {longest.models:,} models, {longest.steps:,} "
        f"steps, about {_duration(longest.seconds)}, {longest.peak_bytes / GB:.1f} GB",
    ]


def limit_problems(config: Config, costs: list[StageCost]) -> list[str]:
    """One line per limit the study passes: the key that drives it, its value, the limit."""
    problems = []
    total = sum(cost.seconds for cost in costs)
    if total > config.limits.hours * 3600:
        worst = max(costs, key=lambda cost: cost.seconds)
        problems.append(
            f"{worst.epochs_key}: {worst.epochs}: the study would take about "
            f"{_duration(total)} ({worst.stage} alone {_duration(worst.seconds)}: "
            f"{worst.models:,} models, {worst.steps:,} optimizer steps; model.hidden_units: "
            f"{config.model.hidden_units}), past limits.hours: {config.limits.hours:g}; "
            f"set limits.hours: {math.ceil(total / 3600)} to run it anyway"
        )
    worst = max(costs, key=lambda cost: cost.peak_bytes)
    if worst.peak_bytes > config.limits.memory_gb * GB:
        problems.append(
            f"model.hidden_units: {config.model.hidden_units}: {worst.stage} would need about "
            f"{worst.peak_bytes / GB:.1f} GB at its peak (data.n_samples: "
            f"{config.data.n_samples}), past limits.memory_gb: {config.limits.memory_gb:g}; "
            f"set limits.memory_gb: {math.ceil(worst.peak_bytes / GB)} to run it anyway"
        )
    return problems


def _duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
