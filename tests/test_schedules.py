"""Schedules: each pure function against an independent reference, and their settings.

References: Keras' own ``keras.optimizers.schedules`` classes where Keras has the schedule
(evaluated in float64 at many steps), PyTorch's documented semantics (StepLR, MultiStepLR,
CyclicLR, OneCycleLR; torch is not installed, so hand-computed literals), the papers'
formulas (Smith 2017; Smith & Topin 2018) and the notebook's scheduler function.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

from lrstudy import schedules
from lrstudy.clock import steps_per_epoch
from lrstudy.config import SCHEDULE_TYPES, ConfigError, Schedule, load_config, parse_config
from lrstudy.rate_plan import step_rates
from lrstudy.schedules import (
    cyclic,
    describe,
    one_cycle,
    rate_function,
)
from tests.conftest import PROJECT_ROOT

SCHEDULE = TypeAdapter(Schedule)


def make(**fields: Any) -> Any:
    """A validated schedule setting (as params.yaml would give it)."""
    return SCHEDULE.validate_python(fields)


def rates(schedule: Any, lr: float, per_epoch: int, epochs: int, ticks: int) -> list[float]:
    rate = rate_function(schedule, lr, per_epoch, epochs)
    return [rate(t) for t in range(ticks)]


def epoch_rates(schedule: Any, lr: float, per_epoch: int, epochs: int) -> list[float]:
    """The rate in force at the first optimizer step of each epoch (what training logs)."""
    return step_rates(schedule, lr, per_epoch, epochs)[::per_epoch]


@pytest.fixture(scope="module")
def keras_schedules():
    from lrstudy.runtime import import_keras

    keras = import_keras()
    return keras.optimizers.schedules


def keras_values(schedule: Any, ticks: int) -> list[float]:
    import keras

    return [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(ticks)]


F64 = np.float64  # Keras computes in the dtype of its arguments: double precision here
LR = F64(0.05)


# --- Keras' schedule classes as the reference ------------------------------------------------


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_matches_keras_exponential_decay(keras_schedules, staircase) -> None:
    # decay_epochs 2.5 at 12 steps per epoch: Keras' decay_steps = 30.
    schedule = make(type="exponential", rate=0.6, decay_epochs=2.5, staircase=staircase, per="step")
    reference = keras_schedules.ExponentialDecay(LR, 30, F64(0.6), staircase=staircase)
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 20, 200), keras_values(reference, 200), rtol=1e-12
    )


def test_multistep_matches_keras_piecewise_constant(keras_schedules) -> None:
    # MultiStepLR cuts *at* a milestone; PiecewiseConstantDecay keeps values[i] while
    # step <= boundaries[i], so the boundaries are the steps just before the milestones.
    schedule = make(type="step", milestones=[3, 7.5, 12], factor=0.3, per="step")
    reference = keras_schedules.PiecewiseConstantDecay(
        [3 * 10 - 1, 75 - 1, 120 - 1], [LR, LR * 0.3, LR * 0.3**2, LR * 0.3**3]
    )
    np.testing.assert_allclose(
        rates(schedule, LR, 10, 20, 200), keras_values(reference, 200), rtol=1e-12
    )


def test_step_matches_keras_piecewise_constant(keras_schedules) -> None:
    schedule = make(type="step", every=4, factor=0.5)  # per epoch
    boundaries = [4 * k - 1 for k in range(1, 5)]
    reference = keras_schedules.PiecewiseConstantDecay(boundaries, [LR * 0.5**k for k in range(5)])
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 20, 20), keras_values(reference, 20), rtol=1e-12
    )


@pytest.mark.parametrize(("power", "cycle"), [(1.0, False), (2.0, False), (0.5, True)])
def test_polynomial_matches_keras_polynomial_decay(keras_schedules, power, cycle) -> None:
    schedule = make(
        type="polynomial", decay_epochs=5, end_lr=0.001, power=power, cycle=cycle, per="step"
    )
    reference = keras_schedules.PolynomialDecay(LR, 60, np.float64(0.001), power, cycle)
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 10, 150), keras_values(reference, 150), rtol=1e-12
    )


def test_polynomial_without_decay_epochs_decays_over_the_whole_run(keras_schedules) -> None:
    schedule = make(type="polynomial", end_lr=0.0005)  # per epoch; the run is 50 epochs
    reference = keras_schedules.PolynomialDecay(LR, 50, np.float64(0.0005), 1.0)
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 50, 50), keras_values(reference, 50), rtol=1e-12
    )


def test_cosine_matches_keras_cosine_decay(keras_schedules) -> None:
    schedule = make(type="cosine", decay_epochs=8, alpha=0.1, per="step")
    reference = keras_schedules.CosineDecay(LR, 96, alpha=0.1)
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 10, 120), keras_values(reference, 120), rtol=1e-12
    )


@pytest.mark.parametrize("start_factor", [0.0, 0.2])
def test_cosine_with_warmup_matches_keras_cosine_decay_warmup(
    keras_schedules, start_factor
) -> None:
    # Warmup 5 epochs, then decay over the rest of a 20-epoch run: 60 + 180 steps.
    schedule = make(type="cosine", warmup_epochs=5, warmup_start_factor=start_factor, alpha=0.01)
    assert schedule.per == "step"
    reference = keras_schedules.CosineDecay(
        LR * start_factor, 180, alpha=0.01, warmup_target=LR, warmup_steps=60
    )
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 20, 250), keras_values(reference, 250), rtol=1e-12
    )


@pytest.mark.parametrize(("t_mul", "m_mul", "alpha"), [(2.0, 0.5, 0.01), (1.0, 0.8, 0.0)])
def test_cosine_restarts_matches_keras_cosine_decay_restarts(
    keras_schedules, t_mul, m_mul, alpha
) -> None:
    schedule = make(
        type="cosine_restarts",
        first_decay_epochs=2,
        t_mul=t_mul,
        m_mul=m_mul,
        alpha=alpha,
        per="step",
    )
    reference = keras_schedules.CosineDecayRestarts(
        LR, 24, t_mul=F64(t_mul), m_mul=F64(m_mul), alpha=F64(alpha)
    )
    # Keras finds the period with float logarithms (errors of ~1e-10); ours sums the periods.
    np.testing.assert_allclose(
        rates(schedule, LR, 12, 20, 240), keras_values(reference, 240), rtol=1e-8
    )


def test_cosine_restarts_restart_exactly_on_the_boundaries() -> None:
    schedule = make(type="cosine_restarts", first_decay_epochs=10, t_mul=2.0, m_mul=0.5)
    rate = rate_function(schedule, 1.0, 12, 50)
    assert [rate(t) for t in (0, 10, 30)] == [1.0, 0.5, 0.25]
    assert rate(20) == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi / 2)))


# --- PyTorch's documented semantics (hand-computed literals) -------------------------------


def test_step_is_pytorch_steplr() -> None:
    # StepLR docs: step_size=30, gamma=0.1 → 0.05 for epochs < 30, 0.005 for 30..59, ...
    schedule = make(type="step", every=30, factor=0.1)
    got = rates(schedule, 0.05, 12, 100, 100)
    assert got[:30] == [0.05] * 30
    assert got[30:60] == pytest.approx([0.005] * 30, rel=1e-12)
    assert got[60:90] == pytest.approx([0.0005] * 30, rel=1e-12)
    assert got[90] == pytest.approx(0.00005, rel=1e-12)


def test_step_with_milestones_is_pytorch_multisteplr() -> None:
    # MultiStepLR docs: milestones=[30, 80], gamma=0.1 → 0.05 / 0.005 / 0.0005.
    schedule = make(type="step", milestones=[30, 80], factor=0.1)
    got = rates(schedule, 0.05, 12, 100, 100)
    assert got[:30] == [0.05] * 30
    assert got[30:80] == pytest.approx([0.005] * 50, rel=1e-12)
    assert got[80:] == pytest.approx([0.0005] * 20, rel=1e-12)


def test_notebook_learning_rate_scheduler() -> None:
    def notebook(epoch: int) -> float:  # the notebook's function, as written there
        if epoch < 10:
            return 0.001
        return 0.001 * math.exp(0.1 * (10 - epoch))

    schedule = make(type="exponential", hold_epochs=10, k=0.1)
    assert schedule.per == "epoch"
    np.testing.assert_allclose(
        rates(schedule, 0.001, 12, 50, 50), [notebook(epoch) for epoch in range(50)], rtol=1e-12
    )


# --- Smith 2017 (cyclical learning rates), hand-computed ----------------------------------


CYCLIC_LITERALS = {
    # base 0.001, max 0.006, half-cycle 4 steps:
    # cycle = floor(1 + t / 8); x = |t / 4 - 2 cycle + 1|; base + 0.005 * max(0, 1 - x) * scale
    "triangular": {
        0: 0.001,
        1: 0.00225,
        2: 0.0035,
        3: 0.00475,
        4: 0.006,
        5: 0.00475,
        8: 0.001,
        10: 0.0035,
        12: 0.006,
    },
    # scale 1 / 2 ** (cycle - 1): second cycle peaks at 0.0035, third at 0.00225.
    "triangular2": {4: 0.006, 10: 0.00225, 12: 0.0035, 16: 0.001, 20: 0.00225},
    # scale 0.9 ** t: t=2 → 0.001 + 0.005 * 0.5 * 0.81; t=4 → 0.001 + 0.005 * 0.6561;
    # t=12 → 0.001 + 0.005 * 0.282429536481.
    "exp_range": {0: 0.001, 2: 0.003025, 4: 0.0042805, 12: 0.002412147682405},
}


def test_triangular2_after_a_thousand_cycles_is_the_floor_not_an_overflow() -> None:
    """200 epochs of step_size 1 is over 1,100 cycles: 1 / 2 ** 1100 is 0 as a float."""
    step = 2 * 1100 + 1  # the 1101st cycle, one step in: scale 2 ** -1100 underflows to 0
    assert cyclic(step, 0.001, 0.006, 1, "triangular2", 1.0) == 0.001


@pytest.mark.parametrize("mode", list(CYCLIC_LITERALS))
def test_cyclic_is_smiths_clr(mode) -> None:
    expected = CYCLIC_LITERALS[mode]
    schedule = make(type="cyclic", min_lr=0.001, max_lr=0.006, step_size=4, mode=mode, gamma=0.9)
    assert schedule.per == "step"
    rate = rate_function(schedule, 0.05, 3, 10)  # max_lr given: the setting's lr is unused
    for step, value in expected.items():
        assert rate(step) == pytest.approx(value, rel=1e-12), step
        assert cyclic(step, 0.001, 0.006, 4, mode, 0.9) == pytest.approx(value, rel=1e-12)


def test_cyclic_half_cycle_in_epochs_and_max_lr_from_the_setting() -> None:
    # step_size_epochs 1 at 4 steps per epoch = step_size 4; max_lr defaults to lr.
    schedule = make(type="cyclic", min_lr=0.001, step_size_epochs=1)
    got = rates(schedule, 0.006, 4, 10, 13)
    assert got == pytest.approx([CYCLIC_LITERALS["triangular"].get(t, got[t]) for t in range(13)])
    assert got[4] == pytest.approx(0.006) and got[8] == pytest.approx(0.001)
    # Stepped per epoch instead, the formula still counts optimizer steps.
    per_epoch = make(type="cyclic", min_lr=0.001, step_size_epochs=1, per="epoch")
    assert rates(per_epoch, 0.006, 4, 10, 4) == pytest.approx([0.001, 0.006, 0.001, 0.006])


# --- Smith & Topin 2018 (1cycle), as PyTorch's OneCycleLR, hand-computed ------------------
# max_lr 0.1, div_factor 25 → initial 0.004; final_div_factor 1e4 → final 4e-7.


def test_one_cycle_cosine_literals() -> None:
    # total 10, pct_start 0.3: up until step 0.3 * 10 - 1 = 2, down until step 9.
    expected = {
        0: 0.004,
        1: 0.052,  # 0.1 + (0.004 - 0.1) / 2 * (cos(pi / 2) + 1)
        2: 0.1,
        # step 5: fraction 3/7, cos(3 pi / 7) = 0.22252093395631440;
        # 4e-7 + (0.1 - 4e-7) / 2 * 1.2225209339563144 = 0.061126202230...
        5: 0.0611262022301,
        9: 4e-7,
        12: 4e-7,  # past the end it stays at the final rate
    }
    for step, value in expected.items():
        assert one_cycle(step, 0.1, 10, 0.3) == pytest.approx(value, rel=1e-9), step


def test_one_cycle_linear_and_three_phase_literals() -> None:
    linear = {0: 0.004, 1: 0.052, 2: 0.1, 4: 0.071428686, 9: 4e-7}  # 4: 0.1 - 0.0999996 * 2/7
    for step, value in linear.items():
        got = one_cycle(step, 0.1, 10, 0.3, anneal_strategy="linear")
        assert got == pytest.approx(value, rel=1e-7), step
    # total 20, pct_start 0.25: up until 4, back to initial until 8, then down until 19.
    three = {0: 0.004, 2: 0.052, 4: 0.1, 6: 0.052, 8: 0.004, 11: 0.0029092, 19: 4e-7}
    for step, value in three.items():  # 11: 0.004 - 0.0039996 * 3/11
        got = one_cycle(step, 0.1, 20, 0.25, anneal_strategy="linear", three_phase=True)
        assert got == pytest.approx(value, rel=1e-7), step


def test_one_cycle_setting_spans_the_run_with_lr_as_max_lr() -> None:
    schedule = make(type="one_cycle")
    assert schedule.per == "step"
    # 50 epochs x 12 steps = 600 steps; peak at step 0.3 * 600 - 1 = 179.
    rate = rate_function(schedule, 0.05, 12, 50)
    assert rate(0) == pytest.approx(0.05 / 25)
    assert rate(179) == pytest.approx(0.05)
    assert rate(599) == pytest.approx(0.05 / 25 / 1e4)
    assert max(rate(step) for step in range(600)) == pytest.approx(0.05)


# --- Warmup and the clock --------------------------------------------------------------------


def test_warmup_prefix_literals() -> None:
    # Per epoch: 2 epochs from 0.1 * lr to lr, then the step schedule starts at t = 0.
    schedule = make(
        type="step", every=3, factor=0.5, warmup_epochs=2, warmup_start_factor=0.1, per="epoch"
    )
    assert rates(schedule, 1.0, 12, 10, 9) == pytest.approx(
        [0.1, 0.55, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "exponential", "rate": 0.5, "decay_epochs": 3},
        {"type": "cosine", "alpha": 0.1},
        {"type": "cosine_restarts", "first_decay_epochs": 4, "t_mul": 1.5},
        {"type": "polynomial", "power": 2.0},
        {"type": "step", "milestones": [2, 5]},
        {"type": "wsd", "decay_epochs": 5, "decay_type": "cosine", "min_lr_ratio": 0.1},
        {"type": "inverse_sqrt", "timescale_epochs": 2},
        {"type": "rex"},
    ],
    ids=lambda fields: fields["type"],
)
def test_per_step_follows_the_same_curve_over_epochs(fields) -> None:
    # Durations are in epochs: stepping per step only adds points between epoch starts.
    by_epoch = make(**fields, per="epoch")
    by_step = make(**fields, per="step")
    epochs, per_epoch = 12, 7
    coarse = epoch_rates(by_epoch, 0.05, per_epoch, epochs)
    fine = step_rates(by_step, 0.05, per_epoch, epochs)
    np.testing.assert_allclose(fine[::per_epoch], coarse, rtol=1e-12)


def test_default_per_by_type() -> None:
    assert make(type="constant").per == "epoch"
    assert make(type="exponential", rate=0.9).per == "epoch"
    assert make(type="exponential", rate=0.9, warmup_epochs=1).per == "step"
    assert make(type="exponential", rate=0.9, warmup_epochs=1, per="epoch").per == "epoch"
    assert make(type="cyclic", min_lr=0.001, step_size=10).per == "step"
    assert make(type="one_cycle").per == "step"
    assert make(type="plateau").per == "epoch"
    assert make(type="constant", warmup_epochs=1).per == "step"
    assert make(type="wsd", decay_fraction=0.2).per == "epoch"
    assert make(type="wsd", decay_fraction=0.2, warmup_epochs=1).per == "step"
    assert make(type="inverse_sqrt", warmup_epochs=1).per == "step"
    assert make(type="rex").per == "epoch"


def test_steps_per_epoch_follows_train_size_and_batch() -> None:
    assert steps_per_epoch(1120, 100) == 12
    assert steps_per_epoch(1120, 50) == 23
    assert steps_per_epoch(1120, 1120) == 1
    with pytest.raises(ValueError):
        steps_per_epoch(0, 10)


def test_warmup_longer_than_the_run_just_climbs() -> None:
    # A short run (e.g. a quick `-S train.epochs=3`) must not break a warmup setting.
    schedule = make(type="cosine", warmup_epochs=5, per="epoch")
    assert rates(schedule, 1.0, 12, 3, 3) == pytest.approx([0.0, 0.2, 0.4])
    assert rates(make(type="polynomial", warmup_epochs=5, per="epoch"), 1.0, 12, 5, 6) == (
        pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    )


def test_rate_functions_return_python_floats() -> None:
    for fields in ({"type": "constant"}, {"type": "one_cycle"}, {"type": "step", "every": 2}):
        assert type(rate_function(make(**fields), 0.05, 12, 10)(3)) is float


def test_describe_lists_what_differs_from_the_defaults() -> None:
    assert describe(make(type="constant")) == "constant"
    assert describe(make(type="cosine", warmup_epochs=5, alpha=0.01)) == (
        "cosine (alpha=0.01, warmup_epochs=5)"
    )
    assert describe(make(type="cosine", warmup_epochs=5, per="epoch")) == (
        "cosine (warmup_epochs=5, per=epoch)"
    )
    assert describe(make(type="step", milestones=[10, 20.5])) == "step (milestones=[10, 20.5])"
    assert describe(make(type="wsd", decay_fraction=0.2)) == "wsd (decay_fraction=0.2)"
    assert describe(make(type="constant", warmup_epochs=2)) == "constant (warmup_epochs=2)"


# --- The settings in params.yaml --------------------------------------------------------------


def test_default_params_have_a_setting_per_schedule_family(config) -> None:
    types = {name: config.run(name).schedule.type for name in config.settings}
    for name, kind in {
        "step": "step",
        "exponential": "exponential",
        "cosine_warmup": "cosine",
        "cyclic": "cyclic",
        "one_cycle": "one_cycle",
        "plateau": "plateau",
    }.items():
        assert types[name] == kind
    assert config.run("cosine_warmup").schedule.warmup_epochs > 0
    assert set(types.values()) <= set(SCHEDULE_TYPES)


def test_default_exponential_setting_has_the_notebooks_shape(config) -> None:
    spec = config.run("exponential")
    got = epoch_rates(spec.schedule, spec.lr, 12, spec.epochs)
    expected = [spec.lr if e < 10 else spec.lr * math.exp(0.1 * (10 - e)) for e in range(50)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_every_default_setting_fits_its_run(config) -> None:
    for name in config.settings:
        spec = config.run(name)
        per_epoch = steps_per_epoch(1120, spec.batch_size)
        values = step_rates(spec.schedule, spec.lr, per_epoch, spec.epochs)
        assert all(0 <= value <= spec.lr * (1 + 1e-12) for value in values), name
        assert all(value > 0 for value in values[1:]), name


# --- Validation of schedule settings -------------------------------------------------------

BAD_SCHEDULES = [
    # (schedule, fragments of the one problem reported)
    (
        {"type": "step", "every": 10, "factor": -0.5},
        ["settings.x.schedule.factor = -0.5", "greater than 0"],
    ),
    (
        {"type": "step", "every": 10, "factor": 1.5},
        ["settings.x.schedule.factor = 1.5", "less than 1"],
    ),
    (
        {"type": "step", "factor": 0.5},
        ["settings.x.schedule", "'every' or 'milestones'", "neither"],
    ),
    (
        {"type": "step", "every": 5, "milestones": [10]},
        ["settings.x.schedule", "'every' or 'milestones'", "both"],
    ),
    (
        {"type": "step", "milestones": [20, 10]},
        ["settings.x.schedule.milestones = [20, 10]", "strictly increasing"],
    ),
    ({"type": "step", "every": 0}, ["settings.x.schedule.every = 0", ">= 1e-09"]),
    (
        {"type": "cyclic", "min_lr": 0.01, "max_lr": 0.001, "step_size": 24},
        ["settings.x.schedule.max_lr = 0.001", "greater than min_lr (0.01)"],
    ),
    (
        {"type": "cyclic", "min_lr": 0.5, "step_size": 24},
        ["settings.x.schedule", "min_lr = 0.5", "below max_lr", "setting's lr (0.05)"],
    ),
    ({"type": "cyclic", "step_size": 24}, ["settings.x.schedule.min_lr: missing required key"]),
    (
        {"type": "cyclic", "min_lr": 0.001},
        ["settings.x.schedule", "'step_size' or 'step_size_epochs'"],
    ),
    (
        {"type": "cyclic", "min_lr": 0.001, "step_size": 24, "mode": "sawtooth"},
        ["settings.x.schedule.mode = 'sawtooth'", "triangular"],
    ),
    (
        {"type": "cyclic", "min_lr": 0.001, "step_size": 24, "gamma": 1.5},
        ["settings.x.schedule.gamma = 1.5"],
    ),
    (
        {"type": "one_cycle", "pct_start": 0},
        ["settings.x.schedule.pct_start = 0", "greater than 0"],
    ),
    ({"type": "one_cycle", "pct_start": 1}, ["settings.x.schedule.pct_start = 1", "less than 1"]),
    ({"type": "one_cycle", "pct_start": 1.5}, ["settings.x.schedule.pct_start = 1.5"]),
    (
        {"type": "one_cycle", "pct_start": 0.6, "three_phase": True},
        ["settings.x.schedule.three_phase = true", "pct_start below 0.5"],
    ),
    ({"type": "one_cycle", "div_factor": 0.5}, ["settings.x.schedule.div_factor = 0.5"]),
    ({"type": "one_cycle", "max_lr": -1}, ["settings.x.schedule.max_lr = -1"]),
    (
        {"type": "one_cycle", "anneal_strategy": "cosine"},
        ["settings.x.schedule.anneal_strategy = 'cosine'", "'cos' or 'linear'"],
    ),
    (
        {"type": "cosinus"},
        ["settings.x.schedule.type = 'cosinus'", "unknown schedule type", "one_cycle"],
    ),
    ({"type": "cosine", "alpha": 1.0}, ["settings.x.schedule.alpha = 1.0", "less than 1"]),
    (
        {"type": "cosine", "warmup_epoch": 5},
        ["settings.x.schedule", "unknown key 'warmup_epoch' (did you mean 'warmup_epochs'?)"],
    ),
    ({"type": "cosine", "warmup_epochs": -1}, ["settings.x.schedule.warmup_epochs = -1"]),
    (
        {"type": "cosine", "warmup_epochs": 2, "warmup_start_factor": 1.0},
        ["settings.x.schedule.warmup_start_factor = 1.0"],
    ),
    (
        {"type": "cosine_restarts"},
        ["settings.x.schedule.first_decay_epochs: missing required key"],
    ),
    (
        {"type": "cosine_restarts", "first_decay_epochs": 5, "t_mul": 0.5},
        ["settings.x.schedule.t_mul = 0.5", "greater than or equal to 1"],
    ),
    (
        {"type": "cosine_restarts", "first_decay_epochs": 5, "m_mul": 0},
        ["settings.x.schedule.m_mul = 0"],
    ),
    ({"type": "exponential"}, ["settings.x.schedule", "'rate' or 'k'", "neither"]),
    (
        {"type": "exponential", "rate": 0.5, "k": 0.1},
        ["settings.x.schedule", "'rate' or 'k'", "both"],
    ),
    ({"type": "exponential", "rate": 1.2}, ["settings.x.schedule.rate = 1.2", "less than 1"]),
    ({"type": "exponential", "k": -0.1}, ["settings.x.schedule.k = -0.1", "greater than 0"]),
    (
        {"type": "polynomial", "end_lr": 0.05},
        ["settings.x.schedule", "end_lr = 0.05", "below the setting's lr (0.05)"],
    ),
    ({"type": "polynomial", "power": 0}, ["settings.x.schedule.power = 0"]),
    (
        {"type": "constant", "per": "batch"},
        ["settings.x.schedule.per = 'batch'", "'epoch' or 'step'"],
    ),
    ({"type": "plateau", "per": "step"}, ["settings.x.schedule.per = 'step'", "'epoch'"]),
    ({"type": "plateau", "factor": -0.5}, ["settings.x.schedule.factor = -0.5"]),
    (
        {"type": "wsd", "decay_fraction": 0.2, "decay_type": "sqrt"},
        ["settings.x.schedule.decay_type = 'sqrt'", "'1-sqrt', 'linear' or 'cosine'"],
    ),
    ({"type": "wsd"}, ["settings.x.schedule", "'decay_epochs' or 'decay_fraction'", "neither"]),
    (
        {"type": "wsd", "decay_epochs": 5, "decay_fraction": 0.2},
        ["settings.x.schedule", "'decay_epochs' or 'decay_fraction'", "both"],
    ),
    (
        {"type": "wsd", "decay_fraction": 0.2, "min_lr": 0.001, "min_lr_ratio": 0.1},
        ["settings.x.schedule", "at most one of 'min_lr' or 'min_lr_ratio'", "both"],
    ),
    (
        {"type": "wsd", "decay_fraction": 0.2, "min_lr": 0.05},
        ["settings.x.schedule", "min_lr = 0.05", "below the setting's lr (0.05)"],
    ),
    (
        {"type": "wsd", "decay_fraction": 1.5},
        ["settings.x.schedule.decay_fraction = 1.5", "less than or equal to 1"],
    ),
    (
        {"type": "wsd", "decay_fraction": 0.2, "min_lr_ratio": 1},
        ["settings.x.schedule.min_lr_ratio = 1", "less than 1"],
    ),
    # The run is train.epochs = 50: the cooldown must fit in it, after the warmup.
    (
        {"type": "wsd", "decay_epochs": 50.5},
        ["settings.x.schedule.decay_epochs = 50.5", "longer than the run", "its 50 epochs"],
    ),
    (
        {"type": "wsd", "decay_epochs": 10, "warmup_epochs": 40.5},
        ["settings.x.schedule.warmup_epochs = 40.5", "past the cooldown's start at epoch 40"],
    ),
    (
        {"type": "wsd", "decay_fraction": 0.25, "warmup_epochs": 38},
        ["settings.x.schedule.warmup_epochs = 38", "epoch 37.5", "decay_fraction = 0.25"],
    ),
    (
        {"type": "inverse_sqrt"},
        ["settings.x.schedule", "'timescale_epochs' or a warmup of 1e-9 epochs or more"],
    ),
    (
        {"type": "inverse_sqrt", "warmup_epochs": 1e-10},
        ["settings.x.schedule", "'timescale_epochs' or a warmup"],
    ),
    ({"type": "rex", "decay_epochs": -1}, ["settings.x.schedule.decay_epochs = -1"]),
    ({"type": "constant", "warmup_epochs": -1}, ["settings.x.schedule.warmup_epochs = -1"]),
]


@pytest.mark.parametrize(("schedule", "fragments"), BAD_SCHEDULES, ids=lambda item: str(item))
def test_bad_schedule_settings_name_setting_key_and_rule(params, schedule, fragments) -> None:
    params["settings"]["x"] = {"lr": 0.05, "schedule": schedule}
    with pytest.raises(ConfigError) as caught:
        parse_config(params)
    problems = caught.value.problems
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], (fragment, problems[0])


def test_numbers_in_schedules_read_as_dvc_reads_them(tmp_path, params) -> None:
    # YAML 1.2 (DVC's parser, and lrstudy's): 5e-2 and 1e-3 are floats, not strings.
    path = tmp_path / "params.yaml"
    text = (PROJECT_ROOT / "params.yaml").read_text()
    setting = (
        "  x:\n    lr: 5e-2\n    schedule:\n      type: cyclic\n      min_lr: 1e-3\n"
        "      step_size_epochs: 2.5\n"
    )
    assert text.count("\nsettings:\n") == 1
    path.write_text(text.replace("\nsettings:\n", "\nsettings:\n" + setting))
    schedule = load_config(path).run("x").schedule
    assert (schedule.min_lr, schedule.step_size_epochs, schedule.per) == (0.001, 2.5, "step")


def test_module_does_not_import_tensorflow() -> None:
    import subprocess
    import sys

    code = "import sys, lrstudy.schedules; print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
    assert schedules.__name__ == "lrstudy.schedules"


# --- Exact boundaries for fractional durations (issue 9, item 11). ----------------------
# Each value is worked out by hand from the README's formula for the schedule, with the
# duration in ticks computed in exact decimals (2.1 epochs × 12 steps = 25.2 steps). The
# floating-point product (2.1 * 12 = 25.200000000000003) put several of these one step off.
BASE = 0.05
EXACT_BOUNDARIES = [
    # (schedule, steps per epoch, step t, rate by hand, why)
    # step: lr · factor^floor(t / every); every = 2.1 · 12 = 25.2 steps, 126 / 25.2 = 5.
    ({"type": "step", "every": 2.1, "factor": 0.5, "per": "step"}, 12, 126, BASE * 0.5**5),
    ({"type": "step", "every": 2.1, "factor": 0.5, "per": "step"}, 12, 125, BASE * 0.5**4),
    # MultiStepLR: the cut happens at the milestone; 2.1 epochs × 10 steps = step 21.
    ({"type": "step", "milestones": [2.1], "factor": 0.1, "per": "step"}, 10, 21, BASE * 0.1),
    ({"type": "step", "milestones": [2.1], "factor": 0.1, "per": "step"}, 10, 20, BASE),
    # exponential, staircase: lr · rate^floor(t / decay); decay 0.1 · 12 = 1.2, 6 / 1.2 = 5.
    (
        {"type": "exponential", "rate": 0.5, "decay_epochs": 0.1, "staircase": True, "per": "step"},
        12,
        6,
        BASE * 0.5**5,
    ),
    # cosine_restarts: periods 1.2, 2.4, 4.8, 9.6 steps start at 0, 1.2, 3.6, 8.4, 18: step 18
    # is the fifth period's peak, lr; step 17 is 8.6 / 9.6 into the fourth period.
    ({"type": "cosine_restarts", "first_decay_epochs": 0.1, "per": "step"}, 12, 18, BASE),
    (
        {"type": "cosine_restarts", "first_decay_epochs": 0.1, "per": "step"},
        12,
        17,
        BASE * (1 + math.cos(math.pi * 8.6 / 9.6)) / 2,
    ),
    # t_mul 1: every period 1.2 steps; step 6 starts the sixth period (6 / 1.2 = 5), m_mul^5.
    (
        {
            "type": "cosine_restarts",
            "first_decay_epochs": 0.1,
            "t_mul": 1,
            "m_mul": 0.5,
            "per": "step",
        },
        12,
        6,
        BASE * 0.5**5,
    ),
    # polynomial, cycle, power 2: D = 0.3 · 12 = 3.6 steps; at 18 = 5 D the fifth cycle
    # ends (rate end_lr = 0); at 19 the sixth has begun, D = 21.6.
    (
        {"type": "polynomial", "decay_epochs": 0.3, "cycle": True, "power": 2, "per": "step"},
        12,
        18,
        0.0,
    ),
    (
        {"type": "polynomial", "decay_epochs": 0.3, "cycle": True, "power": 2, "per": "step"},
        12,
        19,
        BASE * (1 - 19 / 21.6) ** 2,
    ),
    # cosine: at t = D (2.1 · 10 = 21 steps) the rate has reached alpha · lr = 0.
    ({"type": "cosine", "decay_epochs": 2.1, "per": "step"}, 10, 21, 0.0),
    # cyclic: half-cycle h = 0.1 · 12 = 1.2 steps; at 12 = 10 h the fifth cycle ends at min_lr.
    ({"type": "cyclic", "min_lr": 0.01, "step_size_epochs": 0.1}, 12, 12, 0.01),
    # ... and at 6 = 5 h the third cycle peaks: triangular2 scale 1 / 2^(3 - 1).
    (
        {"type": "cyclic", "min_lr": 0.01, "step_size_epochs": 0.1, "mode": "triangular2"},
        12,
        6,
        0.01 + (BASE - 0.01) / 4,
    ),
    # one_cycle over 2.5 epochs × 12 = 30 steps: the peak at step 0.3 · 30 − 1 = 8 is max_lr,
    # the last step 29 is max_lr / (25 · 1e4).
    ({"type": "one_cycle", "total_epochs": 2.5}, 12, 8, BASE),
    ({"type": "one_cycle", "total_epochs": 2.5}, 12, 29, BASE / 25 / 1e4),
    # warmup 2.1 epochs × 10 = 21 steps, then step decay every 21 steps: at 21 the decay
    # starts at lr; at 42 the first cut.
    ({"type": "step", "every": 2.1, "factor": 0.5, "warmup_epochs": 2.1}, 10, 21, BASE),
    ({"type": "step", "every": 2.1, "factor": 0.5, "warmup_epochs": 2.1}, 10, 42, BASE * 0.5),
    # warmup 1.2 steps from 0: step 1 is 1 / 1.2 of the way to lr.
    ({"type": "cosine", "warmup_epochs": 0.1}, 12, 1, BASE / 1.2),
    # wsd in a 10-epoch run of 12 steps (120 ticks): cooldown D = 2.1 · 12 = 25.2 steps from
    # 120 − 25.2 = 94.8; step 94 is still stable, step 95 is 0.2 / 25.2 = 1/126 into it.
    ({"type": "wsd", "decay_epochs": 2.1, "per": "step"}, 12, 94, BASE),
    (
        {"type": "wsd", "decay_epochs": 2.1, "per": "step"},
        12,
        95,
        BASE * (1 - math.sqrt(1 / 126)),
    ),
    # ... after a warmup of 0.1 · 12 = 1.2 steps: step 1 warms up, step 2 is stable.
    ({"type": "wsd", "decay_epochs": 2.1, "warmup_epochs": 0.1}, 12, 1, BASE / 1.2),
    ({"type": "wsd", "decay_epochs": 2.1, "warmup_epochs": 0.1}, 12, 2, BASE),
    # inverse_sqrt after a 1.2-step warmup, timescale 1.2: step 2 is lr · sqrt(1.2 / 2).
    ({"type": "inverse_sqrt", "warmup_epochs": 0.1}, 12, 2, BASE * math.sqrt(0.6)),
    # rex over 2.5 · 12 = 30 steps: step 15 is z = 1/2, 0.5 / 0.75; step 30 reaches 0.
    ({"type": "rex", "decay_epochs": 2.5, "per": "step"}, 12, 15, BASE * 2 / 3),
    ({"type": "rex", "decay_epochs": 2.5, "per": "step"}, 12, 30, 0.0),
    # constant after a warmup of 0.25 · 12 = 3 steps: step 2 is 2/3 of lr, step 3 is lr.
    ({"type": "constant", "warmup_epochs": 0.25}, 12, 2, BASE * 2 / 3),
    ({"type": "constant", "warmup_epochs": 0.25}, 12, 3, BASE),
]


@pytest.mark.parametrize(
    ("fields", "per_epoch", "step", "expected"),
    EXACT_BOUNDARIES,
    ids=[f"{fields['type']}-{step}" for fields, _, step, _ in EXACT_BOUNDARIES],
)
def test_fractional_durations_land_exactly_on_their_ticks(
    fields, per_epoch, step, expected
) -> None:
    rate = rate_function(make(**fields), BASE, per_epoch, 10)
    assert rate(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_cosine_restarts_with_the_shortest_period_is_quick_and_bounded() -> None:
    # One tick per period (t_mul 1) over 10,000 ticks: the index comes from the closed form.
    rate = rate_function(
        make(type="cosine_restarts", first_decay_epochs=1, t_mul=1, alpha=0.5), BASE, 1, 10_000
    )
    assert [rate(t) for t in (0, 1, 9_999)] == [BASE, BASE, BASE]  # every tick is a restart peak
    with pytest.raises(ValueError, match="at least one tick"):
        rate_function(make(type="cosine_restarts", first_decay_epochs=0.5), BASE, 12, 10)


def test_every_schedule_family_has_a_builder() -> None:
    """A family added to the config's union without a builder fails here, not in training."""
    from lrstudy.config.schedules import SCHEDULE_CLASSES
    from lrstudy.schedules import BUILDERS

    missing = [
        cls.__name__ for cls in SCHEDULE_CLASSES if not any(map(cls.__mro__.__contains__, BUILDERS))
    ]
    assert missing == []
    assert len(SCHEDULE_CLASSES) == len(SCHEDULE_TYPES) == 12


