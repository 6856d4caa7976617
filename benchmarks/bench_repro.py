"""``dvc repro`` from scratch: HEAD's study with the population against the fast loop.

The baseline is the same study trained the previous way: a clone of HEAD whose stages
train every model one at a time through the previous fast loop (``fast_loop_stages``,
which this script copies into that clone's ``src/``), so both sides run the same
settings, tuning, sweep and comparison and differ only in the trainer. ``--base COMMIT``
compares against another commit's own study instead (a commit's stages as they were:
``repro-tuning.md`` is such a run).

Each side is a fresh clone (``git clone`` of this repository, the commit checked out, no
DVC cache, so ``dvc repro --force`` runs every stage) using this venv; each clone's stage
commands put its own ``src`` first (``PYTHONPATH=src`` in ``dvc.yaml``). The whole
``dvc repro`` is timed from outside; the per-stage breakdown comes from the time each
``Running stage '...'`` line of its output arrives (``PYTHONUNBUFFERED`` so lines arrive
as they are printed): a stage's seconds run from its line to the next stage's line (or to
the end), so DVC's own hashing and bookkeeping after a stage counts to that stage.

Run alone: ``python benchmarks/bench_repro.py [--base COMMIT]`` prints the section.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The baseline's files, copied into its clone's src/ (``fast_loop_clone``).
BASELINE_MODULES = ("fast_loop.py", "fast_loop_stages.py")
BASELINE_HOOK = "\nfrom fast_loop_stages import train_setting  # noqa: E402, F811 (bench_repro)\n"
# Issue 17's target for a from-scratch ``dvc repro`` against the fast loop (same study).
REPRO_TARGET = 3.0
STAGE_LINE = re.compile(r"Running stage '([^']+)'")
STARTUP = "(dvc start-up, before the first stage)"
# The stage kinds whose process imports TensorFlow (they train or evaluate a Keras model).
# (before 60e7afb evaluate@ and evaluate_suggested@ did too; since, train@ evaluates.)
KERAS_KINDS = (
    "train@",
    "evaluate@",
    "sweep",
    "lr_find",
    "train_suggested@",
    "evaluate_suggested@",
)


class ReproFailed(RuntimeError):
    """``dvc repro`` exited non-zero; the message ends with its last output lines."""


@dataclass(frozen=True)
class ReproRun:
    """One from-scratch ``dvc repro``: total seconds, seconds per stage, git status after."""

    total: float
    stages: dict[str, float]
    clean: bool


def target_met(ratio: float, target: float) -> str:
    """``"target ≥ 3×: met"`` or ``"... NOT met"``: the headlines' verdict on a ratio."""
    return f"target ≥ {target:.0f}×: {'met' if ratio >= target else 'NOT met'}"


