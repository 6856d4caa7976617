"""Population throughput against its size, and peak memory per member (``make bench``).

One fresh process per member count (so each has its own peak RSS): it imports TensorFlow,
builds one ``Population`` for ``lr_medium``'s network and batch size, traces it with a
one-member warm-up, draws the members' initial weights, then times

* ``train_population``: what the stages run (the compiled epochs plus, between epochs,
  each member's histories and Keras callbacks in Python);
* the compiled epochs alone (``Population.run_epochs`` on the same members, in the
  blocks of epochs ``train_population`` calls it with): the graph's share.

Members look like the sweep's: member ``i`` has seed ``i mod 20`` and the ``i // 20``-th
rate of the sweep's grid (cycling), so a population of 320 is the sweep. The process
reports its own peak RSS; a 0-member process (same imports,
trace and warm-up, no population trained) is subtracted and the rest divided by the
members. ``tracemalloc`` would not see TensorFlow's allocations, and the whole process'
peak (``getrusage(...).ru_maxrss``) is set by the import and the trace (measured: the same
854 MiB for 0 to 1,000 members), so each process resets its peak after the warm-up
(``/proc/self/clear_refs``) and reports ``VmHWM``, the peak of the training alone.
"""

from __future__ import annotations

# isort: off
import lrstudy  # noqa: F401  (first: lrstudy.runtime.pin_numpy caps NumPy's SIMD dispatch)

# isort: on
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNTS = (1, 2, 5, 10, 20, 50, 100, 200, 320, 500, 1000)