# --- Issue 18: warmup-stable-decay, inverse square root, REX, constant with a warmup. -----
# Hand-computed from the published formulas, and from transformers' and timm's code read
# (neither is installed): get_wsd_schedule's and get_inverse_sqrt_schedule's lr_lambda in
# src/transformers/optimization.py, WSDLRScheduler._get_lr in timm/scheduler/wsd_lr.py.
# Both count the step from 0 (LambdaLR's step; timm's step_update(num_updates) after each
# update), as lrstudy's tick t does.


def test_wsd_at_every_phase_boundary() -> None:
    # 10 epochs of 10 steps: N = 100 ticks, warmup W = 10, cooldown D = 20 from 100 − 20 = 80.
    # Warmup t / W; stable 1; cooldown 1 − sqrt(p), p = (t − 80) / 20 (Hägele et al. 2024).
    schedule = make(type="wsd", warmup_epochs=1, decay_epochs=2)
    rate = rate_function(schedule, 1.0, 10, 10)
    expected = {
        0: 0.0,
        5: 0.5,
        9: 0.9,  # the warmup's last tick
        10: 1.0,  # the stable phase's first
        79: 1.0,  # ... and last
        80: 1.0,  # the cooldown's first tick: p = 0
        81: 1 - math.sqrt(1 / 20),  # 0.776393...
        85: 0.5,  # p = 1/4
        95: 1 - math.sqrt(3 / 4),  # 0.133975...
        99: 1 - math.sqrt(19 / 20),  # the run's last tick: 0.025321..., not yet min_lr
        100: 0.0,  # p = 1 one tick after the run, as in transformers and timm
    }
    for t, value in expected.items():
        assert rate(t) == pytest.approx(value, rel=1e-12, abs=1e-15), t
    # decay_fraction 0.2 of the run is the same cooldown.
    same = rate_function(make(type="wsd", warmup_epochs=1, decay_fraction=0.2), 1.0, 10, 10)
    assert [same(t) for t in range(101)] == [rate(t) for t in range(101)]


