"""Per-epoch progress of a long training (issue 21 item 6: 100,000 epochs ran 8 minutes
printing nothing). A fake clock stands in for time: no test waits or times anything."""

from __future__ import annotations

import io
from dataclasses import replace

from lrstudy.config import parse_config
from lrstudy.data import generate, split
from lrstudy.runlog import PROGRESS_SECONDS, ProgressClock, epoch_progress
from lrstudy.training import train_setting

from .conftest import tiny_params


class FakeClock:
    """Returns the given times in turn."""

    def __init__(self, times: list[float]) -> None:
        self.times = iter(times)

    def __call__(self) -> float:
        return next(self.times)


def test_silent_when_short_then_a_line_at_most_every_interval() -> None:
    assert PROGRESS_SECONDS == 10
    # Started at 0; epochs end at 1, 5, 11 (due), 12, 25 (due: 14 s after the last line).
    clock = ProgressClock(FakeClock([0, 1, 5, 11, 12, 25]))
    stream = io.StringIO()
    callback = epoch_progress("lr_medium seed 0", 100000, clock, stream)
    for epoch in range(5):
        callback.on_epoch_end(epoch)
    assert stream.getvalue().splitlines() == [
        "lr_medium seed 0: epoch 3/100,000 after 11 s",
        "lr_medium seed 0: epoch 5/100,000 after 25 s",
    ]


def test_members_of_a_population_share_one_line_per_interval(default_params) -> None:
    # Both loops call every member's callback at each epoch's end; the members of one
    # population end each epoch together, so one line speaks for all of them.
    config = parse_config(tiny_params(default_params))
    parts = split(generate(config.data), config.split)
    spec = replace(config.run("lr_medium"), epochs=4, seeds=(0, 1, 2))
    ticks = iter(range(0, 10**6, 6))  # every reading of the clock 6 s later
    clock = ProgressClock(lambda: next(ticks))
    stream = io.StringIO()
    shown = [epoch_progress(f"seed {seed}", 4, clock, stream) for seed in spec.seeds]
    results = train_setting(
        spec,
        config.model_for(spec),
        parts["train"],
        parts["val"],
        n_classes=config.data.n_classes,
        callbacks=lambda member: [shown[member]],
    )
    assert len(list(results)) == 3
    lines = stream.getvalue().splitlines()
    # Readings at 6, 12, 18, ... (3 members x 4 epochs): due at 12, 24, 36, 48, 60, 72.
    assert lines[0] == "seed 1: epoch 1/4 after 12 s"
    assert len(lines) == 6 and all("/4 after " in line for line in lines)
