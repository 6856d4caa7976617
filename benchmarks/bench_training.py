"""Training speed, measured side by side in one run (``make bench``).

Sections, each written to the markdown report (default ``benchmarks/results.md``):

1. Per model, on the default data and ``lr_medium`` (50 epochs, batch 100, validation every
   epoch): the 2019 notebook's ``model.fit`` on NumPy arrays, lrstudy's ``fit`` loop and
   its ``fast`` loop (one ``Trainer`` reused across seeds). Methods are interleaved round
   by round so machine noise hits them alike; medians and ratios to the notebook.
2. The whole ``train@lr_medium`` stage (a fresh process: TensorFlow import, every seed, the
   models and DVCLive logs written) against a process that trains the same seeds the
   notebook's way, both timed from the outside.
3. The oneDNN instruction-set cap: the fast loop in a fresh process per cap (``AVX2``,
   lrstudy's pin, against ``ALL``, oneDNN's default: the best the CPU has), seconds per model
   and a fingerprint of the trained weights (``lr_large``, chaotic at 0.5, seeds 0-2).
4. Scaling of the fast loop with seeds (1, 5, 20) and epochs (25, 50, 100).
5. ``dvc repro`` from scratch with the default params in a fresh clone of this repository's
   HEAD, then a no-op ``dvc repro`` there.

Absolute seconds depend on the machine and its load; the ratios are the result. No test
asserts a time: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

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


def per_model(rounds: int, epochs: int) -> tuple[list[str], float]:
    """Median seconds per model of each method; returns report lines and the fast speed-up."""
    from lrstudy.config import load_config
    from lrstudy.data import generate, split
    from lrstudy.fit_loop import fit_seed
    from lrstudy.model import build_model, compile_model
    from lrstudy.runtime import import_keras
    from lrstudy.training import Trainer

    keras = import_keras()
    config = load_config(ROOT / "params.yaml")
    parts = split(generate(config.data), config.split)
    spec = replace(config.run("lr_medium"), epochs=epochs)
    train, val = parts["train"], parts["val"]

    def notebook(seed: int) -> None:
        keras.utils.set_random_seed(seed)
        model = build_model(config.model, train.x.shape[1], config.data.n_classes)
        compile_model(model, config.model, spec.lr)
        model.fit(
            train.x,
            train.y.astype(np.float32),
            batch_size=spec.batch_size,
            epochs=spec.epochs,
            validation_data=(val.x, val.y.astype(np.float32)),
            verbose=0,
        )

    n_classes = config.data.n_classes
    trainer = Trainer(spec, config.model, train, val, n_classes=n_classes)
    methods: dict[str, Callable[[int], object]] = {
        "notebook: `model.fit` on NumPy arrays": notebook,
        "lrstudy `fit` loop (`train.loop: fit`)": lambda seed: fit_seed(
            spec, config.model, seed, train=train, val=val, n_classes=n_classes
        ),
        "lrstudy `fast` loop (default)": trainer.train,
    }
    for method in methods.values():  # warm-up: the first trace of each code path
        method(100)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for round_index in range(rounds):
        for name, method in methods.items():
            started = time.perf_counter()
            method(round_index)
            times[name].append(time.perf_counter() - started)
    baseline = statistics.median(times["notebook: `model.fit` on NumPy arrays"])
    lines = [
        f"Per model: `lr_medium`, {spec.epochs} epochs, batch {spec.batch_size}, "
        f"{len(train)} train rows, validation every epoch; median of {rounds} models per "
        "method, interleaved, after one warm-up model each.",
        "",
        "| method | s / model | speed-up vs notebook |",
        "|---|---|---|",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.3f} | {baseline / median:.1f}× |")
    fast = statistics.median(times["lrstudy `fast` loop (default)"])
    return lines, baseline / fast


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
    times: dict[str, list[float]] = {"notebook": [], "stage": [], "evaluate": [], "import": []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for name, part in split(generate(config.data), config.split).items():
            write_dataset(work / "data" / f"{name}.csv", part)
        params = str(ROOT / "params.yaml")
        for _ in range(rounds):
            times["notebook"].append(
                _run([sys.executable, "-c", NOTEBOOK_STAGE, params, "data"], work, env)
            )
            times["stage"].append(
                _run(
                    [
                        *[sys.executable, "-m", "lrstudy.stages.train", "--params", params],
                        *["--setting", "lr_medium", "--data", "data"],
                        *["--models", "models/lr_medium", "--logs", "logs/lr_medium"],
                    ],
                    work,
                    env,
                )
            )
            times["evaluate"].append(
                _run(
                    [
                        *[sys.executable, "-m", "lrstudy.stages.evaluate", "--params", params],
                        *["--setting", "lr_medium", "--data", "data"],
                        *["--models", "models/lr_medium", "--out", "evaluation/lr_medium"],
                    ],
                    work,
                    env,
                )
            )
            times["import"].append(
                _run(
                    [sys.executable, "-c", "import lrstudy.runtime as m; m.import_keras()"],
                    work,
                    env,
                )
            )
    notebook, stage, evaluate, imports = (
        statistics.median(times[key]) for key in ("notebook", "stage", "evaluate", "import")
    )
    seeds = len(config.run("lr_medium").seeds)
    lines = [
        f"The whole `train@lr_medium` stage ({seeds} seeds, a fresh process: TensorFlow "
        "import, training, models and DVCLive logs written) against a process training the "
        f"same seeds the notebook's way; median of {rounds} runs each.",
        "",
        "| process | s | speed-up vs notebook |",
        "|---|---|---|",
        f"| notebook's `model.fit`, {seeds} seeds | {notebook:.1f} | 1.0× |",
        f"| `train@lr_medium` stage | {stage:.1f} | {notebook / stage:.1f}× |",
        "",
        f"For scale, in the same run: the `evaluate@lr_medium` stage took {evaluate:.1f} s and "
        f"a process that only imports Keras and TensorFlow {imports:.1f} s.",
    ]
    return lines, notebook / stage


# --- 3. The instruction-set cap ------------------------------------------------------------

ISA_PROBE = """
import hashlib, json, sys, time
from dataclasses import replace
import lrstudy.runtime
lrstudy.runtime.ARITHMETIC_ENVIRONMENT = dict(lrstudy.runtime.ARITHMETIC_ENVIRONMENT,
    ONEDNN_MAX_CPU_ISA=sys.argv[1], DNNL_MAX_CPU_ISA=sys.argv[1])