@pytest.mark.parametrize(
    ("decay_type", "expected"),
    [
        # min_lr 0.1 · lr; p = (t − 80) / 20; rate 0.1 + 0.9 · c(p).
        ("linear", {80: 1.0, 85: 0.1 + 0.9 * 0.75, 90: 0.55, 99: 0.1 + 0.9 * 0.05, 100: 0.1}),
        # c(p) = (1 + cos(pi p)) / 2: p = 1/4 → 0.853553..., p = 1/2 → 1/2.
        (
            "cosine",
            {
                80: 1.0,
                85: 0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2,
                90: 0.55,
                100: 0.1,
            },
        ),
        ("1-sqrt", {80: 1.0, 85: 0.55, 100: 0.1}),
    ],
)
def test_wsd_cooldown_shapes_and_floor(decay_type, expected) -> None:
    schedule = make(type="wsd", decay_epochs=2, decay_type=decay_type, min_lr_ratio=0.1, per="step")
    rate = rate_function(schedule, 1.0, 10, 10)
    assert [rate(t) for t in (0, 79)] == [1.0, 1.0]  # no warmup: stable from the start
    for t, value in expected.items():
        assert rate(t) == pytest.approx(value, rel=1e-12), t
    by_min_lr = make(type="wsd", decay_epochs=2, decay_type=decay_type, min_lr=0.1, per="step")
    assert rate_function(by_min_lr, 1.0, 10, 10)(90) == pytest.approx(rate(90), rel=1e-12)


