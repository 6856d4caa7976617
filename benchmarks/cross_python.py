"""Same bytes under Python 3.11, 3.12 and 3.13? The tiny study of ``cross_cpu.py`` in each.

``make cross-python``. Each interpreter gets a venv built from requirements.lock: the one
running this script (``.venv``, under ``make``) for its own version, ``.venvs/py3.X`` for
the others (``make cross-python-venvs`` builds them for every Python 3.11-3.13 installed;
``.ci/venv``, ``.ci/find-python``). In one process of each interpreter this script
generates and splits the data (``cross_cpu.prepare``), then runs ``cross_cpu.execute``: the
train stage code (``lrstudy.stages.train.main``, which trains and evaluates) for
``cross_cpu``'s fixed tiny study (``lr_large``, ``one_cycle``, ``plateau``; 2 seeds,
200 samples) in a child process of that interpreter, and hashes every file written: the
data splits, the ``.keras`` models, the DVCLive logs, the per-step rates and the
evaluation, i.e. what ``dvc.lock`` records. Every interpreter must give the same hashes.

A version with no venv here is skipped, saying why; fewer than two is an error. Results
are printed as a markdown table and written to ``--out`` (default
``benchmarks/cross_python.md``); ``tests/project/test_interpreters.py`` runs the same check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
VERSIONS = ("3.11", "3.12", "3.13")
VENVS = ROOT / ".venvs"
MARKER = "CROSS_PYTHON "


@dataclass
class Result:
    """What one interpreter's run wrote (relative path: sha256) or why it failed."""

    version: str
    python: str
    release: str = ""  # the full version, e.g. 3.12.1
    files: dict[str, str] = field(default_factory=dict)
    isa: str = "?"
    seconds: float = 0.0
    error: str = ""

    @property
    def fingerprint(self) -> str:
        """sha256 over every written file's path and hash."""
        lines = "".join(f"{path} {digest}\n" for path, digest in sorted(self.files.items()))
        return hashlib.sha256(lines.encode()).hexdigest()


def version_of(python: Path | str) -> str | None:
    """``major.minor`` of an interpreter, or None when it does not run."""
    try:
        completed = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return ".".join(completed.stdout.strip().split(".")[:2])


def venv_python(version: str, venvs: Path = VENVS) -> tuple[Path | None, str]:
    """The python of ``venvs/py<version>`` if it is complete, else None and why not."""
    folder = venvs / f"py{version}"
    where = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    how = f"`make cross-python-venvs` builds it where Python {version} is installed"
    if not folder.exists():
        return None, f"no {where}: {how}"
    if not (folder / ".installed").exists():
        return None, f"{where} is half-built (no .installed stamp): {how}"
    python = folder / "bin" / "python"
    found = version_of(python)
    if found != version:
        return None, f"{where}/bin/python is {'broken' if found is None else found}: {how}"
    return python, ""


def interpreters(venvs: Path = VENVS) -> tuple[dict[str, Path], dict[str, str]]:
    """The venv python of each version of ``VERSIONS``, and why a version has none.

    This interpreter serves for its own version (``.venv`` under ``make``).
    """
    current = "{}.{}".format(*sys.version_info[:2])
    found: dict[str, Path] = {}
    missing: dict[str, str] = {}
    for version in VERSIONS:
        if version == current:
            found[version] = Path(sys.executable)
            continue
        python, reason = venv_python(version, venvs)
        if python is None:
            missing[version] = reason
        else:
            found[version] = python
    return found, missing


def hash_tree(folder: Path, prefix: str = "") -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by ``prefix`` + its relative path."""
    return {
        prefix + path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run_here(work: Path) -> dict:
    """In the interpreter under test: the data, then ``cross_cpu``'s stages; what they wrote."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import cross_cpu

    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    cross_cpu.prepare(work, env)
    outcome = cross_cpu.execute(cross_cpu.Run(f"Python {sys.version.split()[0]}"), work, env)
    files = hash_tree(work / "data", "data/") | {
        f"stages/{path}": digest for path, digest in outcome.files.items()
    }
    release = sys.version.split()[0]
    return {"files": files, "isa": outcome.isa, "error": outcome.error, "release": release}


