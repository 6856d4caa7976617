"""The data set: generate the notebook's Gaussian quantiles, split them, store them.

``generate`` and ``split`` are arrays in, arrays out; ``write_dataset`` and
``read_dataset`` are the CSV format the stages keep the splits in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lrstudy.config import DataConfig, SplitConfig
from lrstudy.io import write_csv

# Accuracy of guessing on the balanced binary data set (1 / data.n_classes in general).
CHANCE_ACCURACY = 0.5


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (float32, n × features) and binary labels ``y`` (int64, n)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def generate(config: DataConfig) -> Dataset:
    """``make_gaussian_quantiles`` with the configured arguments and random_state."""
    from sklearn.datasets import make_gaussian_quantiles  # here: stages that train skip sklearn

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
    from sklearn.model_selection import train_test_split

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


def write_dataset(path: str | Path, data: Dataset) -> None:
    """Write a data set as CSV: columns x0..x{n-1}, y (floats round-trip exactly)."""
    frame = pd.DataFrame(data.x, columns=[f"x{index}" for index in range(data.x.shape[1])])
    frame["y"] = data.y
    write_csv(path, frame)


def read_dataset(path: str | Path) -> Dataset:
    """Read a data set written by ``write_dataset``."""
    frame = pd.read_csv(path)
    features = [column for column in frame.columns if column != "y"]
    return Dataset(
        x=frame[features].to_numpy(dtype=np.float32), y=frame["y"].to_numpy(dtype=np.int64)
    )