def test_wsd_per_epoch_ends_one_step_short_of_min_lr() -> None:
    # 10 epochs, cooldown 5 epochs: epochs 5..9 at p = 0, 1/5, ..., 4/5. timm's docstring:
    # "the last of 5 decay epochs w/ '1-sqrt' is at ~10% of the stable lr": 1 − sqrt(4/5).
    rate = rate_function(make(type="wsd", decay_epochs=5), 1.0, 12, 10)
    assert [rate(t) for t in (4, 5)] == [1.0, 1.0]
    assert rate(9) == pytest.approx(0.10557280900008414, rel=1e-12)


# transformers get_wsd_schedule(optimizer with lr 0.05, num_warmup_steps=10,
# num_decay_steps=20, num_training_steps=100, decay_type="1-sqrt", min_lr_ratio=0):
# warmup s / 10; stable until 10 + 70; then progress (s − 80) / max(1, 20), factor
# 1 − sqrt(progress); from s = 100 on, min_lr_ratio.
TRANSFORMERS_WSD_1SQRT = {
    0: 0.0,
    5: 0.025,
    10: 0.05,
    79: 0.05,
    80: 0.05,
    81: 0.038819660112501056,  # 0.05 · (1 − sqrt(0.05))
    85: 0.025,  # 0.05 · (1 − sqrt(0.25))
    95: 0.00669872981077807,  # 0.05 · (1 − sqrt(0.75))
    99: 0.0012660282759551834,  # 0.05 · (1 − sqrt(0.95))
    100: 0.0,
}
# ... with decay_type="cosine", min_lr_ratio=0.1 (num_cycles 0.5): the factor f becomes
# f · 0.9 + 0.1 in warmup and cooldown alike, so its warmup starts at 0.1 · lr.
TRANSFORMERS_WSD_COSINE = {
    0: 0.005000000000000001,  # 0.05 · 0.1
    5: 0.027500000000000004,  # 0.05 · (0.5 · 0.9 + 0.1)
    10: 0.05,
    80: 0.05,
    85: 0.04340990257669732,  # 0.05 · (0.5 · (1 + cos(pi / 4)) · 0.9 + 0.1)
    90: 0.027500000000000004,  # 0.05 · (0.5 · 0.9 + 0.1)
    99: 0.005277012336609404,  # 0.05 · (0.5 · (1 + cos(0.95 pi)) · 0.9 + 0.1)
    100: 0.005000000000000001,
}
# timm WSDLRScheduler(t_initial=90, decay_t=20, warmup_t=10, warmup_lr_init=0.005,
# lr_min=0.001, decay_fn="linear"), base lr 0.05: warmup 0.005 + t · 0.0045; then
# t_decay = (t − 10) − (90 − 20), stable while t_decay <= 0, else
# 0.001 + 0.049 · (1 − min(t_decay / 20, 1)).
TIMM_WSD_LINEAR = {
    0: 0.005,
    5: 0.027500000000000004,
    10: 0.05,
    80: 0.05,
    85: 0.037750000000000006,  # t_decay 5: 0.001 + 0.049 · 0.75
    99: 0.003450000000000002,  # t_decay 19: 0.001 + 0.049 · 0.05
    100: 0.001,
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # num_warmup_steps 10 = 1 epoch of 10 steps; num_decay_steps 20 = 2 epochs.
        ({"warmup_epochs": 1, "decay_epochs": 2}, TRANSFORMERS_WSD_1SQRT),
        (
            {
                "warmup_epochs": 1,
                "decay_fraction": 0.2,
                "decay_type": "cosine",
                "min_lr_ratio": 0.1,
                "warmup_start_factor": 0.1,  # transformers warms up from min_lr_ratio · lr
            },
            TRANSFORMERS_WSD_COSINE,
        ),
        # warmup_t 10, t_initial 90 = the run's 100 ticks less the warmup; decay_t 20.
        (
            {
                "warmup_epochs": 1,
                "decay_epochs": 2,
                "decay_type": "linear",
                "min_lr": 0.001,
                "warmup_start_factor": 0.1,  # warmup_lr_init 0.005 = 0.1 · 0.05
            },
            TIMM_WSD_LINEAR,
        ),
    ],
    ids=["transformers-1-sqrt", "transformers-cosine", "timm-linear"],
)
def test_wsd_matches_transformers_and_timm(fields, expected) -> None:
    rate = rate_function(make(type="wsd", per="step", **fields), 0.05, 10, 10)
    for t, value in expected.items():
        assert rate(t) == pytest.approx(value, rel=1e-12, abs=1e-18), t


