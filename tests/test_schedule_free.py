"""Schedule-Free AdamW in both loops: validation and the saved model use the average x.

Both loops log each epoch's averaging weight, checked against ``1/t`` by hand.

The reference for "evaluated at x" is Keras' own ``test_on_batch`` on a model given the
saved weights: its loss on the validation rows must be the history's last ``val_loss``
(the same forward pass on the same weights; float32, a one-batch pass, hence ``rel=1e-6``),
and those weights must differ from the trained ``y`` (so the test can fail).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lrstudy.config.optimizers import ScheduleFreeAdamWOptimizer
from lrstudy.fit_loop import fit_seed
from lrstudy.model import build_model, compile_model
from lrstudy.population import Population

from .test_population import population_results, small_config

SCHEDULE_FREE = ScheduleFreeAdamWOptimizer(type="schedule_free_adamw")


@pytest.fixture(scope="module")
def case(default_params):
    config, parts = small_config(default_params)
    spec = replace(config.run("lr_medium"), epochs=4, batch_size=64, optimizer=SCHEDULE_FREE)
    return config, parts, spec


def validation_loss(config, spec, weights, val) -> float:
    model = build_model(config.model_for(spec), val.x.shape[1], config.data.n_classes)
    compile_model(model, config.model_for(spec), spec.lr)
    model.set_weights(weights)
    return float(model.test_on_batch(val.x, val.y.astype(np.float32), return_dict=True)["loss"])


@pytest.mark.parametrize("loop", ["fit", "population"])
def test_validation_and_the_saved_weights_are_the_average(case, loop) -> None:
    config, parts, spec = case
    if loop == "fit":
        result = fit_seed(
            spec,
            config.model_for(spec),
            3,
            train=parts["train"],
            val=parts["val"],
            n_classes=config.data.n_classes,
        )
    else:
        result = population_results(spec, config, parts, range(3, 4))[0]
    got = validation_loss(config, spec, result.weights, parts["val"])
    assert got == pytest.approx(result.history["val_loss"][-1], rel=1e-6)
    # The averaging weight c = 1/t of each epoch's last step t, by hand: 4 steps an epoch
    # (240 train rows in batches of 64). Float32, so within half a float32 ulp (2**-24).
    assert result.plan.steps_per_epoch == 4
    expected = [1 / 4, 1 / 8, 1 / 12, 1 / 16]
    assert result.history["averaging_weight"] == pytest.approx(expected, rel=2**-24)
    assert list(result.history)[-1] == "averaging_weight"


def test_the_population_trains_y_and_saves_x(case) -> None:
    config, parts, spec = case
    population = Population(
        config.model_for(spec),
        parts["train"],
        parts["val"],
        n_classes=config.data.n_classes,
        batch_size=spec.batch_size,
    )
    state = population.start([0])
    # z starts at the weights, as Keras' build copies them.
    for z, w in zip(state.slots[0], state.weights, strict=True):
        np.testing.assert_array_equal(z, w)
    orders = np.arange(population.n_train, dtype=np.int32)[None]
    rates = np.full((1, population.steps_per_epoch), 0.01, np.float32)
    state, _ = population.run_epoch(state, orders, rates)
    state = state.as_numpy()
    y, x = state.weights, state.member_weights(0)
    assert max(np.abs(a[0] - b).max() for a, b in zip(y, x, strict=True)) > 1e-4
