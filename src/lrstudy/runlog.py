"""The run-log format: what a trained setting leaves on disk, written and read side by side.

A setting's training writes, per seed ``s``:

* ``<models>/seed_<s>.keras``: the trained model (``model_path``);
* ``<logs>/seed_<s>/``: a DVCLive folder with one per-epoch TSV per key of ``HISTORY_KEYS``
  under ``plots/metrics/``, and one per key of ``OPTIMIZER_KEYS`` for the optimizer it
  describes (``live_logger`` writes it, ``read_live_history`` reads it);
* ``<logs>/seed_<s>/learning_rate_steps.tsv`` for a schedule set per optimizer step: the
  rate of every step (``write_step_rates``, ``read_step_rates``);
* ``<logs>/seed_<s>/initial_loss.txt``: the untrained model's loss on the train split,
  which divergence is judged against (``write_initial_loss``, ``read_initial_loss``);

and per setting, in its evaluation folder (``write_evaluation``, ``read_evaluation``):

* ``metrics.json``: test accuracy and loss per seed and their summary
  (``evaluation.setting_metrics``);
* ``boundary.npy``: the probabilities on the decision-boundary grid, one layer per seed in
  seed order (``evaluation.predict_grid``).

Per-seed values in metrics files sit under the same name, ``seed_<s>`` (``seed_key``).
Kept in one module so the writer and the readers cannot drift apart.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from lrstudy.io import read_json, write_json, write_text
from lrstudy.runtime import import_keras

if TYPE_CHECKING:
    import keras

# Per-epoch keys of every training history and DVCLive log, in this order.
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")

# Per-epoch keys only the optimizer they describe logs (after ``HISTORY_KEYS``), per
# ``model.optimizer.type``; every other optimizer's logs and history have none of them.
# ``effective_lr``: Prodigy's estimate ``d`` after the epoch's last step times that step's
# rate ``lr`` (float32 product), the authors' ``param_groups[0]["d"] * lr`` read after
# that step: the rate Adam's update would be scaled by at the next step at the same
# ``lr`` (Prodigy's ``dlr``, without ``use_bias_correction``'s factor, as
# ``learning_rate`` leaves out Adam's). ``averaging_weight``: Schedule-Free's weight
# ``c = 1/t`` of the epoch's last step ``t`` (1-based, counted over the whole run) in
# its average ``x <- (1 - c)·x + c·z`` (float32, as Keras' ``ScheduleFreeAdamW``).
EFFECTIVE_LR, AVERAGING_WEIGHT = "effective_lr", "averaging_weight"
OPTIMIZER_KEYS = {"prodigy": (EFFECTIVE_LR,), "schedule_free_adamw": (AVERAGING_WEIGHT,)}
OPTIONAL_KEYS = tuple(key for keys in OPTIMIZER_KEYS.values() for key in keys)

# Per-step learning rates, in each seed's log folder: columns step, epoch_fraction,
# learning_rate.
STEP_RATES_FILE = "learning_rate_steps.tsv"
STEP_RATES_COLUMNS = ("step", "epoch_fraction", "learning_rate")

# A setting's evaluation: its test metrics and its decision-boundary grids.
EVALUATION_FILES = ("metrics.json", "boundary.npy")

# The untrained model's training loss, in each seed's log folder: one float, repr'd.
INITIAL_LOSS_FILE = "initial_loss.txt"

SEED_PREFIX = "seed_"
MODEL_SUFFIX = ".keras"


def seed_key(seed: int) -> str:
    """The name of seed ``seed``'s log folder, and its key in per-seed metrics: ``seed_<s>``."""
    return f"{SEED_PREFIX}{seed}"


def seed_of(key: str) -> int:
    """The seed a ``seed_key`` names (``"seed_7"`` → 7).

    Raises:
        ValueError: if ``key`` is not of the form ``seed_<integer>``.
    """
    if not key.startswith(SEED_PREFIX):
        raise ValueError(f"not a per-seed key: {key!r}")
    return int(key.removeprefix(SEED_PREFIX))


def model_path(models: str | Path, seed: int) -> Path:
    """Where seed ``seed``'s trained model is saved: ``<models>/seed_<s>.keras``."""
    return Path(models) / f"{seed_key(seed)}{MODEL_SUFFIX}"


def seed_log_dir(logs: str | Path, seed: int) -> Path:
    """Seed ``seed``'s DVCLive folder: ``<logs>/seed_<s>``."""
    return Path(logs) / seed_key(seed)


# --- Writers. ---------------------------------------------------------------------------------


def step_rates_table(rates: Sequence[float] | np.ndarray, steps_per_epoch: int) -> str:
    """The per-step rates as a tab-separated table: ``step``, ``epoch_fraction``, ``learning_rate``.

    ``step`` is the 0-based global optimizer step and ``epoch_fraction`` is
    ``step / steps_per_epoch`` (0 at the first step of epoch 1); floats are written with
    ``repr`` so they read back exactly. The text depends only on its inputs.
    """
    lines = ["\t".join(STEP_RATES_COLUMNS)]
    lines += [
        f"{step}\t{step / steps_per_epoch!r}\t{float(rate)!r}" for step, rate in enumerate(rates)
    ]
    return "\n".join(lines) + "\n"


def write_step_rates(
    log_dir: str | Path, rates: Sequence[float] | np.ndarray, steps_per_epoch: int
) -> None:
    """Write ``step_rates_table`` to ``<log_dir>/learning_rate_steps.tsv``, atomically."""
    write_text(Path(log_dir) / STEP_RATES_FILE, step_rates_table(rates, steps_per_epoch))


