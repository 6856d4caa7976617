from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

from lrstudy.config import ModelConfig
from lrstudy.model import build_model, compile_model, load_model, save_model

keras = pytest.importorskip("keras")


def test_notebook_architecture_and_parameter_count(config) -> None:
    model = build_model(config.model, n_features=2)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [10, 10, 1]
    assert [layer.activation.__name__ for layer in dense] == ["tanh", "tanh", "sigmoid"]
    # (2*10 + 10) + (10*10 + 10) + (10*1 + 1) = 151, the notebook's summary.
    assert model.count_params() == 151
    assert model.output_shape == (None, 1)


def test_units_and_activation_come_from_params() -> None:
    model = build_model(ModelConfig(hidden_units=[4], activation="relu"), n_features=3)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [4, 1]
    assert dense[0].activation.__name__ == "relu"
    assert model.count_params() == (3 * 4 + 4) + (4 + 1)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adam", "Adam"), ("sgd", "SGD"), ("rmsprop", "RMSprop")],
)
def test_compile_uses_configured_optimizer_and_rate(config, name, cls) -> None:
    model = build_model(config.model.model_copy(update={"optimizer": name}), n_features=2)
    compile_model(model, config.model.model_copy(update={"optimizer": name}), 0.0123)
    assert type(model.optimizer).__name__ == cls
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0123)
    assert model.loss == "binary_crossentropy"


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning")
def test_save_is_byte_reproducible_and_round_trips(tmp_path, config) -> None:
    paths = [tmp_path / "a.keras", tmp_path / "b.keras"]
    models = []
    for path in paths:
        # Two separately built models: other objects at other memory addresses.
        keras.utils.set_random_seed(0)
        model = build_model(config.model, n_features=2)
        compile_model(model, config.model, 0.01)
        save_model(model, path)
        models.append(model)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    # Nothing that varies between saves is left: save time, entry times, addresses.
    with zipfile.ZipFile(paths[0]) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "date_saved" not in json.loads(archive.read("metadata.json"))
        ids = re.findall(r'"shared_object_id": (\d+)', archive.read("config.json").decode())
        assert ids and set(ids) == {"1"}
    loaded = load_model(paths[0])
    points = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(points, verbose=0), models[0].predict(points, verbose=0)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.keras", "b.keras"]


def test_shared_object_ids_are_renumbered_by_first_appearance() -> None:
    from lrstudy.model import _renumber_shared_objects

    config = {
        "a": {"shared_object_id": 140533029646800},
        "b": [{"shared_object_id": 99}, {"shared_object_id": 140533029646800}],
    }
    assert _renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1},
        "b": [{"shared_object_id": 2}, {"shared_object_id": 1}],
    }
