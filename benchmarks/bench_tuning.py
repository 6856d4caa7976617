"""What the tuning costs a ``train@`` stage: each population in one process, and whole stages.

1. In one process, as ``tune_training.tune_setting`` runs them after the setting's own
   population (the population and the Keras model to evaluate with are built and traced
   once per stage: ``training.shared_population``, ``sweep_training.evaluation_model``):
   ``lr_medium``'s tuning grid at a few sizes and its tuned rate on the 20 evaluation
   seeds at a few budgets, and the same for ``plateau`` (trained epoch by epoch), each
   ``train_grid`` call timed (training and every member's test evaluation), min of
   ``--rounds``. Beside each, ``cost.population_seconds`` (the training alone, from
   ``lrstudy.cost``'s constants); the difference is what a further population costs
   beyond its epochs, the measured ground of ``cost.POPULATION_SECONDS``.
2. ``train@lr_medium`` as a whole process (``python -m lrstudy.stages.train``, TensorFlow
   import included) without tuning, tuned with ``tune.budgets`` [1], [0.25, 1] and
   [0.25, 0.5, 1]; variants interleaved round by round, min of ``--rounds``.

Prints a Markdown section (``benchmarks/cost.md``). Needs ``data/prepared`` (``make
repro``). Seconds depend on the machine and its load; no test asserts them.

    PYTHONPATH=src python benchmarks/bench_tuning.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "prepared"
# (label, setting, grid rates, tuning seeds, budget): budget None is the tuning grid.
POPULATIONS = (
    ("grid 9 rates × 4 seeds", 9, 4, None),
    ("grid 9 rates × 2 seeds", 9, 2, None),
    ("grid 5 rates × 4 seeds", 5, 4, None),
    ("tuned rate, 20 seeds, budget 1", 1, 20, 1.0),
    ("tuned rate, 20 seeds, budget 0.5", 1, 20, 0.5),
    ("tuned rate, 20 seeds, budget 0.25", 1, 20, 0.25),
)
VARIANTS = {
    "no tuning": None,
    "tuned, budgets [1]": [1],
    "tuned, budgets [0.25, 1]": [0.25, 1],
    "tuned, budgets [0.25, 0.5, 1]": [0.25, 0.5, 1],
}


def _estimate(config, spec, members: int, n_train: int, n_val: int) -> float:
    """``cost.population_seconds`` of one population: its training alone."""
    from lrstudy.clock import steps_per_epoch
    from lrstudy.cost import epoch_macs, population_seconds

    model = config.model_for(spec)
    macs = epoch_macs(model, config.data.n_features, config.data.n_classes, n_train, n_val)
    steps = steps_per_epoch(n_train, spec.batch_size)
    return population_seconds(members, spec.epochs, steps, macs, members, len(spec.seeds))


def in_process(setting: str, rounds: int) -> list[str]:
    """Section 1 for one setting: its table rows."""
    from lrstudy.config import load_config
    from lrstudy.config.tuning import budget_epochs
    from lrstudy.data import read_dataset
    from lrstudy.sweep import log_grid
    from lrstudy.sweep_training import train_grid

    config = load_config(ROOT / "params.yaml")
    data = {part: read_dataset(DATA / f"{part}.csv") for part in ("train", "val", "test")}
    spec = config.run(setting)
    quiet = lambda _line: None  # noqa: E731
    train_grid([spec.lr], config, data, quiet, spec)  # the stage's own population: the trace
    rows = []
    for label, n_rates, seeds, budget in POPULATIONS:
        if budget is None:
            grid = log_grid(1e-4, 1.0, 2)
            rates = [
                float(grid[round(i * (len(grid) - 1) / (n_rates - 1))]) for i in range(n_rates)
            ]
            run = replace(spec, seeds=range(1000, 1000 + seeds))
        else:
            rates, run = [spec.lr], replace(spec, epochs=budget_epochs(budget, spec.epochs))
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            train_grid(rates, config, data, quiet, run)
            times.append(time.perf_counter() - started)
        members = len(rates) * len(run.seeds)
        estimate = _estimate(config, run, members, len(data["train"]), len(data["val"]))
        best = min(times)
        rows.append(
            f"| `{setting}` | {label} | {members} | {run.epochs} | {best:.2f} | "
            f"{estimate:.2f} | {best - estimate:.2f} |"
        )
    return rows


def _stage(params: Path, out: Path, tune: bool) -> float:
    """Seconds of one ``train@lr_medium`` process writing into ``out``."""
    command = [
        sys.executable,
        "-m",
        "lrstudy.stages.train",
        "--params",
        str(params),
        "--setting",
        "lr_medium",
        "--data",
        str(DATA),
        *("--models", str(out / "models"), "--logs", str(out / "logs")),
        *("--evaluation", str(out / "evaluation")),
        *(("--tune", str(out / "tune")) if tune else ()),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def whole_stages(rounds: int) -> list[str]:
    """Section 2: a row per variant."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, budgets in VARIANTS.items():
            variant = dict(params, tune=dict(params["tune"], budgets=budgets or [1]))
            files[name] = Path(folder) / f"params-{len(files)}.yaml"
            files[name].write_text(yaml.safe_dump(variant, sort_keys=False))
        for round_index in range(rounds):
            for name, budgets in VARIANTS.items():
                out = Path(folder) / f"out-{round_index}-{len(times[name])}-{hash(name)}"
                times[name].append(_stage(files[name], out, budgets is not None))
    return [f"| {name} | {min(values):.1f} |" for name, values in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()
    lines = [
        f"`PYTHONPATH=src python benchmarks/bench_tuning.py --rounds {args.rounds}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average at the start "
        f"{load[0]:.1f}. Each population in one process after the stage's own (min of "
        f"{args.rounds}); *fixed* = measured − `cost.population_seconds` (training alone):",
        "",
        "| setting | population | members | epochs | measured s | training estimate s | fixed s |",
        "|---|---|---|---|---|---|---|",
        *in_process("lr_medium", args.rounds),
        *in_process("plateau", args.rounds),
        "",
        f"`train@lr_medium` as a process (min of {args.rounds}, variants interleaved):",
        "",
        "| variant | s |",
        "|---|---|",
        *whole_stages(args.rounds),
        "",
        f"Load average at the end: {os.getloadavg()[0]:.1f}.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
