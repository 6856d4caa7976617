"""Training: seeded batches, both loops' results and logs, the pinned arithmetic.

The population loop against Keras' fit, member by member: ``tests/test_population.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lrstudy.config import parse_config
from lrstudy.data import generate, split
from lrstudy.fit_loop import make_datasets
from lrstudy.runlog import HISTORY_KEYS, read_live_history
from lrstudy.training import train_setting
from lrstudy.training_run import epoch_orders, order_stream

from .conftest import PROJECT_ROOT, tiny_params


@pytest.fixture(scope="module")
def small(default_params):
    params = tiny_params(default_params)
    params["data"]["n_samples"] = 400
    config = parse_config(params)
    return config, split(generate(config.data), config.split)


def train_seed(spec, config, seed, parts, callbacks=()):
    """One seed of ``spec`` through ``train_setting`` with ``spec.loop``."""
    spec = replace(spec, seeds=range(seed, seed + 1))
    results = train_setting(
        spec,
        config.model,
        parts["train"],
        parts["val"],
        n_classes=config.data.n_classes,
        callbacks=lambda member: callbacks,
    )
    return next(results)


# --- Batch order: a pure function of (rows, epochs, seed) ----------------------------------


def test_epoch_orders_are_seeded_permutations_that_change_every_epoch() -> None:
    orders = epoch_orders(50, 4, seed=7)
    assert orders.shape == (4, 50) and orders.dtype == np.int32
    for order in orders:  # every row exactly once per epoch
        assert sorted(order) == list(range(50))
    assert len({tuple(order) for order in orders}) == 4
    np.testing.assert_array_equal(orders, epoch_orders(50, 4, seed=7))
    assert not np.array_equal(orders, epoch_orders(50, 4, seed=8))
    # A longer run starts with the shorter run's epochs.
    np.testing.assert_array_equal(epoch_orders(50, 9, seed=7)[:4], orders)


def test_epoch_orders_are_numpys_documented_generator() -> None:
    # Independent reference: NumPy's PCG64 stream, one permutation per epoch in turn.
    rng = np.random.default_rng(3)
    expected = [rng.permutation(20), rng.permutation(20)]
    np.testing.assert_array_equal(epoch_orders(20, 2, seed=3), expected)
    stream = order_stream(20, seed=3)
    np.testing.assert_array_equal([next(stream), next(stream)], expected)


def test_fit_pipeline_serves_the_epoch_orders_in_batches(small) -> None:
    _, parts = small
    train = parts["train"]
    orders = epoch_orders(len(train), 2, seed=1)
    train_ds, _ = make_datasets(train, parts["val"], batch_size=64, epochs=2, seed=1)
    batches = [x.numpy() for x, _ in train_ds]
    per_epoch = -(-len(train) // 64)
    assert len(batches) == 2 * per_epoch
    assert [len(batch) for batch in batches[:per_epoch]] == [64] * (per_epoch - 1) + [
        len(train) - 64 * (per_epoch - 1)
    ]
    for epoch in range(2):
        served = np.concatenate(batches[epoch * per_epoch : (epoch + 1) * per_epoch])
        np.testing.assert_array_equal(served, train.x[orders[epoch]])


def test_fit_pipeline_draws_each_epochs_order_as_it_comes(small) -> None:
    # 10**9 epochs of every order up front would need len(train) * 4 GB (issue 21 item 6:
    # 5.4 GB at 300,000 epochs); drawn per epoch, the first batches come at once and are
    # the same numbers as a 1-epoch run's.
    _, parts = small
    train = parts["train"]
    train_ds, _ = make_datasets(train, parts["val"], batch_size=64, epochs=10**9, seed=1)
    first = [x.numpy() for x, _ in train_ds.take(-(-len(train) // 64))]
    np.testing.assert_array_equal(
        np.concatenate(first), train.x[epoch_orders(len(train), 1, seed=1)[0]]
    )


# --- Both loops ----------------------------------------------------------------------------


@pytest.mark.parametrize("loop", ["fast", "fit"])
def test_short_training_run_lowers_the_loss(small, loop) -> None:
    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=40, lr=0.05, batch_size=32, loop=loop)
    history = train_seed(spec, config, 0, parts).history
    assert set(history) == set(HISTORY_KEYS)
    assert all(len(values) == 40 for values in history.values())
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8
    assert history["val_loss"][-1] < history["val_loss"][0]


@pytest.mark.parametrize("loop", ["fast", "fit"])
def test_logged_learning_rate_is_the_rate_applied(small, loop) -> None:
    config, parts = small
    spec = replace(config.run("lr_medium"), loop=loop)
    result = train_seed(spec, config, 0, parts)
    assert result.history["learning_rate"] == [float(np.float32(0.005))] * spec.epochs
    assert set(result.step_rates.tolist()) == {float(np.float32(0.005))}


@pytest.mark.parametrize("loop", ["fast", "fit"])
def test_dvclive_logs_hold_the_history(small, tmp_path, loop) -> None:
    from lrstudy.runlog import live_logger

    config, parts = small
    spec = replace(config.run("lr_medium"), loop=loop)
    result = train_seed(spec, config, 0, parts, [live_logger(tmp_path / "seed_0")])
    logged = read_live_history(tmp_path / "seed_0")
    assert list(logged["epoch"]) == list(range(1, spec.epochs + 1))
    for key in HISTORY_KEYS:
        np.testing.assert_allclose(logged[key], result.history[key], rtol=1e-12)
    assert not (tmp_path / "seed_0" / "dvc.yaml").exists()
    # Adam logs none of the optimizer keys (runlog.OPTIMIZER_KEYS): no file, no column.
    files = {path.name for path in (tmp_path / "seed_0" / "plots" / "metrics").iterdir()}
    assert files == {f"{key}.tsv" for key in HISTORY_KEYS}
    assert list(logged.columns) == ["epoch", *HISTORY_KEYS]


@pytest.mark.parametrize("loop", ["fast", "fit"])
@pytest.mark.parametrize(
    ("optimizer", "key"), [("prodigy", "effective_lr"), ("schedule_free_adamw", "averaging_weight")]
)
def test_dvclive_logs_hold_the_optimizers_own_key(small, tmp_path, loop, optimizer, key) -> None:
    from lrstudy.config.optimizers import ProdigyOptimizer, ScheduleFreeAdamWOptimizer
    from lrstudy.runlog import live_logger

    config, parts = small
    kind = {"prodigy": ProdigyOptimizer, "schedule_free_adamw": ScheduleFreeAdamWOptimizer}
    spec = replace(
        config.run("lr_medium"),
        loop=loop,
        epochs=3,
        seeds=range(1),
        optimizer=kind[optimizer](type=optimizer),
    )
    result = next(
        train_setting(
            spec,
            config.model_for(spec),
            parts["train"],
            parts["val"],
            n_classes=config.data.n_classes,
            callbacks=lambda member: [live_logger(tmp_path / "seed_0")],
        )
    )
    logged = read_live_history(tmp_path / "seed_0")
    assert list(logged.columns) == ["epoch", *HISTORY_KEYS, key]
    assert len(result.history[key]) == 3 and all(value > 0 for value in result.history[key])
    np.testing.assert_array_equal(logged[key], result.history[key])


def test_early_stopping_stops_the_fit_loop(small) -> None:
    import keras

    config, parts = small
    spec = replace(config.run("lr_small"), epochs=30, loop="fit")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1.0)
    result = train_seed(spec, config, 0, parts, [stop])
    assert len(result.history["loss"]) == 2  # epoch 2 does not improve by 1.0: stop


def test_fit_calls_the_per_batch_hooks_the_population_refuses(small) -> None:
    import keras

    class PerValidationPass(keras.callbacks.Callback):
        calls = 0

        def on_test_end(self, logs=None) -> None:
            PerValidationPass.calls += 1

    config, parts = small
    spec = replace(config.run("lr_small"), epochs=2)
    with pytest.raises(ValueError, match=r"PerValidationPass \(on_test_end\).*loop: fit"):
        train_seed(spec, config, 0, parts, [PerValidationPass()])
    train_seed(replace(spec, loop="fit"), config, 0, parts, [PerValidationPass()])
    assert PerValidationPass.calls == 2  # one validation pass per epoch


# --- Arithmetic pinned before TensorFlow loads ------------------------------------------

PROBE = """
import json, os
import lrstudy.training  # what the train stage imports
from lrstudy.runtime import import_keras
import_keras()
import tensorflow as tf
from tensorflow.python.framework import config as tf_config
x = tf.ones([64, 16]); tf.matmul(x, tf.ones([16, 16])).numpy()  # a oneDNN matrix product
print(json.dumps({
    "isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
    "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    "determinism": tf_config.is_op_determinism_enabled(),
}))
"""


def test_arithmetic_is_pinned_before_tensorflow_loads() -> None:
    """oneDNN runs at most AVX2 kernels, on fixed thread counts, deterministically.

    The subprocess starts without the pins in its environment; ``ONEDNN_VERBOSE`` makes
    oneDNN itself print the instruction set it dispatches to.
    """
    environment = {
        key: value
        for key, value in __import__("os").environ.items()
        if not key.endswith("_MAX_CPU_ISA") and key != "TF_ENABLE_ONEDNN_OPTS"
    }
    environment |= {"ONEDNN_VERBOSE": "1", "PYTHONPATH": str(PROJECT_ROOT / "src")}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    settings = json.loads(completed.stdout.strip().splitlines()[-1])
    assert settings == {
        "isa": "AVX2",
        "intra": 1,
        "inter": 2,
        "onednn_opts": "1",
        "determinism": True,
    }
    isa_lines = [line for line in completed.stdout.splitlines() if ",cpu,isa:" in line]
    assert isa_lines, completed.stdout[-2000:]
    cpu_flags = Path("/proc/cpuinfo").read_text()
    if " avx2" in cpu_flags:
        assert isa_lines[0].rstrip().endswith("isa:Intel AVX2"), isa_lines[0]
    assert "512" not in isa_lines[0] and "AMX" not in isa_lines[0]
