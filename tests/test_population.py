"""The population trainer against Keras: its optimizers, fit, and members trained alone.

References are Keras' own: ``build_model``'s seeded initial weights, Keras' optimizer classes
applying a gradient, and ``keras.Model.fit`` (``train.loop: fit``) on the same batches.

Tolerances. The population computes each member's forward pass with a batched matrix product
and its loss and gradients with per-member reductions, where ``fit`` uses one ``Dense``
product and whole-batch reductions: the same float32 terms, summed in another order, so a
step's results differ by a few units in the last place (float32's epsilon is 1.2e-7). Over
a run the dynamics carry and amplify those differences. On the short runs here (at most 25
epochs of ≤ 4 steps on 400 rows) the per-epoch histories measured agree to ≤ 5e-7
relative and the trained weights to ≤ 4e-6 absolute, so ``RTOL = 5e-6`` and
``WEIGHT_ATOL = 4e-5`` leave a margin of ten, while a real error (a wrong update order, a
rate off by one step, a member seeing another's batch) moves losses by 1e-3 or more. Rates
are compared exactly: they are the plan's float32 values, not computed by training.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lrstudy.config import parse_config
from lrstudy.config.optimizers import AdamWOptimizer, ProdigyOptimizer
from lrstudy.data import generate, split
from lrstudy.fit_loop import fit_seed
from lrstudy.member_optimizers import OPTIMIZERS
from lrstudy.model import build_model, compile_model, layer_shapes, make_optimizer
from lrstudy.population import (
    Member,
    Population,
    chunk_size,
    member_bytes,
)
from lrstudy.rate_plan import rate_plan
from lrstudy.runlog import HISTORY_KEYS
from lrstudy.runtime import import_keras
from lrstudy.training import train_population, train_setting

from .conftest import tiny_params

RTOL = 5e-6  # per-epoch history, population vs fit (module docstring)
WEIGHT_ATOL = 4e-5  # trained weights, population vs fit
# Prodigy's logged d · lr, population vs fit. d is a ratio of sums whose terms cancel (a
# running maximum of it), so the sums' last bits reach it: measured on the prodigy case
# ≤ 3.9e-6 relative over its 12 epochs (alone and among 20, d growing from 1e-6 to
# 3.3e-3), hence 4e-5, a margin of ten, and below the 5e-4 by which d may differ from
# the authors' float64 code (tests/test_oracles.py), while d grows 8.8-fold from epoch 2
# to epoch 3: a value logged an epoch off is far outside.
EFFECTIVE_LR_RTOL = 4e-5
PRODIGY = ProdigyOptimizer(type="prodigy")


def small_config(default_params, **changes):
    params = tiny_params(default_params)
    params["data"]["n_samples"] = 400
    for section, values in changes.items():
        params[section].update(values)
    config = parse_config(params)
    return config, split(generate(config.data), config.split)


@pytest.fixture(scope="module")
def small(default_params):
    return small_config(default_params)


def population_results(spec, config, parts, seeds):
    spec = replace(spec, seeds=seeds)
    n_classes = config.data.n_classes
    return list(
        train_setting(
            spec, config.model_for(spec), parts["train"], parts["val"], n_classes=n_classes
        )
    )


# --- Initial weights and optimizer arithmetic ------------------------------------------------


@pytest.mark.parametrize(
    ("hidden", "features", "classes"), [([10, 10], 2, 2), ([7], 10, 5), ([3, 4, 5], 3, 20)]
)
def test_members_start_from_the_weights_build_model_draws(
    default_params, hidden, features, classes
) -> None:
    keras = import_keras()
    config, parts = small_config(
        default_params,
        data={"n_features": features, "n_classes": classes},
        model={"hidden_units": hidden},
    )
    population = Population(
        config.model, parts["train"], parts["val"], n_classes=classes, batch_size=32
    )
    state = population.start([4, 9])
    for member, seed in enumerate([4, 9]):
        keras.utils.set_random_seed(seed)
        expected = build_model(config.model, features, classes).get_weights()
        got = state.member_weights(member)
        assert [w.shape for w in got] == layer_shapes(config.model, features, classes)
        for weight, reference in zip(got, expected, strict=True):
            np.testing.assert_array_equal(weight, reference)


# Keras 3.15's ScheduleFreeAdamW reads z after updating it (lrstudy.schedule_free); the
# population follows the authors' algorithm, tested against their code in test_oracles.py.
@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"schedule_free_adamw"}))
def test_update_is_keras_optimizer_arithmetic(name) -> None:
    """Five steps of each optimizer on three members with their own rates, against Keras'
    optimizer class applying the same gradients to one variable per member (Prodigy: the
    class of ``lrstudy.keras_optimizers``, which Keras lacks; both tested against the
    authors' code in test_oracles.py)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    rates = np.float32([1e-3, 0.05, 0.7])
    start = rng.normal(size=(3, 4, 5)).astype(np.float32)
    gradients = rng.normal(size=(5, 3, 4, 5)).astype(np.float32)
    optimizer = OPTIMIZERS[name](make_optimizer(name, 0.0))
    variable = tf.constant(start)
    slots = [[tf.constant(optimizer.start(start, k))] for k in range(optimizer.n_slots)]
    for step in range(5):
        (variable,), slots = optimizer.apply(
            [variable], [tf.constant(gradients[step])], slots, tf.constant(rates), step
        )
    for member, rate in enumerate(rates):
        optimizer = make_optimizer(name, float(rate))
        reference = import_keras().Variable(start[member])
        optimizer.build([reference])
        for step in range(5):
            optimizer.apply([gradients[step, member]], [reference])
        # The same float32 operations in the same order: equal to the last bit.
        np.testing.assert_array_equal(variable.numpy()[member], reference.numpy())


def test_optimizer_options_the_population_lacks_are_refused() -> None:
    keras = import_keras()
    with pytest.raises(ValueError, match="amsgrad"):
        OPTIMIZERS["adam"](keras.optimizers.Adam(amsgrad=True))
    with pytest.raises(ValueError, match="momentum"):
        OPTIMIZERS["sgd"](keras.optimizers.SGD(momentum=0.9))
    with pytest.raises(ValueError, match="warmup_steps"):
        OPTIMIZERS["schedule_free_adamw"](keras.optimizers.ScheduleFreeAdamW(warmup_steps=3))


# --- Equivalence with fit, alone and among 20 ------------------------------------------------


def equivalence_cases(default_params):
    """A constant rate, a per-step one_cycle, a plateau that really cuts, 3 classes, SGD,
    settings overriding the study's Adam with AdamW (a strong decay, so it shows),
    Schedule-Free AdamW and Prodigy."""
    config, parts = small_config(default_params)
    plateau = config.run("plateau")
    plateau = replace(
        plateau,
        epochs=25,
        batch_size=64,
        schedule=plateau.schedule.model_copy(update={"patience": 2, "min_delta": 0.01}),
    )
    three, three_parts = small_config(default_params, data={"n_classes": 3})
    sgd, sgd_parts = small_config(default_params, model={"optimizer": "sgd"})
    adamw = AdamWOptimizer(type="adamw", weight_decay=0.5)
    return {
        "constant": (config, parts, replace(config.run("lr_medium"), epochs=12, batch_size=64)),
        "one_cycle": (config, parts, replace(config.run("one_cycle"), epochs=12, batch_size=64)),
        "plateau": (config, parts, plateau),
        "3 classes": (three, three_parts, replace(three.run("lr_medium"), epochs=12, lr=0.02)),
        "sgd": (sgd, sgd_parts, replace(sgd.run("lr_medium"), epochs=12, lr=0.5, batch_size=64)),
        "adamw": (config, parts, replace(config.run("lr_medium"), epochs=12, optimizer=adamw)),
        # Schedule-Free, with the study's setting's warmup from rate 0 (fit once zeroed
        # every weight there): validated and saved at x, z and v saved as fit's.
        "schedule_free": (config, parts, replace(config.run("schedule_free"), epochs=12)),
        # Prodigy at the authors' rate 1: d estimated per member, its state saved as fit's.
        "prodigy": (
            config,
            parts,
            replace(config.run("lr_medium"), epochs=12, lr=1.0, optimizer=PRODIGY),
        ),
    }


@pytest.mark.parametrize(
    "kind",
    ["constant", "one_cycle", "plateau", "3 classes", "sgd", "adamw", "schedule_free", "prodigy"],
)
def test_a_member_alone_among_20_and_fit_agree(default_params, kind) -> None:
    config, parts, spec = equivalence_cases(default_params)[kind]
    seed = 5
    fitted = fit_seed(
        spec,
        config.model_for(spec),
        seed,
        train=parts["train"],
        val=parts["val"],
        n_classes=config.data.n_classes,
    )
    alone = population_results(spec, config, parts, range(seed, seed + 1))[0]
    among = population_results(spec, config, parts, range(20))[seed]
    # runlog.OPTIMIZER_KEYS
    own = {"prodigy": ["effective_lr"], "schedule_free": ["averaging_weight"]}.get(kind, [])
    assert list(fitted.history) == [*HISTORY_KEYS, *own]
    for result in (alone, among):
        assert list(result.history) == [*HISTORY_KEYS, *own]
        for key in HISTORY_KEYS:
            assert len(result.history[key]) == spec.epochs
            np.testing.assert_allclose(result.history[key], fitted.history[key], rtol=RTOL)
        for key in own:
            rtol = EFFECTIVE_LR_RTOL
            np.testing.assert_allclose(result.history[key], fitted.history[key], rtol=rtol)
        assert result.initial_loss == pytest.approx(fitted.initial_loss, rel=RTOL)
        np.testing.assert_array_equal(result.step_rates, fitted.step_rates)
        for weight, reference in zip(result.weights, fitted.weights, strict=True):
            np.testing.assert_allclose(weight, reference, rtol=0, atol=WEIGHT_ATOL)
        # The optimizer's state as fit leaves it: steps taken and next rate exactly, then
        # every slot (Adam's m and v) to the weights' tolerance.
        steps, rate, *slots = result.optimizer_state
        assert (steps, rate) == tuple(fitted.optimizer_state[:2])
        for slot, reference in zip(slots, fitted.optimizer_state[2:], strict=True):
            np.testing.assert_allclose(slot, reference, rtol=0, atol=WEIGHT_ATOL)
    if kind == "plateau":  # the comparison covers real cuts, not a constant rate
        assert len(set(alone.history["learning_rate"])) >= 2
    if kind == "one_cycle":
        per_epoch = alone.plan.steps_per_epoch
        assert len(set(alone.step_rates[:per_epoch])) == per_epoch


def test_the_initial_loss_is_the_untrained_models_on_the_train_split(small) -> None:
    """Against Keras: the seed's untrained model, test_on_batch on every train row."""
    keras = import_keras()
    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=1)
    results = population_results(spec, config, parts, range(2, 5))
    for seed, result in zip(range(2, 5), results, strict=True):
        keras.utils.set_random_seed(seed)
        model = build_model(config.model, 2, 2)
        compile_model(model, config.model, 0.01)
        train = parts["train"]
        logs = model.test_on_batch(train.x, train.y.astype(np.float32), return_dict=True)
        assert result.initial_loss == pytest.approx(logs["loss"], rel=RTOL)


