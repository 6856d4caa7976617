"""Schedule-Free AdamW and Prodigy against the authors' ``schedulefree`` and ``prodigyopt``.

Test-only dependencies (the ``oracle`` extra: torch, schedulefree, prodigyopt); skipped
with the reason when absent. Schedule-Free: the reference weights its average by the rate
squared, Keras and the population by ``1/t``: the two agree at a constant rate without
warmup, the case tested.

Problem: three members on a convex quadratic ``½ wᵀAw - bᵀw`` in 6 dimensions, each with
its own rate, 200 steps, gradients computed in float32 from each side's own ``y``.
Tolerance: the two run the same float32 operations in another order (PyTorch updates ``y``
in place by ``lerp`` and ``add``; the population forms ``x`` and then ``y``), a few units in
the last place per step; at rates up to 0.05 the problem contracts and the differences stay
bounded: measured ≤ 1.2e-6 on weights of magnitude ~1, so ``ATOL = 1e-5`` leaves a margin
of eight, while Keras 3.15's reading of ``z`` after its update moves ``x`` by 0.13. (At a
rate of 0.3 the run oscillates and amplifies last-bit differences to 1e-2: not a case
where float32 runs in two orders can be compared.) Prodigy: the same problem, the population
and Keras' class (``fit``) step by step, at the tolerances justified above its test.
"""

from __future__ import annotations

import numpy as np
import pytest

from lrstudy.member_optimizers import OPTIMIZERS
from lrstudy.model import make_optimizer
from lrstudy.runtime import import_keras

torch = pytest.importorskip("torch", reason="the oracle extra (torch) is not installed")
schedulefree = pytest.importorskip(
    "schedulefree", reason="the oracle extra (schedulefree) is not installed"
)

ATOL = 1e-5
STEPS = 200


def quadratic():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6)).astype(np.float32)
    a = a @ a.T / 6 + np.eye(6, dtype=np.float32)
    return a, rng.normal(size=6).astype(np.float32), rng.normal(size=(3, 6)).astype(np.float32)


def test_schedule_free_members_follow_the_authors_code() -> None:
    import_keras()
    import tensorflow as tf

    a, b, start = quadratic()
    rates = np.float32([0.002, 0.02, 0.05])
    optimizer = OPTIMIZERS["schedule_free_adamw"](make_optimizer("schedule_free_adamw", 0.0))
    y = tf.constant(start)
    slots = tuple(tf.constant(optimizer.start(start, k)) for k in range(optimizer.n_slots))
    for step in range(STEPS):
        gradient = tf.constant(y.numpy() @ a.T - b)
        y, slots = optimizer.update(y, gradient, slots, rates[:, None], step)
    x = optimizer.evaluated(y, slots).numpy()
    for member, rate in enumerate(rates):
        p = torch.nn.Parameter(torch.tensor(start[member]))
        reference = schedulefree.AdamWScheduleFree([p], lr=float(rate), warmup_steps=0)
        reference.train()
        for _ in range(STEPS):
            p.grad = torch.tensor(a @ p.detach().numpy() - b)
            reference.step()
        np.testing.assert_allclose(y.numpy()[member], p.detach().numpy(), rtol=0, atol=ATOL)
        reference.eval()  # the authors' swap to the average x
        np.testing.assert_allclose(x[member], p.detach().numpy(), rtol=0, atol=ATOL)
    # The problem moves: x is far from where it started.
    assert np.abs(x - start).max() > 0.1


# --- Prodigy against the authors' prodigyopt ---------------------------------------------
#
# Tolerance: the two run Prodigy's float32 tensor arithmetic in other orders (PyTorch's dot
# and sum kernels, FMA in its fused add), and the authors keep d, d_max, the numerator and
# the sums' totals in Python floats (float64) where lrstudy keeps float32. d's estimate is
# a ratio of sums whose terms cancel, and d is a running maximum of it, so those last bits
# reach d and, while d grows by five orders of magnitude and the Adam-like steps of size
# d·lr oscillate around the minimum, the weights. Measured over the three cases (200 steps,
# weights moving by ~2): at most 5.1e-4 apart at any step, at most 2.5e-5 at the end, d
# within 1.1e-4 relative. Hence margins of about four: PRODIGY_ATOL 2e-3 at every step,
# PRODIGY_FINAL_ATOL 1e-4 at the end, PRODIGY_D_RTOL 5e-4. (A faster growth, d_coef 1 with
# growth_rate 1.1, makes one member oscillate so that last bits grow to 0.3 by step 110.)
PRODIGY_ATOL = 2e-3
PRODIGY_FINAL_ATOL = 1e-4
PRODIGY_D_RTOL = 5e-4
PRODIGY_OPTIONS = [
    {},
    {"growth_rate": 1.1, "use_bias_correction": True, "d0": 1e-5, "d_coef": 0.1},
    {"safeguard_warmup": True, "weight_decay": 0.01, "d_coef": 0.5, "beta_3": 0.99},
]


def prodigy_rates() -> np.ndarray:
    """Per step, per member: 1.0 (the authors' advice), 0.5, and 0 for 3 steps then 1.0
    (a warmup from 0: the authors' step does nothing at a zero rate)."""
    rates = np.ones((STEPS, 3), np.float32)
    rates[:, 1] = 0.5
    rates[:3, 2] = 0.0
    return rates


