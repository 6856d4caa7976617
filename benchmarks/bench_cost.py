"""The constants of ``lrstudy.cost``'s time estimate, measured (``benchmarks/cost.md``).

``cost.epoch_seconds`` models one compiled epoch of a population chunk of ``m`` members as

    steps * STEP_SECONDS + m * (steps * MEMBER_STEP_SECONDS + macs * MAC_SECONDS)

and drawing a member's initial weights (one ``build_model`` per seed) ``MEMBER_SECONDS``,

where ``macs`` is one member's multiply-adds in the epoch (``cost.epoch_macs``: forward and
backward over the train rows, forward over the validation rows). This script times
``training.train_population`` (what the stages run: compiled epochs plus the Python between
them) in this process for a few populations that separate the three terms (one member of a
tiny network: dispatch; many members of it: per-member overhead; few members of a wide one:
arithmetic), each at two lengths (separating the weight draws from the epochs), after a
warm-up of each (the trace), and fits the constants by least squares on relative error.
``PROCESS_SECONDS`` is timed apart: a fresh process (``--process``) that imports
TensorFlow, builds and traces a population and trains one member for one epoch, what every
training stage pays before its first epoch (median of 3). It prints a Markdown section for
``benchmarks/cost.md``.

    PYTHONPATH=src python benchmarks/bench_cost.py
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (hidden units, members, epochs): dispatch-bound, member-bound and arithmetic-bound runs.
CASES = (
    ((10, 10), 1, 40),
    ((10, 10), 1, 10),
    ((10, 10), 20, 40),
    ((10, 10), 20, 5),
    ((10, 10), 200, 20),
    ((10, 10), 200, 2),
    ((256, 256), 2, 10),
    ((512, 512), 4, 6),
    ((1024, 1024), 2, 3),
)


def time_case(hidden: tuple[int, ...], members: int, epochs: int) -> tuple[float, int, int]:
    """Seconds of ``train_population`` for one case (after a warm-up), steps, member MACs."""
    from lrstudy.config import load_config
    from lrstudy.cost import epoch_macs
    from lrstudy.data import generate, split
    from lrstudy.population import Member, Population
    from lrstudy.rate_plan import rate_plan
    from lrstudy.sweep_training import sweep_spec
    from lrstudy.training import train_population

    config = load_config(ROOT / "params.yaml")
    model = config.model.model_copy(update={"hidden_units": list(hidden)})
    parts = split(generate(config.data), config.split)
    train, val = parts["train"], parts["val"]
    spec = replace(sweep_spec(config, 0.005), epochs=epochs)
    plan = rate_plan(spec, len(train))
    population = Population(
        model, train, val, n_classes=config.data.n_classes, batch_size=spec.batch_size
    )
    list(train_population(population, [Member(0, replace(plan, epochs=1))]))  # the trace
    batch = [Member(seed, plan) for seed in range(members)]
    start = time.perf_counter()
    list(train_population(population, batch))
    seconds = time.perf_counter() - start
    macs = epoch_macs(model, train.x.shape[1], config.data.n_classes, len(train), len(val))
    return seconds, plan.steps_per_epoch * epochs, macs * epochs


def process_seconds() -> float:
    """Median wall time of 3 fresh processes that import, trace and train one tiny epoch."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--process"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    if sys.argv[1:] == ["--process"]:
        time_case((10, 10), 1, 1)
        return
    process = process_seconds()
    print(f"PROCESS_SECONDS = {process:.1f}", flush=True)
    rows, times = [], []
    for hidden, members, epochs in CASES:
        seconds, steps, macs = time_case(hidden, members, epochs)
        rows.append([members, steps, members * steps, members * macs])
        times.append(seconds)
        print(f"{list(hidden)} x {members} members, {epochs} epochs: {seconds:.2f} s", flush=True)
    import numpy as np  # after lrstudy (time_case imports it): lrstudy pins NumPy's dispatch

    design, seconds = np.array(rows, float), np.array(times)
    fit, *_ = np.linalg.lstsq(design / seconds[:, None], np.ones(len(times)), rcond=None)
    predicted = design @ fit
    print(
        f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()}"
    )
    print(
        f"MEMBER_SECONDS = {fit[0]:.3e}, STEP_SECONDS = {fit[1]:.3e}, "
        f"MEMBER_STEP_SECONDS = {fit[2]:.3e}, MAC_SECONDS = {fit[3]:.3e}"
    )
    print("\n| hidden units | members | epochs | measured s | model s |\n|---|---|---|---|---|")
    for (hidden, members, epochs), real, guess in zip(CASES, times, predicted, strict=True):
        print(f"| {list(hidden)} | {members} | {epochs} | {real:.2f} | {guess:.2f} |")


if __name__ == "__main__":
    main()
