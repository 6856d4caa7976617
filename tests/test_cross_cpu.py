"""Same bytes on other x86-64 CPUs: the stages under QEMU's emulation of an Intel and an
AMD CPU (``benchmarks/cross_cpu.py``, ``make cross-cpu``), and the pin that makes it so.
"""

from __future__ import annotations

import copy

import pytest

from lrstudy.config import ACTIVATIONS, OPTIMIZERS, parse_config
from lrstudy.data import generate, split

from .conftest import benchmark_module, tiny_params

# Ops whose TensorFlow CPU kernels start from the CPU's approximate reciprocal or reciprocal
# square root (Eigen's fast math): their last bits differ between CPU makers. Measured: each
# op on 4099 and 65536 random inputs natively and under QEMU's ``-cpu Haswell`` and
# ``-cpu EPYC-Rome`` (which compute RCPPS and RSQRTPS exactly); these differed by 1-9 units
# in the last place, while Exp, Log, Log1p, Sqrt, RealDiv, DivNoNan, Pow, Sigmoid,
# SigmoidGrad, Tanh, TanhGrad, Softmax, LogSoftmax, Elu, EluGrad, Selu, SeluGrad, Softplus,
# Relu, ReluGrad, Erf and MatMul were identical.
APPROXIMATE_OPS = {"Reciprocal", "Inv", "Rsqrt", "ReciprocalGrad", "RsqrtGrad", "Erfc"}
# Configs whose compiled epoch still runs one, where no gradient pin reaches (README
# "Reproducibility"): Keras' exact gelu is ``0.5 * x * erfc(-x / sqrt(2))`` (forward pass);
# Keras' RMSprop divides by ``sqrt(velocity + epsilon)``, which Grappler turns into Rsqrt.
KNOWN_APPROXIMATE = {"gelu": {"Erfc"}, "rmsprop": {"Rsqrt"}}


def _cross_cpu():
    return benchmark_module("cross_cpu")


def only_first_setting(params: dict) -> None:
    """Keep the first setting (a constant rate), the one trained: the study's others
    include schedules some optimizers refuse (schedule_free_adamw with one_cycle); and no
    range test (``lr_find`` refuses prodigy as the model's optimizer)."""
    first = next(iter(params["settings"]))
    params["settings"] = {first: params["settings"][first]}
    params["suggested"] = {}
    params.pop("lr_find", None)


def epoch_ops(params: dict) -> set[str]:
    """Op types the population's compiled epoch (every step, validation) runs for ``params``.

    Those of the graph TensorFlow runs, after Grappler rewrote the traced one: Grappler
    turns ``x / sqrt(y)`` into ``x * Rsqrt(y)`` and ``1 / x`` into ``Reciprocal(x)``, and
    fuses chains of element-wise ops into ``_UnaryOpsComposition`` (listed by their names).
    """
    import numpy as np
    from tensorflow.python.eager import context

    from lrstudy.population import Population

    config = parse_config(tiny_params(params))
    parts = split(generate(config.data), config.split)
    spec = config.run(next(iter(config.settings)))
    population = Population(
        config.model,
        parts["train"],
        parts["val"],
        n_classes=config.data.n_classes,
        batch_size=spec.batch_size,
    )
    orders = np.tile(np.arange(population.n_train, dtype=np.int32), (2, 1))
    rates = np.full((2, population.steps_per_epoch), 0.01, np.float32)
    state = population.start([0, 1])
    context.enable_run_metadata()
    try:
        population.run_epoch(state, orders, rates)
        metadata = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    return _graph_ops(metadata)


def _graph_ops(metadata) -> set[str]:
    """Op types of the optimized graphs in TensorFlow's run metadata (``epoch_ops``)."""
    nodes = []
    for function in metadata.function_graphs:
        for graph in (function.post_optimization_graph, *function.partition_graphs):
            nodes += graph.node
            for library_function in graph.library.function:
                nodes += library_function.node_def
    ops = {node.op for node in nodes}
    for node in nodes:
        if node.op == "_UnaryOpsComposition":
            ops.update(name.decode() for name in node.attr["op_names"].list.s)
    assert ops, "no graph recorded"
    return ops


# Every activation with both outputs, and every optimizer with both, each activation paired
# with the next optimizer in turn, and Schedule-Free with every activation: 34 graphs
# instead of all 108 triples. The activation's ops (forward and gradient) and the
# optimizer's (the update) are the only ones that vary. What an optimizer reads never
# meets an activation op in one element-wise chain: every gradient comes out of a MatMul
# (a weight's) or a Sum over the batch (a bias'), where Grappler's rewrites and fusions
# stop. What it writes feeds the next step's forward pass through a variable, except
# Schedule-Free's: the epoch validates at its averaged weights (``averaged_weights``),
# computed element-wise and fed straight into the forward pass of the same graph, so it
# is traced with every activation. (All 108 traced once: no approximate op beyond
# these cases' and no arithmetic op type missing from them.)
ROTATED_CASES = [
    (activation, n_classes, OPTIMIZERS[i % len(OPTIMIZERS)])
    for i, activation in enumerate(ACTIVATIONS)
    for n_classes in (2, 3)
]
GRAPH_CASES = ROTATED_CASES + [
    (activation, n_classes, "schedule_free_adamw")
    for activation in ACTIVATIONS
    for n_classes in (2, 3)
    if (activation, n_classes, "schedule_free_adamw") not in ROTATED_CASES
]