def write_initial_loss(log_dir: str | Path, loss: float) -> None:
    """Write the untrained model's training loss to ``<log_dir>/initial_loss.txt`` (exact)."""
    write_text(Path(log_dir) / INITIAL_LOSS_FILE, f"{float(loss)!r}\n")


def write_evaluation(folder: str | Path, metrics: dict, boundaries: np.ndarray) -> None:
    """Write a setting's ``metrics.json`` and ``boundary.npy`` (``EVALUATION_FILES``).

    Call it inside the folder's ``io.atomic_directory``: the two files appear together.
    """
    metrics_file, boundary_file = EVALUATION_FILES
    write_json(Path(folder) / metrics_file, metrics)
    np.save(Path(folder) / boundary_file, boundaries)


def live_logger(directory: str | Path) -> keras.callbacks.Callback:
    """A callback logging every history key per epoch with DVCLive under ``directory``.

    DVCLive's own Keras callback renames metrics (``val_loss`` → ``eval/loss``); this one
    keeps Keras' names so logs, history and reports agree. A key of ``OPTIONAL_KEYS`` is
    logged when the epoch's logs have it (only its optimizer's). Each epoch's values are logged
    at DVCLive step ``epoch`` (0-based) as the epoch ends; the summary is written once, when
    training ends (DVCLive's ``next_step`` would rewrite it every epoch, which costs more
    than a fast-loop epoch).
    """
    keras = import_keras()
    from dvclive import Live

    class LiveLogger(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.live = Live(dir=str(directory), dvcyaml=False, save_dvc_exp=False, report=None)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.live.step = epoch
            for key in HISTORY_KEYS:
                self.live.log_metric(key, float((logs or {}).get(key, np.nan)))
            for key in OPTIONAL_KEYS:
                if key in (logs or {}):
                    self.live.log_metric(key, float(logs[key]))

        def on_train_end(self, logs: dict | None = None) -> None:
            self.live.end()

    return LiveLogger()


# Seconds of training before the first progress line, and between lines.
PROGRESS_SECONDS = 10.0


class ProgressClock:
    """When the epochs of one training started and the last progress line was shown.

    Shared by every member's ``epoch_progress`` callback: the members of a population end
    each epoch together, and one of them speaks for all.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last = clock()
        self.start = self.last

    def due(self) -> float | None:
        """Seconds since the start when ``PROGRESS_SECONDS`` passed since the last line."""
        now = self.clock()
        if now - self.last < PROGRESS_SECONDS:
            return None
        self.last = now
        return now - self.start


def epoch_progress(
    label: str, epochs: int, shared: ProgressClock, stream: TextIO | None = None
) -> keras.callbacks.Callback:
    """A callback printing ``<label>: epoch e/E after t s`` when training takes long.

    Silent for training shorter than ``PROGRESS_SECONDS``; afterwards a line at most every
    ``PROGRESS_SECONDS`` (to ``stream``, stderr by default), so a setting with many epochs
    shows that it runs and how far it got (issue 21 item 6).
    """
    keras = import_keras()

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if (elapsed := shared.due()) is not None:
                print(
                    f"{label}: epoch {epoch + 1:,}/{epochs:,} after {elapsed:.0f} s",
                    file=stream or sys.stderr,
                    flush=True,
                )

    return EpochProgress()


# --- Readers. ---------------------------------------------------------------------------------


def read_live_history(directory: str | Path) -> pd.DataFrame:
    """One DVCLive folder's per-epoch metrics as a frame: epoch (1-based) + ``HISTORY_KEYS``.

    Then each key of ``OPTIONAL_KEYS`` the folder logged (its optimizer's), in that order.
    """
    folder = Path(directory) / "plots" / "metrics"
    frame: pd.DataFrame | None = None
    optional = [key for key in OPTIONAL_KEYS if (folder / f"{key}.tsv").is_file()]
    for column in (*HISTORY_KEYS, *optional):
        series = pd.read_csv(folder / f"{column}.tsv", sep="\t")[["step", column]]
        frame = series if frame is None else frame.merge(series, on="step", how="outer")
    assert frame is not None
    frame = frame.sort_values("step").reset_index(drop=True)
    frame.insert(0, "epoch", frame.pop("step") + 1)
    return frame


def read_evaluation(folder: str | Path) -> tuple[dict, np.ndarray]:
    """A setting's evaluation: its ``metrics.json`` and its grids.

    The grids are memory-mapped read-only: only the seed a figure shows is ever read.
    """
    metrics_file, boundary_file = EVALUATION_FILES
    folder = Path(folder)
    return read_json(folder / metrics_file), np.load(folder / boundary_file, mmap_mode="r")


def read_initial_loss(directory: str | Path) -> float:
    """A seed's untrained training loss (``initial_loss.txt``); NaN if it was not written."""
    path = Path(directory) / INITIAL_LOSS_FILE
    return float(path.read_text()) if path.is_file() else float("nan")


def read_step_rates(directory: str | Path) -> pd.DataFrame | None:
    """A seed's per-step learning rates (``learning_rate_steps.tsv``), if it was written.

    The train stage writes the file for schedules that change the rate within an epoch:
    columns ``step`` (0-based global optimizer step), ``epoch_fraction`` (step divided
    by steps per epoch) and ``learning_rate``.
    """
    path = Path(directory) / STEP_RATES_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, sep="\t")[list(STEP_RATES_COLUMNS)]
