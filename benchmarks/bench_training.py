"""Training throughput, measured side by side in one process (``make bench``).

Compares, on the default data and the ``lr_medium`` setting (50 epochs, batch 100,
validation every epoch):

- ``notebook``: ``model.fit`` on NumPy arrays, as the 2019 notebook did;
- ``tf.data``: what lrstudy does (cached, seeded per-epoch reshuffle, prefetch);
- ``tf.data + DVCLive``: the same plus lrstudy's per-epoch DVCLive logging.

Methods are interleaved round by round so machine noise hits them alike; the report is
the median seconds per model and each method's speed relative to the notebook's. Peak
resident memory of the process is printed for reference. Timing is never asserted in
tests: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from lrstudy.config import load_config
from lrstudy.data import generate, split
from lrstudy.model import build_model, compile_model, import_keras
from lrstudy.training import live_logger, train_seed

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="models per method")
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    started = time.perf_counter()
    keras = import_keras()
    import_seconds = time.perf_counter() - started

    config = load_config(ROOT / "params.yaml")
    parts = split(generate(config.data), config.split)
    spec = replace(config.run("lr_medium"), epochs=args.epochs)
    train, val = parts["train"], parts["val"]

    def notebook(seed: int) -> None:
        keras.utils.set_random_seed(seed)
        model = build_model(config.model, n_features=2)
        compile_model(model, config.model, spec.lr)
        model.fit(
            train.x,
            train.y.astype(np.float32),
            batch_size=spec.batch_size,
            epochs=spec.epochs,
            validation_data=(val.x, val.y.astype(np.float32)),
            verbose=0,
        )

    def pipeline(seed: int) -> None:
        train_seed(spec, config.model, seed, train, val)

    def pipeline_live(seed: int) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            train_seed(spec, config.model, seed, train, val, [live_logger(Path(scratch) / "live")])

    methods: dict[str, Callable[[int], None]] = {
        "notebook (fit on NumPy)": notebook,
        "tf.data (lrstudy)": pipeline,
        "tf.data + DVCLive (lrstudy stage)": pipeline_live,
    }
    for method in methods.values():  # warm-up: first trace of each code path
        method(100)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for round_index in range(args.rounds):
        for name, method in methods.items():
            start = time.perf_counter()
            method(round_index)
            times[name].append(time.perf_counter() - start)

    baseline = statistics.median(times["notebook (fit on NumPy)"])
    print(f"import tensorflow/keras: {import_seconds:.2f} s")
    print(
        f"{spec.epochs} epochs, batch {spec.batch_size}, {len(train)} train rows, "
        f"{args.rounds} models per method (median)\n"
    )
    print("| method | s / model | speed-up vs notebook |\n|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {baseline / median:.2f}× |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