def test_graph_cases_cover_every_activation_and_optimizer_with_both_outputs() -> None:
    pairs = {(activation, n) for activation, n, _ in GRAPH_CASES}
    assert pairs == {(activation, n) for activation in ACTIVATIONS for n in (2, 3)}
    pairs = {(optimizer, n) for _, n, optimizer in GRAPH_CASES}
    assert pairs == {(optimizer, n) for optimizer in OPTIMIZERS for n in (2, 3)}
    schedule_free = {
        (a, n) for a, n, optimizer in GRAPH_CASES if optimizer == "schedule_free_adamw"
    }
    assert schedule_free == {(activation, n) for activation in ACTIVATIONS for n in (2, 3)}
    assert len(GRAPH_CASES) == len(set(GRAPH_CASES)) == 34


@pytest.mark.parametrize(("activation", "n_classes", "optimizer"), GRAPH_CASES)
def test_training_graph_has_no_approximate_op(
    default_params, activation: str, n_classes: int, optimizer: str
) -> None:
    """The compiled epoch (forward, cross-entropy gradient, optimizer step, validation) of
    every activation, output (sigmoid, softmax) and optimizer (``GRAPH_CASES``) uses no op
    whose kernel rounds as the CPU maker's approximate-reciprocal instructions do, gelu's
    and rmsprop's known ones aside."""
    params = copy.deepcopy(default_params)
    params["data"]["n_classes"] = n_classes
    params["model"].update({"activation": activation, "optimizer": optimizer})
    only_first_setting(params)
    ops = epoch_ops(params)
    # The binary cross-entropy's Log1p, whose gradient lrstudy replaces; the softmax's loss
    # is computed from its logits (LogSoftmax, no Log of probabilities).
    assert ("Log1p" in ops) == (n_classes == 2)
    assert ("LogSoftmax" in ops) == (n_classes > 2)
    found = APPROXIMATE_OPS & ops
    known = KNOWN_APPROXIMATE.get(activation, set()) | KNOWN_APPROXIMATE.get(optimizer, set())
    assert found == known, sorted(found)


def fit_ops(params: dict) -> set[str]:
    """Op types of the graphs ``fit`` runs (train step with the optimizer's update,
    validation) for ``params``'s first setting, one epoch, after Grappler (``epoch_ops``)."""
    from dataclasses import replace

    from tensorflow.python.eager import context

    from lrstudy.fit_loop import fit_seed

    config = parse_config(tiny_params(params))
    parts = split(generate(config.data), config.split)
    spec = replace(config.run(next(iter(config.settings))), epochs=1)
    context.enable_run_metadata()
    try:
        fit_seed(
            spec, config.model_for(spec), 0, train=parts["train"], val=parts["val"], n_classes=2
        )
        metadata = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    return _graph_ops(metadata)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_fit_graph_has_no_approximate_op(default_params, optimizer: str) -> None:
    """``fit``'s compiled step with every optimizer: Keras' classes or lrstudy's (Keras'
    Schedule-Free's ``1.0 / step`` became a Reciprocal: ``lrstudy.keras_optimizers``)."""
    params = copy.deepcopy(default_params)
    params["data"]["n_classes"] = 2
    params["model"].update({"activation": "relu", "optimizer": optimizer})
    only_first_setting(params)
    ops = fit_ops(params)
    assert "Log1p" in ops
    assert APPROXIMATE_OPS & ops == KNOWN_APPROXIMATE.get(optimizer, set())


@pytest.mark.slow
def test_stages_give_the_same_bytes_on_an_emulated_intel_avx2_cpu() -> None:
    """The train stage (training, evaluation) under an emulated Haswell (AVX2, no AVX-512) writes
    byte-identical models, logs and evaluations to this machine's."""
    cross_cpu = _cross_cpu()
    problem = cross_cpu.qemu_problem()
    if problem:
        pytest.skip(f"{problem}; .ci/install-qemu installs it where it can (root, apt-get)")
    native, haswell = cross_cpu.check(runs=cross_cpu.RUNS[:2], jobs=2)
    assert not native.error and not haswell.error, (native.error, haswell.error)
    assert native.isa == haswell.isa == "Intel AVX2", (native.isa, haswell.isa)
    assert len(native.files) > 20
    differing = sorted(
        path for path, digest in native.files.items() if haswell.files.get(path) != digest
    )
    assert haswell.files.keys() == native.files.keys()
    assert not differing, differing


def test_the_uncapped_control_must_differ_only_where_the_cpu_has_more_than_avx2() -> None:
    cross_cpu = _cross_cpu()
    native = cross_cpu.Outcome(cross_cpu.Run("native"), {"a": "1"}, isa="Intel AVX2")
    control = cross_cpu.Run("uncapped", isa="ALL", expect_same=False)
    avx512 = "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support"
    same_here = cross_cpu.Outcome(control, {"a": "1"}, isa="Intel AVX2")
    differs = cross_cpu.Outcome(control, {"a": "2"}, isa=avx512)
    assert cross_cpu.expects_same(same_here, native)
    assert not cross_cpu.expects_same(differs, native)
    assert cross_cpu.as_expected([native, same_here, differs])
    # On an AVX-512 CPU an uncapped run that still matched would mean the check cannot fail.
    assert not cross_cpu.as_expected([native, cross_cpu.Outcome(control, {"a": "1"}, isa=avx512)])