def test_members_of_two_settings_pair_by_seed(small) -> None:
    """Seed s of any two settings starts from the same weights and sees the same batches:
    with the rate 0 both keep their initial weights, so their first-epoch losses match."""
    config, parts = small
    frozen = [
        replace(config.run(name), lr=0.0, epochs=1, schedule=config.run("lr_medium").schedule)
        for name in ("lr_large", "cosine_warmup")
    ]
    first = [population_results(spec, config, parts, range(3))[2] for spec in frozen]
    assert first[0].history == first[1].history
    for a, b in zip(first[0].weights, first[1].weights, strict=True):
        np.testing.assert_array_equal(a, b)


# --- Members are independent ------------------------------------------------------------------


def test_a_diverging_member_leaves_the_others_untouched(small) -> None:
    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=8)
    population = Population(
        config.model, parts["train"], parts["val"], n_classes=2, batch_size=spec.batch_size
    )
    n = len(parts["train"])
    calm = [Member(seed, rate_plan(spec, n)) for seed in (0, 1)]
    wild = Member(1, rate_plan(replace(spec, lr=1e38), n))  # overflows: NaN
    quiet = list(train_population(population, calm))
    mixed = list(train_population(population, [calm[0], wild]))
    assert not np.isfinite(mixed[1].history["loss"][-1])
    assert mixed[0].history == quiet[0].history
    for a, b in zip(mixed[0].weights, quiet[0].weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_setting_whose_members_all_diverge_still_trains_to_the_end(small) -> None:
    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=3, lr=1e38)  # the largest rate allowed
    results = population_results(spec, config, parts, range(3))
    assert len(results) == 3
    assert all(
        len(r.history["loss"]) == 3 and not np.isfinite(r.history["loss"][-1]) for r in results
    )