def test_wsd_per_epoch_matches_timm_stepped_per_epoch() -> None:
    # timm WSDLRScheduler(t_initial=10, decay_t=5), t_in_epochs, step(epoch) at each epoch's
    # start: t_decay = t − 5; epoch 6 → 0.05 · (1 − sqrt(1/5)), epoch 9 → 0.05 · (1 − sqrt(4/5)).
    rate = rate_function(make(type="wsd", decay_epochs=5), 0.05, 12, 10)
    assert rate(5) == 0.05
    assert rate(6) == pytest.approx(0.02763932022500211, rel=1e-12)
    assert rate(9) == pytest.approx(0.005278640450004208, rel=1e-12)


def test_wsd_builder_refuses_a_cooldown_that_does_not_fit() -> None:
    # parse_config refuses these first (tests/bad_params.py); a direct call is refused too.
    with pytest.raises(ValueError, match="does not fit a run"):
        rate_function(make(type="wsd", decay_epochs=5), 0.05, 12, 4)
    with pytest.raises(ValueError, match="does not fit a run"):
        rate_function(make(type="wsd", decay_fraction=0.5, warmup_epochs=6), 0.05, 12, 10)
    # warmup ending exactly where the cooldown starts is allowed (timm: decay_t <= t_initial).
    rate = rate_function(make(type="wsd", decay_fraction=0.5, warmup_epochs=5), 1.0, 2, 10)
    assert [rate(t) for t in (9, 10, 15)] == pytest.approx([0.9, 1.0, 1 - math.sqrt(0.5)])


