from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_gaussian_quantiles

from lrstudy.config import DataConfig, SplitConfig
from lrstudy.data import Dataset, generate, read_dataset, split, write_dataset


def test_generate_is_the_notebooks_call(config) -> None:
    data = generate(config.data)
    x, y = make_gaussian_quantiles(
        n_samples=2000, n_features=2, n_classes=2, random_state=3, cov=0.1
    )
    np.testing.assert_array_equal(data.x, x.astype(np.float32))
    np.testing.assert_array_equal(data.y, y)
    assert data.x.dtype == np.float32
    assert data.y.dtype == np.int64


def test_default_split_sizes_and_stratification(config) -> None:
    parts = split(generate(config.data), config.split)
    assert {name: len(part) for name, part in parts.items()} == {
        "train": 1120,
        "val": 280,
        "test": 600,
    }
    for part in parts.values():
        # make_gaussian_quantiles gives exactly balanced classes; stratified splits keep them.
        assert part.y.mean() == pytest.approx(0.5)


def test_split_partitions_the_data_without_overlap(config) -> None:
    data = generate(config.data)
    parts = split(data, config.split)
    rows = np.concatenate([part.x for part in parts.values()])
    assert len(rows) == len(data)
    assert len(np.unique(rows, axis=0)) == len(np.unique(data.x, axis=0))
    np.testing.assert_array_equal(
        np.sort(rows.view([("a", np.float32), ("b", np.float32)]).ravel()),
        np.sort(data.x.view([("a", np.float32), ("b", np.float32)]).ravel()),
    )


def test_split_is_reproducible_and_depends_on_random_state(config) -> None:
    data = generate(config.data)
    first = split(data, config.split)
    again = split(data, config.split)
    other = split(data, config.split.model_copy(update={"random_state": 7}))
    np.testing.assert_array_equal(first["train"].x, again["train"].x)
    assert not np.array_equal(first["train"].x, other["train"].x)


def test_unstratified_split_is_allowed() -> None:
    data = generate(DataConfig(n_samples=100, n_features=2, n_classes=2, cov=0.1, random_state=0))
    parts = split(
        data, SplitConfig(test_fraction=0.3, val_fraction=0.2, random_state=0, stratify=False)
    )
    assert [len(parts[name]) for name in ("train", "val", "test")] == [56, 14, 30]


def test_dataset_csv_round_trip_is_exact(tmp_path, config) -> None:
    data = generate(config.data)
    path = tmp_path / "nested" / "data.csv"
    write_dataset(path, data)
    loaded = read_dataset(path)
    np.testing.assert_array_equal(loaded.x, data.x)
    np.testing.assert_array_equal(loaded.y, data.y)
    assert path.read_text().splitlines()[0] == "x0,x1,y"
    assert [p.name for p in path.parent.iterdir()] == ["data.csv"]  # no temp file left


def test_dataset_len() -> None:
    assert len(Dataset(np.zeros((3, 2), np.float32), np.zeros(3, np.int64))) == 3
