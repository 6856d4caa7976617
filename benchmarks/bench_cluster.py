"""The ``sweep`` stage in this process against a local 2-worker Dask cluster (``make bench``).

Starts ``dask scheduler`` and two ``dask worker --nthreads 1`` processes on 127.0.0.1 (the
README's first form, "Running on a Dask cluster"), then:

1. the whole ``sweep`` stage as a process (``python -m lrstudy.stages.sweep``, the default
   params: 320 members, one chunk), in process against ``DASK_SCHEDULER_ADDRESS`` set,
   alternating, after one untimed run each way (the workers' TensorFlow import, the
   trace); and whether both wrote the same bytes;
2. the sweep's training alone (``training.train_setting``) with the grid cut into C
   chunks (``training.chunk_size`` patched, as the tests do: a chunk's floats depend on
   its size, so each C is its own workload, the same on both sides), in one
   driver process toggling ``DASK_SCHEDULER_ADDRESS`` between runs, alternating; from it
   the per-chunk cost ``t_c`` (in process: seconds / C) and the cluster's overhead
   ``o = T_cluster - ceil(C / W) * t_c`` (W = 2 workers), which the README's scaling
   estimate for N machines uses.

On one 2-core machine the driver, the scheduler and both workers share the cores: this
measures the overhead, not a speed-up a real cluster would give. Run alone:
``PYTHONPATH=src python benchmarks/bench_cluster.py [--rounds N] [--chunks C ...]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DASK = Path(sys.executable).parent / "dask"
WORKERS = 2
CHUNKS = (1, 4, 8)


def _environment(address: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    if address is not None:
        env["DASK_SCHEDULER_ADDRESS"] = address
    return env


@contextmanager
def local_cluster(workers: int, logs: Path) -> Iterator[str]:
    """A scheduler and ``workers`` one-thread workers on 127.0.0.1; its address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    commands = [["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    commands += [
        ["worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    ] * workers
    processes = []
    try:
        for index, command in enumerate(commands):
            log = (logs / f"dask-{index}.log").open("w")
            processes.append(
                subprocess.Popen(
                    [str(DASK), *command],
                    env=_environment(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _data(folder: Path) -> Path:
    """The default params' train/val/test splits, written as the split stage does."""
    from lrstudy.config import load_config
    from lrstudy.data import generate, split, write_dataset

    config = load_config(ROOT / "params.yaml")
    folder.mkdir()
    for part, rows in split(generate(config.data), config.split).items():
        write_dataset(folder / f"{part}.csv", rows)
    return folder


def _stage(data: Path, out: Path, address: str | None) -> float:
    """Seconds of one ``sweep`` stage process."""
    command = [sys.executable, "-m", "lrstudy.stages.sweep", "--params", str(ROOT / "params.yaml")]
    command += ["--data", str(data), "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, env=_environment(address), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr}")
    return seconds


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def cluster_section(rounds: int = 2, chunks: tuple[int, ...] = CHUNKS) -> list[str]:
    """Both measurements on a fresh local cluster; the report's lines."""
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="lrstudy-bench-cluster-") as temp:
        tmp = Path(temp)
        data = _data(tmp / "data")
        with local_cluster(WORKERS, tmp) as address:
            stage = {"in process": [], "cluster": []}
            for round_index in range(rounds + 1):  # round 0: untimed warm-up
                for name, where in (("in process", None), ("cluster", address)):
                    seconds = _stage(data, tmp / f"{name}-{round_index}", where)
                    if round_index:
                        stage[name].append(seconds)
            same = _files(tmp / "in process-1") == _files(tmp / "cluster-1")
            command = [sys.executable, __file__, "--driver", address, str(data), str(rounds)]
            done = subprocess.run(
                [*command, *map(str, chunks)], env=_environment(), capture_output=True, text=True
            )
            if done.returncode != 0:
                sys.exit(f"failed: the driver\n{done.stderr}")
            per_chunk = json.loads(done.stdout.splitlines()[-1])
    load = (load_start, _load())
    return _lines(rounds, stage, same, per_chunk, load)


def _lines(rounds: int, stage: dict, same: bool, per_chunk: dict, load: tuple) -> list[str]:
    local, remote = (statistics.median(stage[k]) for k in ("in process", "cluster"))
    lines = [
        "## The `sweep` stage on a local Dask cluster",
        "",
        f"A scheduler and {WORKERS} `dask worker --nthreads 1` processes on 127.0.0.1 "
        '(README: "Running on a Dask cluster"), sharing this machine\'s cores with the '
        f"stage's process; median of {rounds} round(s) after one untimed warm-up each way, "
        f"alternating. Load average at start {load[0]}, at the end {load[1]}.",
        "",
        "| the whole `sweep` stage (process, default params: 1 chunk of 320) | s |",
        "|---|---:|",
        f"| in process | {local:.1f} |",
        f"| `DASK_SCHEDULER_ADDRESS` set, {WORKERS} workers | {remote:.1f} |",
        "",
        f"Same output bytes both ways: {'yes' if same else '**NO**'}.",
        "",
        "The sweep's training alone (`training.train_setting`: 320 members, 50 epochs) "
        "cut into C chunks (forced), in one driver process; `t_c` = in-process seconds / "
        f"C, the cluster's overhead `o = T_cluster - ceil(C / {WORKERS}) * t_c`; same "
        "results: every member's weights bit for bit:",
        "",
        "| C | members / chunk | in process s | cluster s | t_c s | o s | same results |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for count, row in per_chunk.items():
        c = int(count)
        t_c = row["local"] / c
        overhead = row["cluster"] - math.ceil(c / WORKERS) * t_c
        lines.append(
            f"| {c} | {row['size']} | {row['local']:.1f} | {row['cluster']:.1f} | "
            f"{t_c:.2f} | {overhead:.1f} | {'yes' if row['same'] else '**NO**'} |"
        )
    return lines


def _driver(address: str, data_dir: str, rounds: int, counts: list[int]) -> None:
    """Time the sweep's training in process and on the cluster per chunk count; print JSON."""
    import numpy as np

    import lrstudy.training
    from lrstudy.config import load_config
    from lrstudy.data import read_dataset
    from lrstudy.sweep import log_grid
    from lrstudy.sweep_training import grid_results, sweep_spec

    config = load_config(ROOT / "params.yaml")
    data = {p: read_dataset(Path(data_dir) / f"{p}.csv") for p in ("train", "val")}
    sweep = config.sweep
    rates = [float(r) for r in log_grid(sweep.min_lr, sweep.max_lr, sweep.per_decade)]
    spec = sweep_spec(config, rates[0])
    members = len(rates) * len(spec.seeds)

    def train() -> list:
        results = grid_results(rates, config, data, spec)
        return [np.concatenate([w.ravel() for w in r.weights]) for r in results]

    results = {}
    for count in counts:
        size = math.ceil(members / count)
        lrstudy.training.chunk_size = lambda m, p, size=size: min(m, size)
        times: dict[str, list[float]] = {"local": [], "cluster": []}
        weights = {}
        for round_index in range(rounds + 1):  # round 0: untimed (traces, worker imports)
            for name, where in (("local", None), ("cluster", address)):
                os.environ.pop("DASK_SCHEDULER_ADDRESS", None)
                if where is not None:
                    os.environ["DASK_SCHEDULER_ADDRESS"] = where
                started = time.perf_counter()
                weights[name] = train()
                if round_index:
                    times[name].append(time.perf_counter() - started)
        results[count] = {
            "size": size,
            "local": statistics.median(times["local"]),
            "cluster": statistics.median(times["cluster"]),
            "same": all(
                a.tobytes() == b.tobytes()
                for a, b in zip(weights["local"], weights["cluster"], strict=True)
            ),
        }
        print(f"C={count}: {results[count]}", file=sys.stderr)
    print(json.dumps(results))


def main() -> None:
    """Print the section (or, with ``--driver``, run the in-process timing driver)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chunks", type=int, nargs="+", default=list(CHUNKS))
    parser.add_argument("--driver", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        address, data, rounds, *counts = args.driver
        _driver(address, data, int(rounds), [int(c) for c in counts])
        return
    print("\n".join(cluster_section(args.rounds, tuple(args.chunks))))


if __name__ == "__main__":
    main()
