"""lrstudy's Keras optimizer classes: Keras' Schedule-Free, as the algorithm has it.

The reference for one step of Schedule-Free is the population's update
(``member_optimizers``), itself within 1e-5 of the authors' ``schedulefree`` over 200 steps
(``tests/test_oracles.py``): run eagerly (no graph optimizer, so ``1 / step`` is a plain
division either way), lrstudy's class must give the same bits at every step, and Keras'
own class, which reads ``z`` after updating it, must not. That the compiled class has no
``Reciprocal`` op is ``tests/test_cross_cpu.py``'s graph audit.
"""

from __future__ import annotations

import numpy as np
import pytest

from lrstudy.keras_optimizers import schedule_free_adamw_class
from lrstudy.member_optimizers import OPTIMIZERS
from lrstudy.model import build_model, compile_model, load_model, make_optimizer, save_model
from lrstudy.runtime import import_keras


def test_schedule_free_is_the_populations_update_to_the_bit() -> None:
    import tensorflow as tf

    keras = import_keras()
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    gradients = [[rng.normal(size=w.shape).astype(np.float32) for w in start] for _ in range(12)]
    member = OPTIMIZERS["schedule_free_adamw"](make_optimizer("schedule_free_adamw", 0.0))
    weights = [tf.constant(w[None]) for w in start]
    slots = [[tf.constant(member.start(w[None], k)) for w in start] for k in range(member.n_slots)]
    runs = {}
    for cls in (keras.optimizers.ScheduleFreeAdamW, schedule_free_adamw_class()):
        optimizer = cls(learning_rate=0.05)
        variables = [keras.Variable(w) for w in start]
        optimizer.build(variables)
        runs[cls] = (optimizer, variables)
    for step, gradient in enumerate(gradients):
        for optimizer, variables in runs.values():
            optimizer.apply(gradient, variables)
        weights, slots = member.apply(
            weights, [tf.constant(g[None]) for g in gradient], slots, tf.constant([0.05]), step
        )
        (_, ours), (_, keras_own) = (
            runs[schedule_free_adamw_class()],
            runs[keras.optimizers.ScheduleFreeAdamW],
        )
        for variable, expected in zip(ours, weights, strict=True):
            np.testing.assert_array_equal(variable.numpy(), expected.numpy()[0])
    for variable, first in zip(ours, start, strict=True):
        assert np.abs(variable.numpy() - first).max() > 0.01  # the steps moved the weights
    # Keras' own class recovers x from the updated z: another trajectory.
    assert (
        max(np.abs(a.numpy() - b.numpy()).max() for a, b in zip(keras_own, ours, strict=True))
        > 1e-3
    )


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning")
def test_a_model_compiled_with_it_saves_and_loads(tmp_path, config) -> None:
    model_config = config.model.model_copy(update={"optimizer": "schedule_free_adamw"})
    model = build_model(model_config, n_features=2, n_classes=config.data.n_classes)
    compile_model(model, model_config, 0.01)
    save_model(model, tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is schedule_free_adamw_class()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning")
def test_a_prodigy_member_saves_with_its_state_and_loads(tmp_path, default_params) -> None:
    """The population's Prodigy state (per weight 4 slots, then d, d_max, d_numerator, k)
    goes into the saved model's optimizer, variable for variable, and loads back."""
    from dataclasses import replace

    from lrstudy.config.optimizers import ProdigyOptimizer
    from lrstudy.model import compiled_model, set_trained_state

    from .test_population import population_results, small_config

    config, parts = small_config(default_params)
    optimizer = ProdigyOptimizer(type="prodigy")
    spec = replace(config.run("lr_medium"), epochs=3, lr=1.0, optimizer=optimizer)
    result = population_results(spec, config, parts, range(1))[0]
    model_config = config.model_for(spec)
    model = compiled_model(model_config, parts["train"].x.shape[1], config.data.n_classes, 1.0)
    set_trained_state(model, result.weights, result.optimizer_state)
    save_model(model, tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "Prodigy"
    state = [np.asarray(v) for v in loaded.optimizer.variables]
    assert len(state) == len(result.optimizer_state) == 2 + 4 * len(result.weights) + 4
    for value, expected in zip(state, result.optimizer_state, strict=True):
        np.testing.assert_array_equal(value, expected)
    d = state[-4]
    assert d > optimizer.d0  # d has grown from d0: the state is a trained one
