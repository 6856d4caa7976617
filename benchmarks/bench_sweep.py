"""The LR sweep against Keras Tuner's GridSearch over the same rates (``make bench``).

A Keras user would run the learning-rate grid with Keras Tuner: ``GridSearch`` over an
``hp.Choice`` of the same constant Adam rates, ``model.fit`` on NumPy arrays with the
same batch size, epochs and validation data, ``executions_per_trial`` models per rate.
lrstudy's ``sweep`` stage trains the grid (every rate × the study's seeds) as one
population (``lrstudy.population``) and also evaluates every model on the test split.
Both run in this process one after the other; the report is seconds per trained model and
the ratio. Keras Tuner is a benchmark-only dependency (``make bench`` installs it into the
venv; it is not in requirements.lock). Timing is never asserted in tests: these machines
are shared and noisy.
"""

from __future__ import annotations

# isort: off
import lrstudy  # noqa: F401  (first: lrstudy.runtime.pin_numpy caps NumPy's SIMD dispatch)

# isort: on
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lrstudy.config import load_config
from lrstudy.data import generate, split
from lrstudy.model import build_model, compile_model
from lrstudy.runtime import import_keras
from lrstudy.sweep import curve, log_grid, summary
from lrstudy.sweep_training import train_grid

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Time both sweeps and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2, help="Keras Tuner models per rate")
    parser.add_argument("--seeds", type=int, help="lrstudy seeds per rate (default: params)")
    parser.add_argument("--epochs", type=int, help="epochs per model (default: params)")
    args = parser.parse_args()
    try:
        import keras_tuner
    except ImportError:
        raise SystemExit("Keras Tuner is not installed: run `make bench` (installs it)") from None

    keras = import_keras()
    config = load_config(ROOT / "params.yaml")
    train_config = config.train.model_copy(
        update={
            key: value
            for key, value in (("seeds", args.seeds), ("epochs", args.epochs))
            if value is not None
        }
    )
    config = config.model_copy(update={"train": train_config})
    if config.sweep is None:
        raise SystemExit("params.yaml has no sweep section")
    rates = [
        float(rate)
        for rate in log_grid(config.sweep.min_lr, config.sweep.max_lr, config.sweep.per_decade)
    ]
    data = split(generate(config.data), config.split)
    train, val = data["train"], data["val"]

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        model = build_model(config.model, train.x.shape[1], config.data.n_classes)
        compile_model(model, config.model, hp.Choice("learning_rate", rates))
        return model

    with tempfile.TemporaryDirectory() as scratch:
        tuner = keras_tuner.GridSearch(
            build,
            objective="val_accuracy",
            executions_per_trial=args.executions,
            directory=scratch,
            project_name="lr_grid",
            overwrite=True,
            seed=config.train.seed,
        )
        # lrstudy's import_keras enables op determinism, under which fit's shuffling needs
        # a global seed.
        keras.utils.set_random_seed(config.train.seed)
        started = time.perf_counter()
        tuner.search(
            train.x,
            train.y.astype(np.float32),
            batch_size=config.train.batch_size,
            epochs=config.train.epochs,
            validation_data=(val.x, val.y.astype(np.float32)),
            verbose=0,
        )
        tuner_seconds = time.perf_counter() - started
        tuner_best = tuner.get_best_hyperparameters(1)[0].get("learning_rate")
        tuner_models = len(tuner.oracle.trials) * args.executions

    started = time.perf_counter()
    results = train_grid(rates, config, data, progress=lambda line: None)
    sweep_seconds = time.perf_counter() - started
    sweep_models = len(results)
    ours = summary(curve(results))

    tuner_per_model = tuner_seconds / tuner_models
    sweep_per_model = sweep_seconds / sweep_models
    print(
        f"{len(rates)} constant Adam rates {rates[0]:.3g}..{rates[-1]:.3g}, "
        f"{config.train.epochs} epochs, batch {config.train.batch_size}, {len(train)} train rows\n"
    )
    print("| method | models | total s | s / model | speed-up per model | best rate |")
    print("|---|---|---|---|---|---|")
    print(
        f"| Keras Tuner GridSearch ({args.executions} executions per trial) | {tuner_models} "
        f"| {tuner_seconds:.1f} | {tuner_per_model:.2f} | 1.00× | {tuner_best:.3g} |"
    )
    print(
        f"| lrstudy sweep ({config.train.seeds} seeds, + test evaluation) | {sweep_models} "
        f"| {sweep_seconds:.1f} | {sweep_per_model:.2f} | "
        f"{tuner_per_model / sweep_per_model:.2f}× | {ours['best_lr']:.3g} |"
    )


if __name__ == "__main__":
    main()
