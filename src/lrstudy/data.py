"""The data set: generate the notebook's Gaussian quantiles and split them.

Arrays in, arrays out; reading and writing files is the stages' job (see ``io.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_gaussian_quantiles
from sklearn.model_selection import train_test_split

from lrstudy.config import DataConfig, SplitConfig


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (float32, n × features) and binary labels ``y`` (int64, n)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def generate(config: DataConfig) -> Dataset:
    """``make_gaussian_quantiles`` with the configured arguments and random_state."""
    x, y = make_gaussian_quantiles(
        n_samples=config.n_samples,
        n_features=config.n_features,
        n_classes=config.n_classes,
        cov=config.cov,
        random_state=config.random_state,
    )
    return Dataset(x=x.astype(np.float32), y=y.astype(np.int64))


def split(data: Dataset, config: SplitConfig) -> dict[str, Dataset]:
    """Split into train / val / test: test first, then validation from the rest."""
    x_rest, x_test, y_rest, y_test = train_test_split(
        data.x,
        data.y,
        test_size=config.test_fraction,
        random_state=config.random_state,
        stratify=data.y if config.stratify else None,
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=config.val_fraction,
        random_state=config.random_state,
        stratify=y_rest if config.stratify else None,
    )
    return {
        "train": Dataset(x_train, y_train),
        "val": Dataset(x_val, y_val),
        "test": Dataset(x_test, y_test),
    }
