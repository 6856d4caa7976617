"""Training: seeded batches, the fast loop against Keras' own fit, reuse across seeds."""

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
from lrstudy.fit_loop import fit_seed, make_datasets
from lrstudy.runlog import HISTORY_KEYS, read_live_history
from lrstudy.training import Trainer, seed_trainer
from lrstudy.training_run import epoch_orders

from .conftest import PROJECT_ROOT, tiny_params


@pytest.fixture(scope="module")
def small(default_params):
    params = tiny_params(default_params)
    params["data"]["n_samples"] = 400
    config = parse_config(params)
    return config, split(generate(config.data), config.split)


def train_seed(spec, config, seed, parts, callbacks=()):
    """One seed of ``spec`` through ``seed_trainer`` (a new trainer each call)."""
    n_classes = config.data.n_classes
    run = seed_trainer(spec, config.model, parts["train"], parts["val"], n_classes=n_classes)
    return run(seed, callbacks)


def weights_of(model) -> list[np.ndarray]:
    return [np.array(weight) for weight in model.get_weights()]


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


def test_fit_pipeline_serves_the_epoch_orders_in_batches(small) -> None:
    _, parts = small
    train = parts["train"]
    orders = epoch_orders(len(train), 2, seed=1)
    train_ds, _ = make_datasets(train, parts["val"], batch_size=64, orders=orders)
    batches = [x.numpy() for x, _ in train_ds]
    per_epoch = -(-len(train) // 64)
    assert len(batches) == 2 * per_epoch
    assert [len(batch) for batch in batches[:per_epoch]] == [64] * (per_epoch - 1) + [
        len(train) - 64 * (per_epoch - 1)
    ]
    for epoch in range(2):
        served = np.concatenate(batches[epoch * per_epoch : (epoch + 1) * per_epoch])
        np.testing.assert_array_equal(served, train.x[orders[epoch]])


# --- The fast loop is Keras' fit, faster ------------------------------------------------


def equivalence_specs(config):
    """A constant rate, a per-step schedule and a plateau that really cuts (patience 2)."""
    plateau = config.run("plateau")
    plateau = replace(
        plateau,
        epochs=25,
        batch_size=32,
        schedule=plateau.schedule.model_copy(update={"patience": 2, "min_delta": 0.01}),
    )
    return {
        "constant": replace(config.run("lr_medium"), epochs=12, batch_size=32),
        "per-step one_cycle": replace(config.run("one_cycle"), epochs=12, batch_size=32),
        "plateau": plateau,
    }


@pytest.mark.parametrize("kind", ["constant", "per-step one_cycle", "plateau"])
def test_fast_loop_matches_keras_fit(small, kind) -> None:
    config, parts = small
    spec = equivalence_specs(config)[kind]
    n_classes = config.data.n_classes
    fitted = fit_seed(
        spec, config.model, 5, train=parts["train"], val=parts["val"], n_classes=n_classes
    )
    fast = Trainer(spec, config.model, parts["train"], parts["val"], n_classes=n_classes).train(5)
    for key in HISTORY_KEYS:
        assert len(fast.history[key]) == spec.epochs
        np.testing.assert_allclose(fast.history[key], fitted.history[key], rtol=1e-6, atol=0)
    np.testing.assert_allclose(fast.step_rates, fitted.step_rates, rtol=1e-7, atol=0)
    for fast_weight, fit_weight in zip(
        weights_of(fast.model), weights_of(fitted.model), strict=True
    ):
        np.testing.assert_allclose(fast_weight, fit_weight, rtol=1e-5, atol=1e-6)
    if kind == "plateau":  # the comparison covers real reductions, not a constant rate
        assert len(set(fast.history["learning_rate"])) >= 2
    if kind == "per-step one_cycle":
        assert len(set(fast.step_rates[: fast.step_rates.size // spec.epochs])) > 1


def test_reusing_a_trainer_equals_a_fresh_one(small) -> None:
    config, parts = small
    spec = replace(config.run("one_cycle"), epochs=6)
    n_classes = config.data.n_classes
    trainer = Trainer(spec, config.model, parts["train"], parts["val"], n_classes=n_classes)
    first = trainer.train(3)
    first_weights, first_history = weights_of(first.model), first.history
    other = trainer.train(4)
    assert other.history["loss"] != first_history["loss"]
    again = trainer.train(3)  # weights and optimizer state fully reset
    assert again.history == first_history
    fresh = Trainer(spec, config.model, parts["train"], parts["val"], n_classes=n_classes).train(3)
    assert fresh.history == first_history
    for weights in (weights_of(again.model), weights_of(fresh.model)):
        for weight, expected in zip(weights, first_weights, strict=True):
            np.testing.assert_array_equal(weight, expected)


def test_a_seed_pairs_settings_with_the_same_initial_weights(small) -> None:
    """Seeds are matched pairs: two settings of one architecture start from one point."""
    import keras

    class InitialWeights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None) -> None:
            self.weights = weights_of(self.model)

    config, parts = small
    starts = {}
    for name in ("lr_large", "cosine_warmup"):
        spec = replace(config.run(name), epochs=1)
        recorder = InitialWeights()
        train_seed(spec, config, 11, parts, [recorder])
        starts[name] = recorder.weights
    for a, b in zip(starts["lr_large"], starts["cosine_warmup"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(weight).sum() > 0 for weight in starts["lr_large"])


def test_short_training_run_lowers_the_loss(small) -> None:
    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=40, lr=0.05, batch_size=32)
    history = train_seed(spec, config, 0, parts).history
    assert set(history) == set(HISTORY_KEYS)
    assert all(len(values) == 40 for values in history.values())
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_logged_learning_rate_is_the_optimizers(small) -> None:
    config, parts = small
    spec = config.run("lr_medium")
    result = train_seed(spec, config, 0, parts)
    assert result.history["learning_rate"] == [pytest.approx(0.005, rel=1e-7)] * spec.epochs
    optimizer_rate = float(np.array(result.model.optimizer.learning_rate))
    assert optimizer_rate == pytest.approx(result.history["learning_rate"][-1])


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


def test_early_stopping_callback_stops_the_fast_loop(small) -> None:
    import keras

    config, parts = small
    spec = replace(config.run("lr_small"), epochs=30)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1.0)
    result = train_seed(spec, config, 0, parts, [stop])
    assert len(result.history["loss"]) == 2  # epoch 2 does not improve by 1.0: stop


def test_the_fast_loop_refuses_callbacks_it_would_never_call(small) -> None:
    """TerminateOnNaN acts per batch: silently skipping it would hide a diverged run."""
    import keras

    class PerValidationPass(keras.callbacks.Callback):
        def on_test_end(self, logs=None) -> None:
            pass

    config, parts = small
    spec = replace(config.run("lr_small"), epochs=1)
    for callback, hook in [
        (keras.callbacks.TerminateOnNaN(), "on_batch_end"),
        (PerValidationPass(), "on_test_end"),
        (keras.callbacks.LambdaCallback(on_train_batch_end=print), "on_train_batch_end"),
    ]:
        with pytest.raises(ValueError, match=rf"{type(callback).__name__} \({hook}\).*loop: fit"):
            train_seed(spec, config, 0, parts, [callback])
    fit = replace(spec, loop="fit")  # Model.fit calls every hook
    assert train_seed(fit, config, 0, parts, [PerValidationPass()])


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
        "inter": 1,
        "onednn_opts": "1",
        "determinism": True,
    }
    isa_lines = [line for line in completed.stdout.splitlines() if ",cpu,isa:" in line]
    assert isa_lines, completed.stdout[-2000:]
    cpu_flags = Path("/proc/cpuinfo").read_text()
    if " avx2" in cpu_flags:
        assert isa_lines[0].rstrip().endswith("isa:Intel AVX2"), isa_lines[0]
    assert "512" not in isa_lines[0] and "AMX" not in isa_lines[0]