@pytest.mark.parametrize(
    ("changes", "spec_changes"),
    [
        ({}, {"seeds": range(0, 1)}),  # one seed
        ({}, {"batch_size": 10_000}),  # one batch larger than the train split
        ({"data": {"n_classes": 20, "n_samples": 600}}, {}),
        ({"data": {"n_features": 10}}, {}),
    ],
    ids=["1 seed", "batch > train split", "20 classes", "10 features"],
)
def test_edges_the_schema_accepts(default_params, changes, spec_changes) -> None:
    config, parts = small_config(default_params, **changes)
    spec = replace(config.run("lr_medium"), epochs=2, **spec_changes)
    results = population_results(spec, config, parts, spec_changes.get("seeds", range(3)))
    assert len(results) == len(spec_changes.get("seeds", range(3)))
    for result in results:
        assert np.isfinite(result.history["loss"]).all()
        assert result.step_rates.size == 2 * result.plan.steps_per_epoch


def test_large_populations_train_in_chunks_with_the_same_members(small, monkeypatch) -> None:
    import lrstudy.training as training

    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=3)
    whole = population_results(spec, config, parts, range(5))
    monkeypatch.setattr(training, "chunk_size", lambda members, per_member: 2)
    chunked = population_results(spec, config, parts, range(5))
    assert len(chunked) == 5
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=RTOL)


