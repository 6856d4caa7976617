"""Same bytes on other x86-64 CPUs? The train stage (training, evaluation) under emulated CPUs.

``make cross-cpu``. QEMU's user-mode emulator (``qemu-x86_64 -cpu MODEL``, Debian's
``qemu-user``) runs this venv's Python seeing another CPU's CPUID: an Intel Haswell (AVX2,
FMA, no AVX-512) or an AMD EPYC-Rome (Zen 2). oneDNN and every other library that picks
its code at run time then pick what they would pick on that CPU. Each run trains a fixed
tiny study (200 samples; ``lr_large``, chaotic at Adam 0.5; ``one_cycle``, set per step;
``plateau``, whose cuts follow ``val_loss``; 2 seeds each) with the real stage code
(``lrstudy.stages.train.main``, which trains and evaluates, in one process so that
TensorFlow is imported once) and hashes every file the stages write: the ``.keras``
models, the DVCLive logs, the per-step rate tables, the evaluation metrics and grids, i.e.
what ``dvc.lock`` records. Every run must match the native one byte for byte.

Two control runs are expected to differ, to show the check can fail: native with oneDNN
uncapped (``ONEDNN_MAX_CPU_ISA=ALL``: AVX-512 kernels where the CPU has them) and Haswell
without ``lrstudy.runtime.EXACT_GRADIENTS`` (TensorFlow's own Log1p gradient, whose
``Reciprocal`` kernel starts from the CPU's approximate-reciprocal instruction; QEMU
computes that instruction exactly, real Intel and AMD CPUs each to their own 12 bits).

Needs QEMU 8.0 or later: 7.2 (Debian 12's own) decodes an AVX2 gather indexed by
``ymm4`` wrongly, and TensorFlow crashes in oneDNN's tanh kernel. Emulation is slow
(importing TensorFlow takes 30-90 s); no test asserts a time. Results are written as a
markdown table to ``--out`` (default ``benchmarks/cross_cpu.md``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
QEMU = "qemu-x86_64"
MIN_QEMU = (8, 0)
SETTINGS = {"lr_large": 10, "one_cycle": 10, "plateau": 20}  # setting: epochs


@dataclass(frozen=True)
class Run:
    """One way of running the stages: a CPU model (None: this machine) and what is changed."""

    label: str
    cpu: str | None = None
    isa: str | None = None  # ONEDNN_MAX_CPU_ISA instead of lrstudy's pin
    exact_gradients: bool = True  # lrstudy.runtime.EXACT_GRADIENTS kept (False: emptied)
    expect_same: bool = True


RUNS = (
    Run("native (this machine)"),
    Run("Intel Haswell (AVX2, FMA; no AVX-512)", cpu="Haswell"),
    Run("AMD EPYC-Rome (Zen 2: AVX2, FMA; no AVX-512)", cpu="EPYC-Rome"),
    Run("control: native, oneDNN uncapped (ALL)", isa="ALL", expect_same=False),
    Run("control: Haswell, TensorFlow's Log1p gradient", "Haswell", None, False, False),
)


@dataclass
class Outcome:
    """What one run wrote and how long it took."""

    run: Run
    files: dict[str, str] = field(default_factory=dict)  # relative path: sha256
    isa: str = "?"
    import_seconds: float = 0.0
    stage_seconds: float = 0.0
    wall_seconds: float = 0.0
    error: str = ""

    @property
    def fingerprint(self) -> str:
        """sha256 over every written file's path and hash."""
        lines = "".join(f"{path} {digest}\n" for path, digest in sorted(self.files.items()))
        return hashlib.sha256(lines.encode()).hexdigest()


