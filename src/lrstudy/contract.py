"""Names the stages agree on: what a training log holds, and where.

Kept in one light module (no TensorFlow, no pandas) so the stage that writes a file and
the stages that read it cannot drift apart.
"""

from __future__ import annotations

# Per-epoch keys of every training history and DVCLive log, in this order.
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")

# Per-step learning rates of a schedule stepped per optimizer step, in each seed's log
# folder: tab-separated columns step, epoch_fraction, learning_rate.
STEP_RATES_FILE = "learning_rate_steps.tsv"

# Accuracy of guessing on the balanced binary data set.
CHANCE_ACCURACY = 0.5
