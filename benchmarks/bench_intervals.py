"""Coverage of the 95 % intervals of mean accuracies and their differences, by simulation.

How often does the interval the summary reports contain the true mean, at 2 to 20 seeds?
Each scenario draws per-seed test accuracies as a model's would be: a per-seed success
rate p from a Beta distribution with the stated mean and standard deviation, then the
accuracy on 600 test points, Binomial(600, p) / 600 (the study's test split). The true
mean is the Beta's mean. "10 % collapse" mixes in seeds at chance (Binomial(600, 0.5) /
600), as `lr_large` does. Differences are paired: seed by seed, the accuracy of one
scenario minus that of another; the true mean difference is the difference of means.

Methods, side by side on the same samples:

- **bounded t** (lrstudy, ``statistics.mean_interval`` and ``difference_interval`` with
  ``ACCURACY_BOUNDS``): Student's t on the logit scale of [0, 1] (of [-1, 1] for a
  difference), back-transformed;
- **plain t**: ``mean ± t · s / √n`` (what lrstudy reported before), with the share of
  its intervals that leave [0, 1] (or [-1, 1]);
- **BCa bootstrap**: ``scipy.stats.bootstrap(method="BCa")``, 999 resamples, fewer
  repetitions (it is slow), from 3 seeds (2 values give a degenerate bootstrap).

Run ``python benchmarks/bench_intervals.py`` (about 2 minutes on one core); it writes
``benchmarks/intervals.md``, which the README quotes. The fixed seed makes the table
reproducible. Not a test: ``tests/test_statistics.py`` has a slow test checking a smaller
draw against the level stated here.
"""

from __future__ import annotations

# isort: off
import lrstudy  # noqa: F401  (first: lrstudy.runtime.pin_numpy caps NumPy's SIMD dispatch)

# isort: on
import argparse
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

from lrstudy.statistics import ACCURACY_BOUNDS, difference_interval, mean_interval

ROOT = Path(__file__).resolve().parent
TEST_POINTS = 600
SEEDS = (2, 3, 5, 10, 20)
Draw = Callable[[np.random.Generator, int], np.ndarray]


def beta_accuracy(mean: float, sd: float) -> Draw:
    """Per-seed accuracies: p ~ Beta with this mean and sd, then Binomial(600, p) / 600."""
    concentration = mean * (1 - mean) / sd**2 - 1
    a, b = mean * concentration, (1 - mean) * concentration

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.binomial(TEST_POINTS, rng.beta(a, b, n)) / TEST_POINTS

    return draw


def with_collapse(draw: Draw, share: float) -> Draw:
    """``draw``, with each seed at chance (Binomial(600, 0.5) / 600) with probability share."""

    def mixed(rng: np.random.Generator, n: int) -> np.ndarray:
        values = draw(rng, n)
        chance = rng.binomial(TEST_POINTS, 0.5, n) / TEST_POINTS
        return np.where(rng.random(n) < share, chance, values)

    return mixed


MEANS: dict[str, tuple[Draw, float]] = {
    "0.50 ± 0.02 (chance)": (beta_accuracy(0.50, 0.02), 0.50),
    "0.52 ± 0.04 (like lr_small)": (beta_accuracy(0.52, 0.04), 0.52),
    "0.70 ± 0.10": (beta_accuracy(0.70, 0.10), 0.70),
    "0.90 ± 0.05": (beta_accuracy(0.90, 0.05), 0.90),
    "0.95 ± 0.05 (skewed)": (beta_accuracy(0.95, 0.05), 0.95),
    "0.98 ± 0.005 (like lr_medium)": (beta_accuracy(0.98, 0.005), 0.98),
    "0.99 ± 0.003 (like step)": (beta_accuracy(0.99, 0.003), 0.99),
    "0.99 ± 0.01 (skewed)": (beta_accuracy(0.99, 0.01), 0.99),
    "0.88 ± 0.04, 10 % collapse (like lr_large)": (
        with_collapse(beta_accuracy(0.88, 0.04), 0.1),
        0.9 * 0.88 + 0.1 * 0.5,
    ),
}
UNIMODAL = [name for name in MEANS if "collapse" not in name]
DIFFERENCES: dict[str, tuple[str, str]] = {
    "0.99 ± 0.003 − 0.98 ± 0.005": (
        "0.99 ± 0.003 (like step)",
        "0.98 ± 0.005 (like lr_medium)",
    ),
    "0.52 ± 0.04 − 0.99 ± 0.003": ("0.52 ± 0.04 (like lr_small)", "0.99 ± 0.003 (like step)"),
    "0.50 ± 0.02 − 0.99 ± 0.01": ("0.50 ± 0.02 (chance)", "0.99 ± 0.01 (skewed)"),
    "0.95 ± 0.05 − 0.70 ± 0.10": ("0.95 ± 0.05 (skewed)", "0.70 ± 0.10"),
    "10 % collapse − 0.99 ± 0.003": (
        "0.88 ± 0.04, 10 % collapse (like lr_large)",
        "0.99 ± 0.003 (like step)",
    ),
}