# transformers get_inverse_sqrt_schedule(lr 0.05, num_warmup_steps=10, timescale=None → 10):
# s / 10 while s < 10, then 1 / sqrt((s + timescale − 10) / timescale).
TRANSFORMERS_INVERSE_SQRT = {
    0: 0.0,
    5: 0.025,
    10: 0.05,  # 1 / sqrt(10 / 10)
    40: 0.025,  # 1 / sqrt(40 / 10) = 1/2: the Transformer's lr · sqrt(warmup / step)
    90: 0.016666666666666666,  # 1 / sqrt(90 / 10) = 1/3
}
# ... with timescale=20: shift 10, 1 / sqrt((s + 10) / 20).
TRANSFORMERS_INVERSE_SQRT_20 = {
    10: 0.05,
    30: 0.035355339059327376,  # 1 / sqrt(2)
    70: 0.025,  # 1 / sqrt(4)
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"warmup_epochs": 1}, TRANSFORMERS_INVERSE_SQRT),
        ({"warmup_epochs": 1, "timescale_epochs": 2}, TRANSFORMERS_INVERSE_SQRT_20),
    ],
    ids=["timescale-warmup", "timescale-20"],
)
def test_inverse_sqrt_matches_transformers(fields, expected) -> None:
    rate = rate_function(make(type="inverse_sqrt", **fields), 0.05, 10, 10)
    for t, value in expected.items():
        assert rate(t) == pytest.approx(value, rel=1e-12, abs=1e-18), t


