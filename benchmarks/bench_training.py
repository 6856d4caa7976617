"""Training speed, measured side by side in one run (``make bench``).

Sections, each written to the markdown report (default ``benchmarks/results.md``):

1. Per model, on the default data and ``lr_medium`` (50 epochs, batch 100, validation every
   epoch): the 2019 notebook's ``model.fit`` on NumPy arrays, lrstudy's ``fit`` loop, the
   previous fast loop (``benchmarks/fast_loop.py``: one ``Trainer`` reused across seeds,
   one model at a time) and the population trainer at 1, 20 and 320 members. Methods are
   interleaved round by round so machine noise hits them alike; medians and ratios.
2. The whole ``train@lr_medium`` stage (a fresh process: TensorFlow import, every seed,
   the models, DVCLive logs and test evaluation written) against a process that trains
   the same seeds the notebook's way, both timed from the outside.
3. The oneDNN instruction-set cap: the population trainer in a fresh process per cap
   (``AVX2``, lrstudy's pin, against ``ALL``, oneDNN's default: the best the CPU has),
   seconds per model and a fingerprint of the trained weights (``lr_large``, seeds 0-2).
4. The ``sweep`` stage's training (``sweep_baseline.py``): today's ``train_grid`` (one
   population) against the same grid trained with the fast loop one model at a time.
5. Throughput and peak memory against population size, 1 to 1,000 members
   (``bench_population.py``, a fresh process per size).
6. ``dvc repro`` from scratch: a fresh clone of HEAD against one of HEAD whose stages train
   one model at a time with the fast loop (the same study), per stage (``bench_repro.py``);
   ``--skip-repro`` skips it (about 25 minutes).
7. The ``sweep`` stage in this process against a local 2-worker Dask cluster, and the
   per-chunk costs the README's scaling estimate uses (``bench_cluster.py``);
   ``--skip-cluster`` skips it (about 5 minutes).

Absolute seconds depend on the machine and its load; the ratios are the result. No test
asserts a time: these machines are shared and noisy.
"""

from __future__ import annotations

# isort: off
import lrstudy  # noqa: F401  (first: lrstudy.runtime.pin_numpy caps NumPy's SIMD dispatch)

# isort: on
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench_cluster import cluster_section
from bench_population import COUNTS, curve_section
from bench_repro import repro_section, target_met
from sweep_baseline import sweep_section

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Seconds a command takes; its output goes to a log, a failure stops the benchmark."""
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{completed.stdout}\n{completed.stderr}")
    return seconds


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


# --- 1. Per model, in this process --------------------------------------------------------

NOTEBOOK = "notebook: `model.fit` on NumPy arrays"
FAST = "fast loop, one model at a time (before the population)"
POPULATIONS = (1, 20, 320)


def population_name(members: int) -> str:
    """The per-model table's row of a population of ``members``."""
    return f"population trainer, {members} member{'s' if members > 1 else ''}"


def _sweep_rates(config) -> list[float]:
    from lrstudy.sweep import log_grid

    sweep = config.sweep
    return [float(rate) for rate in log_grid(sweep.min_lr, sweep.max_lr, sweep.per_decade)]


