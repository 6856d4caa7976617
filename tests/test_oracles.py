"""The population's Schedule-Free AdamW against the authors' ``schedulefree`` (PyTorch).

Test-only dependencies (the ``oracle`` extra: torch, schedulefree); skipped with the reason
when absent. The reference weights its average by the rate squared, Keras and the
population by ``1/t``: the two agree at a constant rate without warmup, the case tested.

Problem: three members on a convex quadratic ``½ wᵀAw - bᵀw`` in 6 dimensions, each with
its own rate, 200 steps, gradients computed in float32 from each side's own ``y``.
Tolerance: the two run the same float32 operations in another order (PyTorch updates ``y``
in place by ``lerp`` and ``add``; the population forms ``x`` and then ``y``), a few units in
the last place per step; at rates up to 0.05 the problem contracts and the differences stay
bounded: measured ≤ 1.2e-6 on weights of magnitude ~1, so ``ATOL = 1e-5`` leaves a margin
of eight, while Keras 3.15's reading of ``z`` after its update moves ``x`` by 0.13. (At a
rate of 0.3 the run oscillates and amplifies last-bit differences to 1e-2: not a case
where float32 runs in two orders can be compared.)
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