def _environment(clone: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(clone / "src")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _clone(commit: str, into: Path) -> Path:
    """A fresh clone of this repository at ``commit``, without the pipeline's outputs."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=into, check=True)
    return into


def fast_loop_clone(into: Path) -> Path:
    """A fresh clone of HEAD whose stages train one model at a time (``fast_loop_stages``)."""
    clone = _clone("HEAD", into)
    for name in BASELINE_MODULES:
        shutil.copy2(clone / "benchmarks" / name, clone / "src" / name)
    with (clone / "src" / "lrstudy" / "training.py").open("a") as training:
        training.write(BASELINE_HOOK)
    return clone


def timed_repro(clone: Path) -> ReproRun:
    """``dvc repro --force`` in ``clone``, timing the whole run and each stage's line."""
    dvc = str(Path(sys.executable).parent / "dvc")
    started = time.perf_counter()
    marks: list[tuple[str, float]] = []
    output: list[str] = []
    with subprocess.Popen(
        [dvc, "repro", "--force"],
        cwd=clone,
        env=_environment(clone),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        for line in process.stdout:
            output.append(line)
            if match := STAGE_LINE.search(line):
                marks.append((match.group(1), time.perf_counter()))
    total = time.perf_counter() - started
    if process.returncode != 0:
        raise ReproFailed(f"dvc repro failed in {clone}:\n{''.join(output[-15:])}")
    ends = [when for _, when in marks[1:]] + [started + total]
    stages = {STARTUP: marks[0][1] - started} if marks else {}
    stages |= {name: end - begin for (name, begin), end in zip(marks, ends, strict=True)}
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    return ReproRun(total, stages, not status)


def import_seconds(rounds: int = 3) -> float:
    """Median seconds of a process that only imports Keras and TensorFlow as stages do."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import lrstudy.runtime as m; m.import_keras()"],
            env=_environment(ROOT),
            check=True,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def stage_kind(name: str) -> str:
    """``train@lr_medium`` -> ``train@``: a foreach stage's kind."""
    return name.split("@", 1)[0] + ("@" if "@" in name else "")


def _by_kind(stages: dict[str, float]) -> dict[str, tuple[int, float]]:
    kinds: dict[str, list[float]] = defaultdict(list)
    for name, seconds in stages.items():
        kinds[stage_kind(name)].append(seconds)
    return {kind: (len(values), sum(values)) for kind, values in kinds.items()}


FAST_LOOP_BASE = (
    "HEAD's default study from scratch, trained two ways: a fresh clone of HEAD whose "
    "stages train every model one at a time through the previous fast loop "
    "(`benchmarks/fast_loop_stages.py`: every `train@` and `train_suggested@` stage's seeds, "
    "tuning grid, tuned run and budgets, and the sweep's grid; the range test stays a "
    "population on both sides) against a fresh clone of HEAD (the population trainer), "
    "one after the other, both with this venv"
)


def report(base: ReproRun, head: ReproRun, imports: float, base_commit: str | None) -> list[str]:
    """The section's markdown: totals, the ratio, the per-kind and per-stage tables.

    ``base_commit`` None: the base is HEAD with the fast loop (``fast_loop_clone``).
    """
    ratio = base.total / head.total
    if base_commit is None:
        what, base_label = FAST_LOOP_BASE, "HEAD, fast loop (one model at a time)"
    else:
        what = (
            f"`dvc repro --force` of each commit's default study from scratch: a fresh "
            f"clone of `{base_commit}` against a fresh clone of HEAD (the population "
            "trainer), one after the other, both with this venv"
        )
        base_label = f"`{base_commit}`"
    lines = [
        f"{what}. Stage times from the arrival of DVC's `Running stage` lines (DVC's own "
        "bookkeeping after a stage counts to it). `git status` after: whether the clone's "
        "`dvc.lock` and files came out as committed (the fast loop's models differ from the "
        "population's in the last bits, and its clone has an edited `src/`: changed).",
        "",
        "| clone | stage processes | s | speed-up | `git status` after |",
        "|---|---|---|---|---|",
    ]
    for label, run, speedup in (
        (base_label, base, 1.0),
        ("HEAD (population)", head, ratio),
    ):
        status = "clean" if run.clean else "changed"
        lines.append(
            f"| {label} | {len(run.stages) - 1} | {run.total:.0f} | {speedup:.1f}× | {status} |"
        )
    head_kinds, base_kinds = _by_kind(head.stages), _by_kind(base.stages)
    # The target is for the same study; another commit's study is context, not a verdict.
    verdict = f"; {target_met(ratio, REPRO_TARGET)}" if base_commit is None else ""
    lines += [
        "",
        f"**dvc repro from scratch: {ratio:.1f}× faster than "
        f"{'the fast loop' if base_commit is None else f'`{base_commit}`'}"
        f" ({base.total:.0f} s → {head.total:.0f} s{verdict}).**",
        "",
        f"Where the time goes, by stage kind (a bare `import_keras()` process took "
        f"{imports:.1f} s in this run):",
        "",
        "| stage | processes before → HEAD | s before | s HEAD | s per process HEAD | "
        "share of HEAD |",
        "|---|---|---|---|---|---|",
    ]
    kinds = sorted(
        head_kinds.keys() | base_kinds.keys(),
        key=lambda kind: (-head_kinds.get(kind, (0, 0.0))[1], -base_kinds[kind][1]),
    )
    for kind in kinds:  # a kind HEAD no longer runs (evaluate@ since 60e7afb) shows too
        before = base_kinds.get(kind, (0, float("nan")))
        count, seconds = head_kinds.get(kind, (0, 0.0))
        lines.append(
            f"| `{kind}` | {before[0]} → {count} | {before[1]:.1f} | {seconds:.1f} | "
            f"{seconds / count if count else 0:.1f} | {100 * seconds / head.total:.0f}% |"
        )
    keras = sum(count for kind, (count, _) in head_kinds.items() if kind in KERAS_KINDS)
    lines += [
        "",
        f"{keras} of HEAD's stage processes import TensorFlow (those of "
        f"{', '.join(kind for kind in KERAS_KINDS if kind in head_kinds)}); "
        f"at {imports:.1f} s each that is about {keras * imports:.0f} s, "
        f"{100 * keras * imports / head.total:.0f}% of HEAD's {head.total:.0f} s.",
        "",
        "Every stage, seconds (before → HEAD):",
        "",
    ]
    names = [*head.stages, *(name for name in base.stages if name not in head.stages)]
    lines += [
        "; ".join(
            f"`{name}` {base.stages.get(name, float('nan')):.1f} → "
            f"{head.stages.get(name, float('nan')):.1f}"
            for name in names
        )
    ]
    return lines


def repro_section(base_commit: str | None = None) -> list[str]:
    """Time both clones' ``dvc repro --force`` (base first) and the bare import.

    ``base_commit`` None: the base is HEAD with the fast loop (``fast_loop_clone``).
    """
    try:
        with tempfile.TemporaryDirectory() as scratch:
            into = Path(scratch) / "base"
            base_clone = fast_loop_clone(into) if base_commit is None else _clone(base_commit, into)
            base = timed_repro(base_clone)
            head = timed_repro(_clone("HEAD", Path(scratch) / "head"))
    except ReproFailed as failure:
        return ["`dvc repro` section failed (not timed):", "", "```", str(failure), "```"]
    return report(base, head, import_seconds(), base_commit)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a commit to compare against (default: HEAD, fast loop)")
    print("\n".join(repro_section(parser.parse_args().base)))