def plain_t(sample: np.ndarray) -> tuple[float, float]:
    """``mean ± t_{0.975, n−1} · s / √n`` (the interval lrstudy reported before)."""
    half = stats.t.ppf(0.975, sample.size - 1) * np.std(sample, ddof=1) / np.sqrt(sample.size)
    return float(sample.mean() - half), float(sample.mean() + half)


def bca(sample: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """The BCa bootstrap interval of the mean, 999 resamples."""
    if np.ptp(sample) == 0:
        return float(sample[0]), float(sample[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap((sample,), np.mean, n_resamples=999, method="BCa", rng=rng)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def coverage(
    samples: list[np.ndarray],
    truth: float,
    interval: Callable[[np.ndarray], tuple[float, float] | None],
    bounds: tuple[float, float],
) -> tuple[float, float]:
    """Share of the samples' intervals containing ``truth``, and share leaving ``bounds``."""
    ends = [interval(sample) or (np.nan, np.nan) for sample in samples]
    hits = np.mean([low <= truth <= high for low, high in ends])
    outside = np.mean([low < bounds[0] or high > bounds[1] for low, high in ends])
    return float(hits), float(outside)


def cell(hit: float, out: float, method: str) -> str:
    """A table cell: the coverage, and for the plain t the share out of range."""
    return f"{hit:.3f}" + (f" ({out:.0%} out)" if method == "plain t" else "")


def bounded_difference(pair: np.ndarray) -> tuple[float, float] | None:
    """The paired difference interval lrstudy reports, of per-seed rows (first, second)."""
    return difference_interval(pair[0], pair[1], paired=True, bounds=ACCURACY_BOUNDS)[2]


def table(repetitions: int, bootstrap_repetitions: int, seed: int) -> list[str]:
    """The markdown tables of coverage per scenario and number of seeds.

    Every method of a cell sees the same samples (BCa the first
    ``bootstrap_repetitions`` of them).
    """
    rng = np.random.default_rng(seed)
    header = "| scenario | method | " + " | ".join(f"n = {n}" for n in SEEDS) + " |"
    rule = "|---|---|" + "---:|" * len(SEEDS)
    means: dict[str, Callable[[np.ndarray], tuple[float, float] | None]] = {
        "bounded t": lambda x: mean_interval(x, bounds=ACCURACY_BOUNDS),
        "plain t": plain_t,
        "BCa bootstrap": lambda x: bca(x, rng),
    }
    lines = ["### Mean accuracy of one setting", "", header, rule]
    for name, (draw, truth) in MEANS.items():
        rows: dict[str, list[str]] = {method: [] for method in means}
        for n in SEEDS:
            samples = [draw(rng, n) for _ in range(repetitions)]
            for method, interval in means.items():
                if method == "BCa bootstrap":
                    if n < 3:
                        rows[method].append("–")
                        continue
                    chosen = samples[:bootstrap_repetitions]
                else:
                    chosen = samples
                hit, out = coverage(chosen, truth, interval, ACCURACY_BOUNDS)
                rows[method].append(cell(hit, out, method))
        lines += [
            f"| {name} | {method} | " + " | ".join(row) + " |" for method, row in rows.items()
        ]
    differences: dict[str, Callable[[np.ndarray], tuple[float, float] | None]] = {
        "bounded t": bounded_difference,
        "plain t": lambda pair: plain_t(pair[0] - pair[1]),
    }
    lines += ["", "### Paired difference of two settings", "", header, rule]
    for name, (first, second) in DIFFERENCES.items():
        truth = MEANS[first][1] - MEANS[second][1]
        rows = {method: [] for method in differences}
        for n in SEEDS:
            samples = [
                np.stack([MEANS[first][0](rng, n), MEANS[second][0](rng, n)])
                for _ in range(repetitions)
            ]
            for method, interval in differences.items():
                hit, out = coverage(samples, truth, interval, (-1.0, 1.0))
                rows[method].append(cell(hit, out, method))
        lines += [
            f"| {name} | {method} | " + " | ".join(row) + " |" for method, row in rows.items()
        ]
    return lines


def main() -> None:
    """Simulate, print and write benchmarks/intervals.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=4000, help="samples per cell")
    parser.add_argument("--bootstrap-repetitions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", type=Path, default=ROOT / "intervals.md")
    args = parser.parse_args()
    lines = table(args.repetitions, args.bootstrap_repetitions, args.seed)
    sd = np.sqrt(0.95 * 0.05 / args.repetitions)
    text = "\n".join(
        [
            "# Coverage of the 95 % intervals (`python benchmarks/bench_intervals.py`)",
            "",
            f"Share of intervals that contain the true mean, {args.repetitions} samples per "
            f"cell (standard error of a share near 0.95: {sd:.4f}); BCa "
            f"{args.bootstrap_repetitions} samples per cell. Scenarios: per-seed accuracy "
            "Binomial(600, p) / 600 with p ~ Beta(mean ± sd); `(x % out)`: share of plain "
            "t-intervals reaching outside [0, 1] (for differences [-1, 1]). Seed "
            f"{args.seed}. The script's docstring has the details.",
            "",
            *lines,
            "",
        ]
    )
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