def qemu_version() -> tuple[int, int] | None:
    """``qemu-x86_64``'s (major, minor), or None when it is not installed."""
    if shutil.which(QEMU) is None:
        return None
    text = subprocess.run([QEMU, "--version"], capture_output=True, text=True).stdout
    found = re.search(r"version (\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def qemu_problem() -> str | None:
    """Why emulated runs cannot run here, or None when they can."""
    version = qemu_version()
    if version is None:
        return f"{QEMU} not found: install Debian's qemu-user {MIN_QEMU[0]}.0 or later"
    if version < MIN_QEMU:
        return (
            f"{QEMU} {version[0]}.{version[1]} is too old: before {MIN_QEMU[0]}.0 it emulates "
            "AVX2 gathers indexed by ymm4 wrongly and TensorFlow crashes (Debian 12: "
            "apt-get install -t bookworm-backports qemu-user)"
        )
    return None


def tiny_params(params: dict) -> dict:
    """The committed params shrunk to ``SETTINGS``: 200 samples, 2 seeds, a 20x20 grid."""
    params["data"]["n_samples"] = 200
    params["train"].update({"seeds": 2})
    params["evaluate"]["grid"]["points"] = 20
    params["settings"] = {
        name: {**params["settings"][name], "epochs": epochs} for name, epochs in SETTINGS.items()
    }
    return params


def prepare(work: Path, env: dict[str, str]) -> None:
    """params.yaml and the data splits (natively: no TensorFlow, the same for every run)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    (work / "params.yaml").write_text(yaml.safe_dump(tiny_params(params), sort_keys=False))
    for command in (
        ["lrstudy.stages.generate", "--out", "data/raw/dataset.csv"],
        ["lrstudy.stages.split", "--input", "data/raw/dataset.csv", "--out", "data/prepared"],
    ):
        subprocess.run([sys.executable, "-m", *command], cwd=work, env=env, check=True)


def worker(work: Path, out: Path, isa: str | None, exact_gradients: bool) -> None:
    """Run in the (maybe emulated) process: import Keras, then the stages for ``SETTINGS``."""
    import lrstudy.runtime

    if isa is not None:
        lrstudy.runtime.ARITHMETIC_ENVIRONMENT = dict(
            lrstudy.runtime.ARITHMETIC_ENVIRONMENT, ONEDNN_MAX_CPU_ISA=isa, DNNL_MAX_CPU_ISA=isa
        )
    if not exact_gradients:
        lrstudy.runtime.EXACT_GRADIENTS = ()
    started = time.perf_counter()
    lrstudy.runtime.import_keras()
    imported = time.perf_counter()
    from lrstudy.stages import train

    params, data = str(work / "params.yaml"), str(work / "data" / "prepared")
    for setting in SETTINGS:
        common = ["--params", params, "--setting", setting, "--data", data]
        models = str(out / "models" / setting)
        logs, evaluation = str(out / "logs" / setting), str(out / "evaluation" / setting)
        outputs = ["--models", models, "--logs", logs, "--evaluation", evaluation]
        if train.main([*common, *outputs]) != 0:
            sys.exit(f"train@{setting} failed")
    timing = {"import": imported - started, "stages": time.perf_counter() - imported}
    print("CROSS_CPU " + json.dumps(timing), flush=True)


def execute(run: Run, work: Path, env: dict[str, str]) -> Outcome:
    """One run in a fresh process (under QEMU for an emulated CPU); hash what it wrote."""
    out = work / "runs" / re.sub(r"\W+", "_", run.label)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(work), str(out)]
    command += [
        *(["--isa", run.isa] if run.isa else []),
        *([] if run.exact_gradients else ["--tf-gradients"]),
    ]
    if run.cpu is not None:
        command = [QEMU, "-cpu", run.cpu, *command]
    # ONEDNN_VERBOSE=1 makes oneDNN print the instruction set it dispatches to (and one line
    # per kernel call, which the log file takes).
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        completed = subprocess.run(
            command, env=env | {"ONEDNN_VERBOSE": "1"}, stdout=log, stderr=subprocess.STDOUT
        )
        log.seek(0)
        text = log.read()
    outcome = Outcome(run, wall_seconds=time.perf_counter() - started)
    isa = re.search(r"onednn_verbose,.*,cpu,isa:([^\n]+)", text)
    outcome.isa = isa.group(1).strip() if isa else "?"
    timing = re.search(r"^CROSS_CPU (.+)$", text, re.MULTILINE)
    if completed.returncode != 0 or timing is None:
        tail = [
            line for line in text.splitlines() if not line.startswith(("onednn_verbose", "qemu"))
        ]
        outcome.error = f"exit {completed.returncode}: " + " / ".join(tail[-5:])
        return outcome
    seconds = json.loads(timing.group(1))
    outcome.import_seconds, outcome.stage_seconds = seconds["import"], seconds["stages"]
    for path in sorted(out.rglob("*")):
        if path.is_file():
            outcome.files[str(path.relative_to(out))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return outcome


def check(runs: tuple[Run, ...] = RUNS, jobs: int = 2) -> list[Outcome]:
    """Every run of ``runs`` (the first is the reference), ``jobs`` processes at a time."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        prepare(work, env)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(lambda run: execute(run, work, env), runs))


def report(outcomes: list[Outcome]) -> str:
    """The markdown table: CPU, oneDNN's ISA, fingerprint, same/different, seconds."""
    reference = outcomes[0]
    version = qemu_version()
    studied = ", ".join(f"`{name}` {epochs} epochs" for name, epochs in SETTINGS.items())
    lines = [
        "# `make cross-cpu` results",
        "",
        f"The train stage, training and evaluation ({studied}; "
        "2 seeds, 200 samples) natively and under QEMU "
        f"{'.'.join(map(str, version)) if version else '(none)'} user-mode emulation of other "
        f"x86-64 CPUs; {len(reference.files)} files written per run (models, DVCLive logs, "
        "per-step rates, evaluation), hashed. Fingerprint: sha256 over every file's path and "
        "sha256 (first 12 hex digits). Seconds are wall time, emulation included.",
        "",
        "| run | oneDNN ISA | fingerprint | vs native | expected | import s | stages s |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        if outcome.error:
            lines.append(
                f"| {outcome.run.label} | {outcome.isa} | failed: {outcome.error} | | | | |"
            )
            continue
        differing = sum(
            outcome.files.get(path) != digest for path, digest in reference.files.items()
        )
        verdict = (
            "reference"
            if outcome is reference
            else ("same" if differing == 0 else f"DIFFERENT ({differing} files)")
        )
        expected = "same" if expects_same(outcome, reference) else "different"
        if expects_same(outcome, reference) != outcome.run.expect_same:
            expected += " (oneDNN has nothing above AVX2 on this CPU: the control cannot differ)"
        lines.append(
            f"| {outcome.run.label} | {outcome.isa} | `{outcome.fingerprint[:12]}` | {verdict} | "
            f"{expected} | {outcome.import_seconds:.1f} | {outcome.stage_seconds:.1f} |"
        )
    return "\n".join(lines) + "\n"


def expects_same(outcome: Outcome, reference: Outcome) -> bool:
    """Whether a run should write the native run's bytes.

    The uncapped control (``isa="ALL"``) can differ only where oneDNN finds more than the
    native run's AVX2 (an AVX-512 CPU); on an AVX2-only CPU it dispatches to the same
    kernels and must match.
    """
    if outcome.run.isa == "ALL" and outcome.isa == reference.isa:
        return True
    return outcome.run.expect_same


def as_expected(outcomes: list[Outcome]) -> bool:
    """Every run matched the native one where expected and differed where expected."""
    reference = outcomes[0]
    return all(
        not outcome.error and (outcome.files == reference.files) == expects_same(outcome, reference)
        for outcome in outcomes
    )


def main() -> None:
    """Run the check (or, with ``--worker``, one run's stages) and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worker", nargs=2, type=Path, metavar=("WORK", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--isa", help=argparse.SUPPRESS)
    parser.add_argument("--tf-gradients", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "cross_cpu.md")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, isa=args.isa, exact_gradients=not args.tf_gradients)
        return
    problem = qemu_problem()
    if problem:
        sys.exit(f"error: {problem}")
    started = time.perf_counter()
    outcomes = check(jobs=args.jobs)
    text = report(outcomes) + f"\nWhole check: {time.perf_counter() - started:.0f} s wall time.\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}")
    if not as_expected(outcomes):
        sys.exit("error: a run did not come out as expected (table above)")


if __name__ == "__main__":
    main()
