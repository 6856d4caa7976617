"""The network: the notebook's small dense classifier, built from the config.

Two classes: one sigmoid unit, binary cross-entropy (the notebook). k > 2 classes: k
softmax units, sparse categorical cross-entropy on the integer labels (0 .. k - 1).

TensorFlow/Keras is imported inside the functions, through ``lrstudy.runtime.import_keras``
(which pins its arithmetic), so modules that only validate, plot or report never pay for it.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from lrstudy.config import ModelConfig
from lrstudy.config.optimizers import Optimizer, OptimizerConfig
from lrstudy.io import atomic_path
from lrstudy.keras_optimizers import prodigy_class, register_all, schedule_free_adamw_class
from lrstudy.runtime import import_keras

if TYPE_CHECKING:
    import keras
    import numpy as np

BINARY_LOSS = "binary_crossentropy"
MULTICLASS_LOSS = "sparse_categorical_crossentropy"


METRICS = ("accuracy",)


def build_model(config: ModelConfig, n_features: int, n_classes: int) -> keras.Model:
    """Dense(units, activation) per hidden layer, then the output layer.

    The weights are drawn from Keras' global seed (``keras.utils.set_random_seed``).

    Args:
        config: the model section.
        n_features: input width.
        n_classes: classes to predict (``data.n_classes``, at least 2).

    Returns:
        An uncompiled model: output Dense(1, sigmoid), P(y = 1), for 2 classes; Dense(k,
        softmax), the k class probabilities, for k > 2.
    """
    keras = import_keras()

    layers: list[keras.layers.Layer] = [keras.Input(shape=(n_features,), name="features")]
    for index, units in enumerate(config.hidden_units):
        layers.append(
            keras.layers.Dense(units, activation=config.activation, name=f"hidden_{index}")
        )
    if n_classes == 2:
        layers.append(keras.layers.Dense(1, activation="sigmoid", name="probability"))
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax", name="probabilities"))
    return keras.Sequential(layers, name="classifier")


def initial_weights(
    config: ModelConfig, n_features: int, n_classes: int, seed: int
) -> list[np.ndarray]:
    """The weights ``build_model`` draws after ``keras.utils.set_random_seed(seed)``, unbuilt.

    Bit for bit the same arrays, 20 times faster than building the model (the population
    trainer draws hundreds): Keras gives each Dense layer's default ``GlorotUniform`` an
    integer seed when the layer is constructed, ``random.randint(1, 10**9)`` from Python's
    global generator (``keras.src.random.seed_generator.make_default_seed``), which
    ``set_random_seed`` seeds; the kernel is that initializer's draw of ``(fan_in,
    fan_out)``; the bias is zeros. A test checks equality with ``build_model`` over seeds,
    depths and class counts, so a Keras release that changes this fails it.

    Returns:
        ``get_weights()`` order: per Dense layer, kernel ``(fan_in, fan_out)`` then bias
        ``(fan_out,)``, float32.
    """
    import random

    import numpy as np

    keras = import_keras()
    draws = random.Random(seed)
    weights: list[np.ndarray] = []
    shapes = layer_shapes(config, n_features, n_classes)
    for kernel_shape, bias_shape in zip(shapes[::2], shapes[1::2], strict=True):
        kernel = keras.initializers.GlorotUniform(seed=draws.randint(1, 10**9))
        weights += [np.asarray(kernel(kernel_shape), np.float32), np.zeros(bias_shape, np.float32)]
    return weights


def layer_shapes(config: ModelConfig, n_features: int, n_classes: int) -> list[tuple[int, ...]]:
    """``build_model``'s weight shapes in Keras' order: kernel ``(in, out)``, bias ``(out,)``."""
    widths = [n_features, *config.hidden_units, 1 if n_classes == 2 else n_classes]
    shapes: list[tuple[int, ...]] = []
    for fan_in, fan_out in itertools.pairwise(widths):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def loss_for(model: keras.Model) -> str:
    """Binary cross-entropy for one output unit, sparse categorical for k softmax units."""
    return BINARY_LOSS if model.output_shape[-1] == 1 else MULTICLASS_LOSS


def make_optimizer(
    config: OptimizerConfig | str, learning_rate: float | object
) -> keras.optimizers.Optimizer:
    """The configured optimizer at a rate (a float or a Keras schedule).

    Args:
        config: ``model.optimizer`` or a setting's override (a bare name: Keras' defaults).
        learning_rate: the rate, a float or a Keras schedule.
    """
    keras = import_keras()

    if isinstance(config, str):
        config = TypeAdapter(Optimizer).validate_python(config)
    options = config.model_dump(exclude={"type"})
    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
        # Keras' class, its averaging weight exact on every CPU (lrstudy.keras_optimizers).
        "schedule_free_adamw": schedule_free_adamw_class(),
        "prodigy": prodigy_class(),  # the authors' algorithm (lrstudy.prodigy)
    }
    # A fixed name: Keras would otherwise number every new optimizer (adam_1, adam_2, ...)
    # into the saved config, so identical models saved in one process would differ.
    return classes[config.type](learning_rate=learning_rate, name=config.type, **options)


def compile_model(model: keras.Model, config: ModelConfig, learning_rate: float | object) -> None:
    """Compile with the configured optimizer, the output's cross-entropy and accuracy.

    The loss follows the output layer (``loss_for``); Keras resolves ``accuracy`` to binary
    or sparse categorical accuracy from the shapes of labels and predictions. The
    optimizer is built here, eagerly, on the model's weights as they stand: Keras'
    ``ScheduleFreeAdamW`` copies them into its ``z`` when built, and built inside the first
    traced step of ``fit`` or ``train_on_batch`` that copy never happens (``z`` stays 0,
    and a first step at rate 0 sets every weight to 0). Other optimizers' slots start at
    zeros either way.
    """
    model.compile(
        optimizer=make_optimizer(config.optimizer, learning_rate),
        loss=loss_for(model),
        metrics=list(METRICS),
    )
    model.optimizer.build(model.trainable_variables)


def compiled_model(
    config: ModelConfig, n_features: int, n_classes: int, learning_rate: float
) -> keras.Model:
    """A compiled model of the network (``build_model`` + ``compile_model``).

    Its optimizer is built (its variables exist); give it a run's weights and optimizer
    state (``set_trained_state``) before ``save_model``: the saved file holds the network,
    its weights, the compile configuration and the optimizer's state.
    ``evaluate_model`` needs the compiled loss and metric.
    """
    model = build_model(config, n_features, n_classes)
    compile_model(model, config, learning_rate)
    return model


def set_trained_state(
    model: keras.Model, weights: list[np.ndarray], optimizer_state: list[np.ndarray]
) -> None:
    """Give a ``compiled_model`` a training run's weights and optimizer state.

    Args:
        model: from ``compiled_model`` (its optimizer built).
        weights: ``TrainingResult.weights``.
        optimizer_state: ``TrainingResult.optimizer_state``, in ``optimizer.variables``'s
            order: the saved model loads without Keras' warning about a missing optimizer
            state and resumes where training stopped.
    """
    model.set_weights(weights)
    variables = model.optimizer.variables
    if len(variables) != len(optimizer_state):
        raise ValueError(
            f"the optimizer has {len(variables)} variables, the state {len(optimizer_state)}"
        )
    for variable, value in zip(variables, optimizer_state, strict=True):
        variable.assign(value)


def save_model(model: keras.Model, path: str | Path) -> None:
    """Save a ``.keras`` file byte-for-byte reproducibly, atomically.

    Keras stamps the save time into ``metadata.json`` and the zip entry of the weights,
    and numbers shared objects in ``config.json`` by their memory address, so two
    identical models would give different files (and a changed ``dvc.lock``). The
    archive is rewritten with fixed entry times, without ``date_saved`` and with shared
    objects numbered 1, 2, ... in order of appearance; ``keras.saving.load_model`` reads
    it as before.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".save.") as scratch:
        raw = Path(scratch) / "model.keras"
        model.save(raw)
        with (
            zipfile.ZipFile(raw) as source,
            atomic_path(path) as temporary,
            zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as target,
        ):
            for info in source.infolist():
                payload = source.read(info.filename)
                if info.filename == "metadata.json":
                    metadata = json.loads(payload)
                    metadata.pop("date_saved", None)
                    payload = json.dumps(metadata, sort_keys=True).encode()
                elif info.filename == "config.json":
                    payload = json.dumps(_renumber_shared_objects(json.loads(payload))).encode()
                entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = 0o644 << 16
                target.writestr(entry, payload)


def _renumber_shared_objects(config: object) -> object:
    """Replace every ``shared_object_id`` by its rank of first appearance (1, 2, ...)."""
    numbers: dict[object, int] = {}

    def walk(node: object) -> object:
        if isinstance(node, dict):
            return {
                key: numbers.setdefault(value, len(numbers) + 1)
                if key == "shared_object_id"
                else walk(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(config)


def load_model(path: str | Path) -> keras.Model:
    """Load a model saved by ``save_model`` (lrstudy's optimizer classes registered first)."""
    keras = import_keras()
    register_all()
    return keras.saving.load_model(path)