def _members(count: int, config, n_train: int, epochs: int) -> list:
    from lrstudy.population import Member
    from lrstudy.rate_plan import rate_plan
    from lrstudy.sweep import log_grid

    spec = replace(config.run("lr_medium"), epochs=epochs)
    grid = log_grid(config.sweep.min_lr, config.sweep.max_lr, config.sweep.per_decade)
    plans = [rate_plan(replace(spec, lr=float(rate)), n_train) for rate in grid]
    return [Member(index % 20, plans[(index // 20) % len(plans)]) for index in range(count)]


def child(count: int, epochs: int) -> dict[str, float]:
    """In a fresh process: train ``count`` members; seconds and peak RSS (KiB)."""
    import numpy as np

    from lrstudy.config import load_config
    from lrstudy.data import generate, split
    from lrstudy.population import Population, member_bytes
    from lrstudy.training import train_population
    from lrstudy.training_run import epoch_orders

    config = load_config(ROOT / "params.yaml")
    parts = split(generate(config.data), config.split)
    train, val = parts["train"], parts["val"]
    spec = replace(config.run("lr_medium"), epochs=epochs)
    population = Population(
        config.model, train, val, n_classes=config.data.n_classes, batch_size=spec.batch_size
    )
    list(train_population(population, _members(1, config, len(train), epochs)))  # the trace
    _reset_peak_rss()
    result = {
        "count": count,
        "estimate": member_bytes(
            config.model, train.x.shape[1], config.data.n_classes, spec.batch_size, len(val)
        ),
    }
    if count:
        members = _members(count, config, len(train), epochs)
        for member in members:  # drawn (and cached) outside the timing
            population.initial_weights(member.seed)
        started = time.perf_counter()
        list(train_population(population, members))
        result["train"] = time.perf_counter() - started
        # The same graph calls as train_population's: blocks of epochs, each seed's order
        # once (its members index it).
        seeds = sorted({m.seed for m in members})
        by_seed = {seed: epoch_orders(len(train), spec.epochs, seed) for seed in seeds}
        member_streams = [seeds.index(m.seed) for m in members]
        rates = np.stack([m.plan.rates.reshape(spec.epochs, -1) for m in members], axis=1)
        block = population.block_epochs(count)
        state = population.start([m.seed for m in members])
        started = time.perf_counter()
        for first in range(0, spec.epochs, block):
            epochs_of_block = range(first, min(first + block, spec.epochs))
            orders = np.stack([[by_seed[seed][e] for seed in seeds] for e in epochs_of_block])
            state, _ = population.run_epochs(
                state, orders, rates[first : first + len(orders)], member_streams
            )
        result["graph"] = time.perf_counter() - started
    result["rss_kib"] = _peak_rss_kib()
    return result


def _reset_peak_rss() -> None:
    """Reset this process' peak RSS (Linux: ``clear_refs`` 5 resets ``VmHWM``).

    The peak of the whole process is set by TensorFlow's import and the trace, whose
    transient allocations exceed what even 1,000 members add; after the reset the peak is
    the training's.
    """
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_kib() -> int:
    """``VmHWM``: the peak resident set since the last reset, in KiB."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))


def _run_child(count: int, epochs: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(count), str(epochs)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"population child {count} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure(counts: Sequence[int], epochs: int, baselines: int = 3) -> tuple[list, float]:
    """One child per count (largest first), and the 0-member baseline's peak RSS (KiB)."""
    rows = [_run_child(count, epochs) for count in sorted(counts, reverse=True)]
    base = statistics.median(_run_child(0, epochs)["rss_kib"] for _ in range(baselines))
    return sorted(rows, key=lambda row: row["count"]), base


def _fit(rows: list[dict[str, float]], key: str) -> tuple[float, float]:
    """Least squares ``seconds = fixed + per_member * members`` over the rows."""
    import numpy as np

    counts = np.array([row["count"] for row in rows], float)
    seconds = np.array([row[key] for row in rows], float)
    per_member, fixed = np.polyfit(counts, seconds, 1)
    return float(fixed), float(per_member)


def curve_section(epochs: int, counts: Sequence[int] = COUNTS) -> tuple[list[str], dict]:
    """The throughput and memory table, the linear fit and where it flattens."""
    rows, base_kib = measure(counts, epochs)
    lines = [
        f"Throughput against population size: `lr_medium`'s network, {epochs} epochs, "
        "members like the sweep's (member i: seed i mod 20, the sweep grid's (i // 20)-th "
        "rate); a fresh process per count, trace paid before timing, initial weights drawn "
        f"before timing. `train_population` is what the stages run; *graph* is the {epochs} "
        "compiled epochs alone (`Population.run_epochs`, in the same blocks). Peak RSS per "
        f"member: the process' peak minus a 0-member process' ({base_kib / 1024:.0f} MiB, "
        "same imports and warm-up), divided by the members; *estimate* is "
        "`population.member_bytes`.",
        "",
        "| members | models / s | s / model | ms / model-epoch | graph share | "
        "peak RSS MiB | RSS / member KiB | estimate KiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rates = {}
    for row in rows:
        count, seconds = row["count"], row["train"]
        rates[count] = count / seconds
        extra = (row["rss_kib"] - base_kib) / count
        lines.append(
            f"| {count} | {count / seconds:.1f} | {seconds / count:.4f} | "
            f"{1000 * seconds / (count * epochs):.3f} | {row['graph'] / seconds:.0%} | "
            f"{row['rss_kib'] / 1024:.0f} | {extra:.0f} | {row['estimate'] / 1024:.0f} |"
        )
    return [*lines, "", *_flattening(rows, epochs)], rates


def _flattening(rows: list[dict[str, float]], epochs: int) -> list[str]:
    fixed, per_member = _fit(rows, "train")
    graph_fixed, graph_member = _fit(rows, "graph")
    best = max(rows, key=lambda row: row["count"] / row["train"])
    knee = fixed / per_member
    large = [row for row in rows if row["count"] >= 100] or rows
    estimate = rows[0]["estimate"] / 1024
    _, kib = _fit(large, "rss_kib") if len(large) > 1 else (0.0, float("nan"))
    return [
        f"A straight line fits the time: `train_population` takes {fixed:.2f} s + "
        f"{1000 * per_member:.2f} ms per member ({1000 * per_member / epochs:.3f} ms per "
        f"model-epoch); the graph alone {graph_fixed:.2f} s + {1000 * graph_member:.2f} ms "
        f"per member. The fixed part is op dispatch (the same few hundred ops per step "
        f"whatever the members); it is amortised by about {knee:.0f} members (fixed = "
        f"per-member work), after which models per second flattens towards "
        f"{1 / per_member:.0f} / s: the per-member arithmetic and memory traffic (batched "
        f"matmuls, the optimizer's element-wise updates) and, outside the graph, "
        f"{1000 * (per_member - graph_member):.2f} ms per member of Python bookkeeping "
        "(histories, callbacks). Peak measured: "
        f"{best['count'] / best['train']:.0f} models / s at {best['count']} members.",
        "",
        f"Memory: peak RSS grows by {kib:.0f} KiB per member (slope over the populations of "
        f"100 or more; below that the growth hides in the allocator's slack), "
        f"{kib / estimate:.1f} times `member_bytes`' estimate of {estimate:.0f} KiB (the "
        "tensors a member needs at once; RSS adds what the allocator holds besides): a "
        f"population of 1,000 costs about {1000 * kib / 1024:.0f} MiB over the process' "
        "TensorFlow baseline. Chunks are sized by the estimate (`CHUNK_BYTES`, 1 GiB of it: "
        f"about {kib / estimate:.1f} GiB of RSS at this ratio), so the sweep trains as one "
        "chunk.",
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        print("\n".join(curve_section(50)[0]))