def test_inverse_sqrt_without_warmup_is_timms_rsqrt() -> None:
    # timm's rsqrt stable phase (1 + t / timescale) ** -0.5, timescale 2 epochs, per epoch.
    rate = rate_function(make(type="inverse_sqrt", timescale_epochs=2), 1.0, 12, 20)
    assert [rate(t) for t in (0, 2, 6, 16)] == pytest.approx(
        [1.0, 1 / math.sqrt(2), 0.5, 1 / 3], rel=1e-12
    )


def test_rex_is_chen_wolfe_kyrillidis() -> None:
    # lr · (1 − z) / (1/2 + (1 − z) / 2), z = t / T; T = the run's 10 epochs.
    rate = rate_function(make(type="rex"), 0.05, 12, 10)
    expected = {
        0: 0.05,
        1: 0.04736842105263159,  # 0.05 · 0.9 / 0.95
        5: 0.03333333333333333,  # 0.05 · 0.5 / 0.75
        9: 0.009090909090909089,  # 0.05 · 0.1 / 0.55
        10: 0.0,
        12: 0.0,  # after T the rate stays 0
    }
    for t, value in expected.items():
        assert rate(t) == pytest.approx(value, rel=1e-12, abs=1e-18), t
    # After a 2-epoch warmup T is the rest of a 12-epoch run (10), counted from its end.
    warmed = rate_function(make(type="rex", warmup_epochs=2, per="epoch"), 0.05, 12, 12)
    assert [warmed(t) for t in (0, 1, 2)] == pytest.approx([0.0, 0.025, 0.05])
    assert warmed(7) == pytest.approx(0.03333333333333333, rel=1e-12)


def test_constant_with_warmup_is_transformers_constant_with_warmup() -> None:
    # get_constant_schedule_with_warmup(num_warmup_steps=10): s / 10 below 10, then 1.
    rate = rate_function(make(type="constant", warmup_epochs=1), 0.05, 10, 5)
    assert [rate(t) for t in (0, 3, 9, 10, 49)] == pytest.approx([0.0, 0.015, 0.045, 0.05, 0.05])


def test_new_formulas_directly() -> None:
    assert schedules.warmup_stable_decay(5, 1.0, 4, 4, "linear") == 0.75
    assert schedules.warmup_stable_decay(4, 1.0, 4, 4) == 1.0
    assert schedules.warmup_stable_decay(99, 1.0, 4, 4, "cosine", 0.2) == 0.2
    with pytest.raises(ValueError, match="unknown decay_type 'sqrt'"):
        schedules.warmup_stable_decay(5, 1.0, 4, 4, "sqrt")
    assert schedules.inverse_sqrt(30, 1.0, 10) == 0.5
    assert schedules.rex(5, 1.0, 10) == pytest.approx(2 / 3)