def _methods(spec, config, train, val) -> tuple[dict[str, Callable[[int], object]], dict]:
    """Each method as ``f(round) -> None`` training its models of that round."""
    from fast_loop import Trainer
    from lrstudy.fit_loop import fit_seed
    from lrstudy.model import build_model, compile_model
    from lrstudy.population import Member, Population
    from lrstudy.rate_plan import rate_plan
    from lrstudy.runtime import import_keras
    from lrstudy.training import train_population

    keras = import_keras()
    n_classes = config.data.n_classes

    def notebook(seed: int) -> None:
        keras.utils.set_random_seed(seed)
        model = build_model(config.model, train.x.shape[1], n_classes)
        compile_model(model, config.model, spec.lr)
        model.fit(
            *(train.x, train.y.astype(np.float32)),
            batch_size=spec.batch_size,
            epochs=spec.epochs,
            validation_data=(val.x, val.y.astype(np.float32)),
            verbose=0,
        )

    trainer = Trainer(spec, config.model, train, val, n_classes=n_classes)
    population = Population(
        config.model, train, val, n_classes=n_classes, batch_size=spec.batch_size
    )
    plans = [rate_plan(replace(spec, lr=float(rate)), len(train)) for rate in _sweep_rates(config)]
    draws: dict[int, list[float]] = {members: [] for members in POPULATIONS}

    def stacked(members: int) -> Callable[[int], object]:
        """Round ``r``: 20 (or fewer) new seeds; beyond 20 members, the sweep's rates too."""
        seeds = min(members, 20)
        rates = plans[: members // seeds] if members > seeds else [rate_plan(spec, len(train))]

        def run(round_index: int) -> None:
            # Seeds never drawn before (by any round or population): each draw is paid.
            first = 100_000 * members + round_index * seeds
            started = time.perf_counter()
            for seed in range(first, first + seeds):
                population.initial_weights(seed)
            draws[members].append((time.perf_counter() - started) / members)
            batch = [Member(seed, plan) for plan in rates for seed in range(first, first + seeds)]
            list(train_population(population, batch))

        return run

    methods: dict[str, Callable[[int], object]] = {
        NOTEBOOK: notebook,
        "lrstudy `fit` loop (`train.loop: fit`)": lambda seed: fit_seed(
            spec, config.model, seed, train=train, val=val, n_classes=n_classes
        ),
        FAST: trainer.train,
    }
    methods |= {population_name(members): stacked(members) for members in POPULATIONS}
    return methods, draws


def per_model(rounds: int, epochs: int) -> tuple[list[str], dict[tuple[str, str], float]]:
    """Seconds per model of each method, interleaved round by round.

    Returns:
        The report's lines and the speed-ups ``{(base, method): base's median seconds /
        method's}``, ``base`` the notebook or the fast loop.
    """
    from lrstudy.config import load_config
    from lrstudy.data import generate, split

    config = load_config(ROOT / "params.yaml")
    parts = split(generate(config.data), config.split)
    spec = replace(config.run("lr_medium"), epochs=epochs)
    train, val = parts["train"], parts["val"]
    methods, draws = _methods(spec, config, train, val)
    models = {name: 1 for name in methods} | {population_name(m): m for m in POPULATIONS}
    for method in methods.values():  # warm-up: the first trace of each code path
        method(100)
    for values in draws.values():
        values.clear()
    times: dict[str, list[float]] = {name: [] for name in methods}
    for round_index in range(rounds):
        for name, method in methods.items():
            started = time.perf_counter()
            method(round_index)
            times[name].append((time.perf_counter() - started) / models[name])
    medians = {name: statistics.median(values) for name, values in times.items()}
    # Each round's ratio to the fast loop of the same round: how far the machine's noise
    # moved the speed-up (the table's is the quotient of the medians).
    per_round = {
        name: [f / t for f, t in zip(times[FAST], values, strict=True)]
        for name, values in times.items()
    }
    lines = [
        f"Per model: `lr_medium`, {spec.epochs} epochs, batch {spec.batch_size}, "
        f"{len(train)} train rows, validation every epoch; median of {rounds} rounds, "
        "methods interleaved round by round, after one warm-up round (the trace). Populations "
        "as the stages build them: 1 and 20 members are `lr_medium`'s seeds, 320 members the "
        "sweep's shape (20 seeds × its 16 rates, `lr_medium`'s batch and epochs). Every round "
        "uses seeds never drawn before, so it pays its initial-weight draws (the population: "
        "`model.initial_weights` per seed; the fast loop builds a model per seed); the "
        "weight-draw column is their share of the time. The rounds' range: the lowest and "
        "highest of each round's own ratio to that round's fast loop (the machine's noise).",
        "",
        "| method | s / model | speed-up vs notebook | speed-up vs fast loop | rounds' range "
        "| weight draws |",
        "|---|---|---|---|---|---|",
    ]
    speedups = {}
    for name, median in medians.items():
        members = models[name]
        draw = statistics.median(draws[members]) if name.startswith("population") else None
        speedups[NOTEBOOK, name] = medians[NOTEBOOK] / median
        speedups[FAST, name] = medians[FAST] / median
        low, high = min(per_round[name]), max(per_round[name])
        lines.append(
            f"| {name} | {median:.4f} | {speedups[NOTEBOOK, name]:.1f}× | "
            f"{speedups[FAST, name]:.1f}× | {low:.1f}–{high:.1f}× | "
            f"{'' if draw is None else f'{draw / median:.0%}'} |"
        )
    return lines, speedups


# --- 2. The whole stage --------------------------------------------------------------------

NOTEBOOK_STAGE = """
import sys, numpy as np
from pathlib import Path
from lrstudy.config import load_config
from lrstudy.data import read_dataset
from lrstudy.model import build_model, compile_model
from lrstudy.runtime import import_keras
keras = import_keras()
config = load_config(sys.argv[1]); spec = config.run("lr_medium")
train = read_dataset(Path(sys.argv[2]) / "train.csv")
val = read_dataset(Path(sys.argv[2]) / "val.csv")
for seed in spec.seeds:
    keras.utils.set_random_seed(seed)
    model = build_model(config.model, train.x.shape[1], config.data.n_classes)
    compile_model(model, config.model, spec.lr)
    model.fit(train.x, train.y.astype(np.float32), batch_size=spec.batch_size,
              epochs=spec.epochs, validation_data=(val.x, val.y.astype(np.float32)), verbose=0)
"""


def whole_stage(rounds: int) -> tuple[list[str], float]:
    """``train@lr_medium`` against the notebook's loop for the same seeds, each a process."""
    from lrstudy.config import load_config
    from lrstudy.data import generate, split, write_dataset

    config = load_config(ROOT / "params.yaml")
    env = _environment()
    params = str(ROOT / "params.yaml")
    stage = [
        *[sys.executable, "-m", "lrstudy.stages.train", "--params", params],
        *["--setting", "lr_medium", "--data", "data", "--models", "models/lr_medium"],
        *["--logs", "logs/lr_medium", "--evaluation", "evaluation/lr_medium"],
    ]
    commands = {
        "notebook": [sys.executable, "-c", NOTEBOOK_STAGE, params, "data"],
        "stage": stage,
        "import": [sys.executable, "-c", "import lrstudy.runtime as m; m.import_keras()"],
    }
    times: dict[str, list[float]] = {key: [] for key in commands}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for name, part in split(generate(config.data), config.split).items():
            write_dataset(work / "data" / f"{name}.csv", part)
        for _ in range(rounds):
            for key, command in commands.items():
                times[key].append(_run(command, work, env))
    notebook, stage_seconds, imports = (statistics.median(times[key]) for key in commands)
    seeds = len(config.run("lr_medium").seeds)
    return [
        f"The whole `train@lr_medium` stage ({seeds} seeds, a fresh process: TensorFlow "
        "import, training as one population, models, DVCLive logs and the test evaluation "
        "written) against a process training the same seeds the notebook's way (training "
        f"only); median of {rounds} runs each, alternating.",
        "",
        "| process | s | speed-up vs notebook |",
        "|---|---|---|",
        f"| notebook's `model.fit`, {seeds} seeds | {notebook:.1f} | 1.0× |",
        f"| `train@lr_medium` stage | {stage_seconds:.1f} | {notebook / stage_seconds:.1f}× |",
        "",
        f"For scale, in the same run: a process that only imports Keras and TensorFlow took "
        f"{imports:.1f} s.",
    ], notebook / stage_seconds


# --- 3. The instruction-set cap ------------------------------------------------------------

ISA_PROBE = """
import hashlib, json, sys, time
import lrstudy.runtime
lrstudy.runtime.ARITHMETIC_ENVIRONMENT = dict(lrstudy.runtime.ARITHMETIC_ENVIRONMENT,
    ONEDNN_MAX_CPU_ISA=sys.argv[1], DNNL_MAX_CPU_ISA=sys.argv[1])
from lrstudy.config import load_config
from lrstudy.data import generate, split
from lrstudy.population import Member, Population
from lrstudy.rate_plan import rate_plan
from lrstudy.training import train_population
config = load_config(sys.argv[2]); parts = split(generate(config.data), config.split)
spec = config.run("lr_large"); plan = rate_plan(spec, len(parts["train"]))
population = Population(config.model, parts["train"], parts["val"],
                        n_classes=config.data.n_classes, batch_size=spec.batch_size)
list(train_population(population, [Member(100, plan)]))
started = time.perf_counter()
results = list(train_population(population, [Member(seed, plan) for seed in (0, 1, 2)]))
seconds = (time.perf_counter() - started) / 3
digest = hashlib.sha256()
for result in results:
    for weight in result.weights:
        digest.update(weight.tobytes())
accuracies = [round(result.history["val_accuracy"][-1], 4) for result in results]
print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()[:12], "val": accuracies}))
"""


def isa_caps() -> list[str]:
    """The fast loop under each oneDNN instruction-set cap, each in a fresh process."""
    lines = [
        "oneDNN instruction-set cap: `lr_large` (Adam 0.5), seeds 0-2 as one population "
        "(population trainer, after a warm-up population), a fresh "
        "process per cap. `ALL` is oneDNN's default (the widest kernels this CPU has); "
        "lrstudy pins `AVX2`. Same fingerprint = bit-identical trained weights.",
        "",
        "| ONEDNN_MAX_CPU_ISA | s / model | weights fingerprint | final val_accuracy, seeds 0-2 |",
        "|---|---|---|---|",
    ]
    for cap in ("AVX2", "ALL", "AVX2"):
        completed = subprocess.run(
            [sys.executable, "-c", ISA_PROBE, cap, str(ROOT / "params.yaml")],
            capture_output=True,
            text=True,
            env=_environment(),
            check=True,
        )
        probe = json.loads(completed.stdout.strip().splitlines()[-1])
        lines.append(
            f"| {cap} | {probe['seconds']:.3f} | `{probe['digest']}` | "
            f"{', '.join(f'{value:.4f}' for value in probe['val'])} |"
        )
    return lines


def _machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(
        line.split(":", 1)[1].strip()
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return [
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory} RAM, {platform.platform()}, "
        f"Python {platform.python_version()}; run {time.strftime('%Y-%m-%d %H:%M %Z')}, "
        f"load average at start {_load()}. Absolute seconds vary with the machine and its "
        "load (other jobs shared it); the ratios are the result.",
    ]


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def headline(speedups: dict[tuple[str, str], float], stage: float, sweep: float) -> list[str]:
    """The bold summary lines the README quotes (``speedups``: ``per_model``'s)."""
    per_member = {m: speedups[FAST, population_name(m)] for m in POPULATIONS}
    return [
        f"**Population trainer per model vs the fast loop: {per_member[1]:.1f}× at 1 "
        f"member, {per_member[20]:.1f}× at 20 ({target_met(per_member[20], 20)}), "
        f"{per_member[320]:.1f}× at 320 ({target_met(per_member[320], 50)}).**",
        "",
        f"**Per model vs the notebook: fast loop {speedups[NOTEBOOK, FAST]:.1f}×, population "
        f"of 20 {speedups[NOTEBOOK, population_name(20)]:.0f}×; whole `train@lr_medium` "
        f"stage: {stage:.1f}× the notebook's loop.**",
        "",
        f"**`sweep` stage's training (320 models): {sweep:.1f}× the fast loop's "
        f"({target_met(sweep, 10)}).**",
    ]


def main() -> None:
    """Run every section, print the report and write it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per method (section 1)")
    parser.add_argument("--stage-rounds", type=int, default=2, help="runs per process (2)")
    parser.add_argument("--sweep-rounds", type=int, default=1, help="sweeps per method (4)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument(
        "--counts", type=int, nargs="+", default=COUNTS, help="population sizes (5)"
    )
    parser.add_argument("--skip-repro", action="store_true", help="skip section 6")
    parser.add_argument("--skip-cluster", action="store_true", help="skip section 7")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    args = parser.parse_args()

    machine = _machine()
    report = Report(args.out)
    model_lines, speedups = per_model(args.rounds, args.epochs)
    report.add(model_lines)
    stage_lines, stage_speedup = whole_stage(args.stage_rounds)
    report.add(stage_lines)
    report.add(isa_caps())
    sweep_lines, sweep_speedup = sweep_section(args.sweep_rounds, args.epochs)
    report.add(sweep_lines)
    report.add(curve_section(args.epochs, args.counts)[0])
    top = ["# `make bench` results", "", *machine, ""]
    report.sections.insert(0, top + headline(speedups, stage_speedup, sweep_speedup))
    if not args.skip_repro:
        report.add(repro_section())
    if not args.skip_cluster:
        report.add(cluster_section())
    report.add([f"Load average at the end: {_load()}."])
    print(report.text())
    print(f"written to {args.out}")


class Report:
    """The markdown report, rewritten after every section (a late failure keeps the rest)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sections: list[list[str]] = []

    def add(self, lines: list[str]) -> None:
        """Append a section and rewrite the file."""
        self.sections.append(lines)
        self.path.write_text(self.text(), encoding="utf-8")

    def text(self) -> str:
        """The report so far."""
        return "\n\n".join("\n".join(lines) for lines in self.sections) + "\n"


if __name__ == "__main__":
    main()
