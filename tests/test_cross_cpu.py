"""Same bytes on other x86-64 CPUs: the stages under QEMU's emulation of an Intel and an
AMD CPU (``benchmarks/cross_cpu.py``, ``make cross-cpu``), and the pin that makes it so.
"""

from __future__ import annotations

import collections
import importlib.util
import sys
from dataclasses import replace

import pytest

from lrstudy.config import parse_config
from lrstudy.data import generate, split

from .conftest import PROJECT_ROOT, tiny_params

# Ops whose TensorFlow CPU kernels start from the CPU's approximate reciprocal or reciprocal
# square root (Eigen's fast math): their last bits differ between CPU makers.
APPROXIMATE_OPS = {"Reciprocal", "Inv", "Rsqrt", "ReciprocalGrad", "RsqrtGrad"}


def _cross_cpu():
    spec = importlib.util.spec_from_file_location(
        "cross_cpu", PROJECT_ROOT / "benchmarks" / "cross_cpu.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["cross_cpu"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_training_graph_has_no_approximate_reciprocal(default_params) -> None:
    """The compiled epoch (forward, binary cross-entropy gradient, Adam) uses no op whose
    kernel rounds as the CPU maker's approximate-reciprocal instruction does."""
    from lrstudy.training import Trainer

    config = parse_config(tiny_params(default_params))
    parts = split(generate(config.data), config.split)
    spec = replace(config.run(next(iter(config.settings))), epochs=1)
    trainer = Trainer(spec, config.model, parts["train"], parts["val"])
    graph = trainer._run_epoch.get_concrete_function().graph.as_graph_def()
    ops = collections.Counter(node.op for node in graph.node)
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    assert "Log1p" in ops  # the binary cross-entropy's, whose gradient lrstudy replaces
    assert not APPROXIMATE_OPS & set(ops), sorted(APPROXIMATE_OPS & set(ops))


@pytest.mark.slow
def test_stages_give_the_same_bytes_on_an_emulated_intel_avx2_cpu() -> None:
    """The train and evaluate stages under an emulated Haswell (AVX2, no AVX-512) write
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