def test_a_stage_reuses_its_population_and_gets_the_same_bits(small) -> None:
    """``shared_population``: one build for the same network, data and batch size; a
    member trained on it after other members equals, to the bit, the member trained on a
    population of its own (its state lives in the arrays each call gets)."""
    from lrstudy.training import shared_population

    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=3)
    n = len(parts["train"])
    args = (config.model, parts["train"], parts["val"])
    fresh = Population(*args, n_classes=2, batch_size=spec.batch_size)
    (alone,) = train_population(fresh, [Member(4, rate_plan(spec, n))])
    shared = shared_population(*args, n_classes=2, batch_size=spec.batch_size)
    list(train_population(shared, [Member(s, rate_plan(replace(spec, lr=0.3), n)) for s in (0, 1)]))
    again = shared_population(*args, n_classes=2, batch_size=spec.batch_size)
    assert again is shared
    (after,) = train_population(again, [Member(4, rate_plan(spec, n))])
    assert after.history == alone.history
    for a, b in zip(after.weights, alone.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # Another batch size, validation split or network: a population of its own.
    assert shared_population(*args, n_classes=2, batch_size=7) is not shared
    other = config.model.model_copy(update={"hidden_units": [3]})
    assert shared_population(other, *args[1:], n_classes=2, batch_size=7).shapes[0] == (2, 3)


def test_grids_of_a_stage_share_one_evaluation_model(small) -> None:
    """``sweep_training.evaluation_model``: a grid evaluated after another gives the rows it
    gives first (the shared model holds nothing of the previous grid's weights)."""
    from lrstudy.sweep_training import evaluation_model, train_grid

    config, parts = small
    spec = replace(config.run("lr_medium"), epochs=2, seeds=range(2))
    first = train_grid([0.01], config, parts, lambda _: None, spec)
    model = evaluation_model(config.model, 2, 2)
    train_grid([0.5, 0.001], config, parts, lambda _: None, spec)
    assert evaluation_model(config.model, 2, 2) is model
    pd.testing.assert_frame_equal(train_grid([0.01], config, parts, lambda _: None, spec), first)
    assert evaluation_model(config.model, 2, 3) is not model


def test_chunk_size_fits_the_budget() -> None:
    assert chunk_size(320, 1000, budget=1 << 30) == 320
    assert chunk_size(320, 10_000_000, budget=100_000_000) == 10
    assert chunk_size(5, 10**12, budget=1 << 30) == 1  # one member always trains


def test_member_bytes_counts_weights_and_activations(default_params) -> None:
    config, _ = small_config(default_params)
    # 2-10-10-1: 30 + 110 + 11 = 151 weights (24 copies); widths 2 + 20 + 2 per row.
    assert member_bytes(config.model, 2, 2, batch_size=100, n_val=280) == 4 * (
        24 * 151 + 2 * 380 * 24
    )


# --- Callbacks ----------------------------------------------------------------------------------


def test_callbacks_with_per_batch_hooks_or_early_stops_are_refused(small) -> None:
    keras = import_keras()
    config, parts = small
    spec = replace(config.run("lr_small"), epochs=3, seeds=range(2))

    def train(callback):
        return list(
            train_setting(
                spec,
                config.model,
                parts["train"],
                parts["val"],
                n_classes=2,
                callbacks=lambda member: [callback],
            )
        )

    with pytest.raises(ValueError, match=r"TerminateOnNaN \(on_batch_end\).*loop: fit"):
        train(keras.callbacks.TerminateOnNaN())
    with pytest.raises(ValueError, match=r"stopped training early.*loop: fit"):
        train(keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1.0))

    # A callback reaching for the model's weights gets the same advice, not an AttributeError.
    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            self.model.get_weights()

    with pytest.raises(ValueError, match=r"model.get_weights.*loop: fit"):
        train(Snapshot())