from lrstudy.config import load_config
from lrstudy.data import generate, split
from lrstudy.training import Trainer
config = load_config(sys.argv[2]); parts = split(generate(config.data), config.split)
spec = config.run("lr_large")
trainer = Trainer(spec, config.model, parts["train"], parts["val"],
                  n_classes=config.data.n_classes)
trainer.train(100)
digest, accuracies, started = hashlib.sha256(), [], time.perf_counter()
for seed in (0, 1, 2):
    result = trainer.train(seed)
    for weight in result.model.get_weights():
        digest.update(weight.tobytes())
    accuracies.append(round(result.history["val_accuracy"][-1], 4))
seconds = (time.perf_counter() - started) / 3
print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()[:12], "val": accuracies}))
"""


def isa_caps() -> list[str]:
    """The fast loop under each oneDNN instruction-set cap, each in a fresh process."""
    lines = [
        "oneDNN instruction-set cap: `lr_large` (Adam 0.5), seeds 0-2, fast loop, a fresh "
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


# --- 4. Scaling ----------------------------------------------------------------------------


def scaling() -> list[str]:
    """Seconds of the fast loop (trainer built and traced included) by seeds and by epochs."""
    from lrstudy.config import load_config
    from lrstudy.data import generate, split
    from lrstudy.training import Trainer

    config = load_config(ROOT / "params.yaml")
    parts = split(generate(config.data), config.split)
    base = config.run("lr_medium")
    rows = [(seeds, 50) for seeds in (1, 5, 20)] + [(5, epochs) for epochs in (25, 100)]
    lines = [
        "Scaling of the fast loop (`lr_medium`): one `Trainer` built and traced, then every "
        "seed trained; time per model-epoch should stay flat once the trace is paid.",
        "",
        "| seeds | epochs | s total | ms per model-epoch |",
        "|---|---|---|---|",
    ]
    for seeds, epochs in sorted(rows, key=lambda row: (row[1], row[0])):
        spec = replace(base, epochs=epochs, seeds=tuple(range(seeds)))
        started = time.perf_counter()
        trainer = Trainer(
            spec, config.model, parts["train"], parts["val"], n_classes=config.data.n_classes
        )
        for seed in spec.seeds:
            trainer.train(seed)
        seconds = time.perf_counter() - started
        lines.append(
            f"| {seeds} | {epochs} | {seconds:.2f} | {1000 * seconds / (seeds * epochs):.2f} |"
        )
    return lines


# --- 5. dvc repro --------------------------------------------------------------------------


def dvc_repro() -> list[str]:
    """``dvc repro`` from scratch in a fresh clone of HEAD, then a no-op ``dvc repro``."""
    dvc = str(Path(sys.executable).parent / "dvc")
    env = _environment()
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "lrstudy"
        _run(["git", "clone", "--quiet", str(ROOT), str(clone)], Path(scratch), env)
        for folder in ("data", "models", "logs", "evaluation"):
            shutil.rmtree(clone / folder, ignore_errors=True)
        scratch_seconds = _run([dvc, "repro", "--force"], clone, env)
        noop_seconds = statistics.median(_run([dvc, "repro"], clone, env) for _ in range(3))
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True
        ).stdout.strip()
    return [
        "`dvc repro` with the default params in a fresh clone of HEAD (every stage run).",
        "",
        "| run | s |",
        "|---|---|",
        f"| from scratch (`dvc repro --force`) | {scratch_seconds:.0f} |",
        f"| no-op (`dvc repro`, nothing changed; median of 3) | {noop_seconds:.2f} |",
        "",
        "`git status` in the clone afterwards: "
        + ("clean (the committed results reproduced)" if not status else f"`{status}`"),
    ]


def main() -> None:
    """Run every section, print the report and write it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="models per method (section 1)")
    parser.add_argument("--stage-rounds", type=int, default=3, help="runs per process (2)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--skip-repro", action="store_true", help="skip section 5")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    args = parser.parse_args()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    model_lines, model_speedup = per_model(args.rounds, args.epochs)
    stage_lines, stage_speedup = whole_stage(args.stage_rounds)
    sections = [
        [
            "# `make bench` results",
            "",
            f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}. "
            "Absolute seconds vary with the machine and its load; the ratios are the result.",
            "",
            f"**Fast loop: {model_speedup:.1f}× the notebook per model; whole "
            f"`train@lr_medium` stage: {stage_speedup:.1f}× the notebook's loop.**",
        ],
        model_lines,
        stage_lines,
        isa_caps(),
        scaling(),
    ]
    if not args.skip_repro:
        sections.append(dvc_repro())
    report = "\n\n".join("\n".join(lines) for lines in sections) + "\n"
    print(report)
    args.out.write_text(report, encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
