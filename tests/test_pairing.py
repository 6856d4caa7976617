"""Seeds are matched pairs: two settings with the same seed start from the same weights.

The paired comparisons of statistics.py rest on this (README "Reading the statistics").
"""

from __future__ import annotations

import numpy as np
import pytest

from lrstudy.model import build_model, compile_model

keras = pytest.importorskip("keras")


def initial_weights(config, setting: str, seed: int) -> list[np.ndarray]:
    """The weights a setting's model starts from, seeded as training seeds it."""
    spec = config.run(setting)
    keras.utils.set_random_seed(seed)
    model = build_model(config.model, n_features=2, n_classes=config.data.n_classes)
    compile_model(model, config.model, spec.lr)
    return [np.array(weight) for weight in model.get_weights()]


def test_two_settings_with_the_same_seed_start_from_identical_weights(config) -> None:
    # different rate, schedule, batch size and epochs; same architecture and seed
    first = initial_weights(config, "lr_large", 3)
    second = initial_weights(config, "plateau", 3)
    assert len(first) == len(second) == 6
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other_seed = initial_weights(config, "plateau", 4)
    assert not np.array_equal(first[0], other_seed[0])  # the check can fail
