from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

from lrstudy.config import ModelConfig
from lrstudy.model import build_model, compile_model, initial_weights, load_model, save_model

keras = pytest.importorskip("keras")


def test_notebook_architecture_and_parameter_count(config) -> None:
    model = build_model(config.model, n_features=2, n_classes=config.data.n_classes)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [10, 10, 1]
    assert [layer.activation.__name__ for layer in dense] == ["tanh", "tanh", "sigmoid"]
    # (2*10 + 10) + (10*10 + 10) + (10*1 + 1) = 151, the notebook's summary.
    assert model.count_params() == 151
    assert model.output_shape == (None, 1)


def test_units_and_activation_come_from_params() -> None:
    model = build_model(ModelConfig(hidden_units=[4], activation="relu"), n_features=3, n_classes=2)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [4, 1]
    assert dense[0].activation.__name__ == "relu"
    assert model.count_params() == (3 * 4 + 4) + (4 + 1)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adam", "Adam"), ("sgd", "SGD"), ("rmsprop", "RMSprop")],
)
def test_compile_uses_configured_optimizer_and_rate(config, name, cls) -> None:
    adjusted = config.model.model_copy(update={"optimizer": name})
    model = build_model(adjusted, n_features=2, n_classes=config.data.n_classes)
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
        model = build_model(config.model, n_features=2, n_classes=config.data.n_classes)
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


def test_three_classes_get_softmax_and_sparse_categorical_cross_entropy(params) -> None:
    from lrstudy.config import parse_config
    from lrstudy.evaluation import evaluate_model, predict_grid

    params["data"]["n_classes"] = 3
    config = parse_config(params)
    assert config.data.n_classes == 3
    keras.utils.set_random_seed(0)
    model = build_model(config.model, n_features=2, n_classes=config.data.n_classes)
    assert model.output_shape == (None, 3)
    assert model.layers[-1].activation.__name__ == "softmax"
    # (2*10 + 10) + (10*10 + 10) + (10*3 + 3) = 173
    assert model.count_params() == 173
    compile_model(model, config.model, 0.01)
    assert model.loss == "sparse_categorical_crossentropy"

    from lrstudy.data import Dataset

    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    result = evaluate_model(model, Dataset(x, y))
    # Independent references: Keras' own loss class and the argmax accuracy.
    probabilities = model.predict(x, verbose=0)
    expected_loss = keras.losses.SparseCategoricalCrossentropy()(y, probabilities)
    assert result["loss"] == pytest.approx(float(expected_loss), rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(probabilities.argmax(axis=1) == y))

    grid = config.evaluate.grid.model_copy(update={"points": 5})
    layers = predict_grid(model, grid)
    assert layers.shape == (5, 5, 3)
    np.testing.assert_allclose(layers.sum(axis=-1), 1.0, rtol=1e-5)


def test_two_classes_keep_the_notebooks_single_sigmoid(config) -> None:
    assert config.data.n_classes == 2
    model = build_model(config.model, n_features=2, n_classes=config.data.n_classes)
    assert model.output_shape == (None, 1)


def test_grid_predictions_for_three_and_one_features(config) -> None:
    from lrstudy.evaluation import grid_points, predict_grid

    grid = config.evaluate.grid.model_copy(update={"points": 4})
    model = build_model(config.model, n_features=3, n_classes=config.data.n_classes)
    layers = predict_grid(model, grid)
    assert layers.shape == (4, 4)
    expected = model.predict(grid_points(grid, 3), verbose=0).reshape(4, 4)
    np.testing.assert_array_equal(layers, expected)
    assert predict_grid(
        build_model(config.model, n_features=1, n_classes=config.data.n_classes), grid
    ).shape == (0, 0)


@pytest.mark.parametrize("hidden", [[10, 10], [300]])
def test_grid_predicted_in_chunks_equals_one_batch(config, hidden) -> None:
    """predict_grid's chunks give the bits of one predict_on_batch over every grid row."""
    import keras

    from lrstudy.evaluation import PREDICT_ROWS, grid_points, predict_grid

    grid = config.evaluate.grid.model_copy(update={"points": 200})  # 40,000 rows: 5 chunks
    assert grid.points**2 > 4 * PREDICT_ROWS
    keras.utils.set_random_seed(1)
    model = build_model(
        config.model.model_copy(update={"hidden_units": hidden}), n_features=2, n_classes=2
    )
    whole = np.asarray(model.predict_on_batch(grid_points(grid, 2))).reshape(200, 200)
    np.testing.assert_array_equal(predict_grid(model, grid), whole)


@pytest.mark.parametrize(
    ("hidden", "n_features", "n_classes"), [((4, 4, 1), 2, 2), ((8, 3, 5), 10, 20), ((6,), 3, 3)]
)
def test_initial_weights_are_build_models_draws_bit_for_bit(hidden, n_features, n_classes) -> None:
    """The unbuilt draw equals Keras' own: build_model after set_random_seed, every seed."""
    model_config = ModelConfig(hidden_units=list(hidden), activation="tanh")
    for seed in (0, 1, 7, 2**31 - 1, 123_456_789):
        keras.utils.set_random_seed(seed)
        built = build_model(model_config, n_features, n_classes).get_weights()
        drawn = initial_weights(model_config, n_features, n_classes, seed)
        assert [w.shape for w in drawn] == [w.shape for w in built]
        for ours, theirs in zip(drawn, built, strict=True):
            assert ours.dtype == np.float32
            np.testing.assert_array_equal(ours, theirs)