def prodigy_reference(options, start, rates, a, b):
    """The authors' Prodigy on each member alone: its weights and d after every step."""
    from prodigyopt import Prodigy

    options = dict(options)
    options["growth_rate"] = options.get("growth_rate") or float("inf")
    beta_3 = options.pop("beta_3", None)
    weights, ds = np.empty((STEPS, *start.shape), np.float32), np.empty((STEPS, 3))
    for member in range(start.shape[0]):
        p = torch.nn.Parameter(torch.tensor(start[member]))
        reference = Prodigy([p], lr=1.0, beta3=beta_3, **options)
        for step in range(STEPS):
            reference.param_groups[0]["lr"] = float(rates[step, member])
            p.grad = torch.tensor(a @ p.detach().numpy() - b)
            reference.step()
            weights[step, member] = p.detach().numpy()
            ds[step, member] = reference.param_groups[0]["d"]
    return weights, ds


@pytest.mark.parametrize("options", PRODIGY_OPTIONS, ids=["defaults", "growth", "safeguard"])
def test_prodigy_members_and_keras_class_follow_the_authors_code(options) -> None:
    pytest.importorskip("prodigyopt", reason="the oracle extra (prodigyopt) is not installed")
    import tensorflow as tf

    from lrstudy.config.optimizers import ProdigyOptimizer
    from lrstudy.fit_loop import optimizer_logs

    keras = import_keras()
    a, b, start = quadratic()
    rates = prodigy_rates()
    config = ProdigyOptimizer(type="prodigy", **options)
    expected, expected_d = prodigy_reference(options, start, rates, a, b)
    # What both loops log per epoch (runlog.OPTIMIZER_KEYS): the authors'
    # param_groups[0]["d"] * lr after each step.
    effective = expected_d * rates
    # The population's members, each with its rates.
    optimizer = OPTIMIZERS["prodigy"](make_optimizer(config, 0.0))
    key, logged = optimizer.logged
    y = tf.constant(start)
    slots = [[tf.constant(optimizer.start(start, k))] for k in range(optimizer.n_slots)]
    for step in range(STEPS):
        gradient = tf.constant(y.numpy() @ a.T - b)
        lr = tf.constant(rates[step])
        (y,), slots = optimizer.apply([y], [gradient], slots, lr, step)
        np.testing.assert_allclose(y.numpy(), expected[step], rtol=0, atol=PRODIGY_ATOL)
        value = logged(slots, lr, tf.constant(step + 1, tf.int64)).numpy()
        np.testing.assert_allclose(value, effective[step], rtol=PRODIGY_D_RTOL)
    np.testing.assert_allclose(y.numpy(), expected[-1], rtol=0, atol=PRODIGY_FINAL_ATOL)
    d = slots[4][0].numpy()[:, 0]  # prodigy.STATE's d, as every weight holds it
    np.testing.assert_allclose(d, expected_d[-1], rtol=PRODIGY_D_RTOL)
    # Keras' class (the fit loop), member 0's rates.
    keras_optimizer = make_optimizer(config, 1.0)
    variable = keras.Variable(start[0])
    keras_optimizer.build([variable])
    for step in range(STEPS):
        keras_optimizer.learning_rate.assign(rates[step, 0])
        keras_optimizer.apply([tf.constant(a @ variable.numpy() - b)], [variable])
        np.testing.assert_allclose(variable.numpy(), expected[step, 0], rtol=0, atol=PRODIGY_ATOL)
        fit_value = optimizer_logs(keras_optimizer, float(rates[step, 0]))[key]
        assert fit_value == pytest.approx(effective[step, 0], rel=PRODIGY_D_RTOL)
    np.testing.assert_allclose(variable.numpy(), expected[-1, 0], rtol=0, atol=PRODIGY_FINAL_ATOL)
    # The problem moves, and d has grown from d0; the zero-rate member logged 0 while it
    # waited.
    assert np.abs(expected[-1] - start).max() > 0.1
    assert (d > 100 * config.d0).all()
    assert key == "effective_lr" and (effective[:3, 2] == 0).all()


# --- The per-epoch values both loops log (runlog.OPTIMIZER_KEYS) --------------------------
#
# averaging_weight: the reference's weight of step t is lr_max² / Σ lr_max² (r = 0): 1/t at
# a constant rate without warmup, kept in float64; lrstudy's is the float32 1/t, within one
# float32 ulp (2**-23 relative) of it. effective_lr: the authors' d after a step times the
# step's rate, to PRODIGY_D_RTOL (d's tolerance above; the product adds one float32
# rounding; checked in the prodigy test above).


def test_logged_averaging_weight_is_the_authors_at_a_constant_rate() -> None:
    import tensorflow as tf

    from lrstudy.fit_loop import optimizer_logs

    keras = import_keras()
    a, b, start = quadratic()
    rates = np.float32([0.002, 0.02, 0.05])
    optimizer = OPTIMIZERS["schedule_free_adamw"](make_optimizer("schedule_free_adamw", 0.0))
    key, logged = optimizer.logged
    keras_optimizer = make_optimizer("schedule_free_adamw", float(rates[0]))
    variable = keras.Variable(start[0])
    keras_optimizer.build([variable])
    p = torch.nn.Parameter(torch.tensor(start[0]))
    reference = schedulefree.AdamWScheduleFree([p], lr=float(rates[0]), warmup_steps=0)
    reference.train()
    for step in range(STEPS):
        p.grad = torch.tensor(a @ p.detach().numpy() - b)
        reference.step()
        group = reference.param_groups[0]
        expected = group["lr_max"] ** group["weight_lr_power"] / group["weight_sum"]
        value = logged([], tf.constant(rates), tf.constant(step + 1, tf.int64)).numpy()
        np.testing.assert_allclose(value, [expected] * 3, rtol=2**-23)
        keras_optimizer.apply([tf.constant(a @ variable.numpy() - b)], [variable])
        fit_value = optimizer_logs(keras_optimizer, float(rates[0]))[key]
        assert fit_value == pytest.approx(expected, rel=2**-23)
    assert key == "averaging_weight" and expected == pytest.approx(1 / STEPS)