def run(version: str, python: Path, work: Path) -> Result:
    """One interpreter's run in a fresh process of it (``--run``)."""
    work.mkdir(parents=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC)
    started = time.perf_counter()
    completed = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--run", str(work)],
        env=env,
        capture_output=True,
        text=True,
    )
    result = Result(version, str(python), seconds=time.perf_counter() - started)
    found = re.search(f"^{MARKER}(.+)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or found is None:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        result.error = f"exit {completed.returncode}: " + " / ".join(tail)
        return result
    data = json.loads(found.group(1))
    result.files, result.isa, result.error = data["files"], data["isa"], data["error"]
    result.release = data["release"]
    return result


def check(found: dict[str, Path], jobs: int = 2) -> list[Result]:
    """Every interpreter of ``found`` (version: python), ``jobs`` at a time."""
    with (
        tempfile.TemporaryDirectory(prefix="lrstudy-cross-python-") as scratch,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        runs = [
            (version, python, Path(scratch) / f"py{version}") for version, python in found.items()
        ]
        return list(pool.map(lambda args: run(*args), sorted(runs)))


def differing(reference: Result, other: Result) -> list[str]:
    """Paths whose bytes differ between two runs, or that only one of them wrote."""
    paths = reference.files.keys() | other.files.keys()
    return sorted(path for path in paths if reference.files.get(path) != other.files.get(path))


def report(results: list[Result], missing: dict[str, str]) -> str:
    """The markdown table: Python, oneDNN's ISA, fingerprint, same/different, seconds."""
    reference = results[0]
    lines = [
        "# `make cross-python` results",
        "",
        "`benchmarks/cross_cpu.py`'s tiny study (data, then the train stage: training, "
        "evaluation; "
        f"{len(reference.files)} files hashed per run) under each Python's venv, built from "
        "requirements.lock. Fingerprint: sha256 over every file's path and sha256 (first 12 "
        "hex digits). Seconds: the whole run, TensorFlow's import included.",
        "",
        "| Python | oneDNN ISA | fingerprint | vs first | s |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        if result.error:
            lines.append(f"| {result.version} | {result.isa} | failed: {result.error} | | |")
            continue
        different = differing(reference, result)
        verdict = (
            "reference"
            if result is reference
            else ("same" if not different else f"DIFFERENT ({len(different)} files)")
        )
        lines.append(
            f"| {result.release} | {result.isa} | `{result.fingerprint[:12]}` | {verdict} | "
            f"{result.seconds:.0f} |"
        )
    lines += [f"| {version} | | skipped: {reason} | | |" for version, reason in missing.items()]
    return "\n".join(lines) + "\n"


def all_same(results: list[Result]) -> bool:
    """Every run succeeded and wrote the first run's files, byte for byte."""
    return all(not r.error for r in results) and all(
        not differing(results[0], r) for r in results[1:]
    )


def main() -> None:
    """Run the check (or, with ``--run``, one interpreter's part) and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, metavar="WORK", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=2, help="interpreters at a time (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "cross_python.md")
    args = parser.parse_args()
    if args.run:
        print(MARKER + json.dumps(run_here(args.run)), flush=True)
        return
    found, missing = interpreters()
    for version, reason in missing.items():
        print(f"skipping Python {version}: {reason}", file=sys.stderr)
    if len(found) < 2:
        sys.exit(
            f"error: only Python {', '.join(found)} has a venv here; the check needs two of "
            f"{', '.join(VERSIONS)} (make cross-python-venvs builds them where installed)"
        )
    started = time.perf_counter()
    results = check(found, jobs=args.jobs)
    text = report(results, missing)
    text += f"\nWhole check: {time.perf_counter() - started:.0f} s wall time.\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}")
    if not all_same(results):
        sys.exit("error: the interpreters did not all write the same bytes (table above)")


if __name__ == "__main__":
    main()
