"""Today's stages with the previous fast loop: the baseline of ``bench_repro``.

``bench_repro`` copies this module and ``fast_loop.py`` into the ``src/`` of a throw-away
clone of HEAD and makes that clone's ``lrstudy.training`` end with
``from fast_loop_stages import train_setting``. Every population the stages train then
trains one model at a time, as before the population trainer: a setting's seeds, its
tuning grid, tuned run and budgets (``train@``, ``train_suggested@``) and the LR sweep's
grid (``sweep``). What the stages do around the training (logs, models, evaluation, the
comparison) is today's, so the two clones run the same study and differ only in the
trainer. The LR range test (``lr_find``) builds its population itself and is left as it
is: that side's ``lr_find`` stays the population's (the baseline is, if anything, faster
than the fast loop's was).

One ``fast_loop.Trainer`` (one model, one traced epoch) serves every run of a process that
shares its network, data, batch size and kind of rate plan (per-step rates or not), as
the fast loop's stages reused one per setting; each member gets a fresh model state.

A timing baseline, not a second reference: the fast loop validates inside its compiled
epoch, so a Schedule-Free setting's validation is at the training point ``y``, not the
averaged ``x`` the population and ``fit`` evaluate (the work per step is the same; the rate
its tuning picks may differ), and its models differ from the population's in the last
bits (float tolerance), so that clone's ``dvc.lock`` changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fast_loop import Trainer
from lrstudy import training
from lrstudy.config import ModelConfig, RunSpec
from lrstudy.data import Dataset
from lrstudy.rate_plan import rate_plan
from lrstudy.training_run import TrainingResult

# The population's ``train_setting``, taken before ``lrstudy.training`` rebinds the name.
_POPULATION_TRAIN_SETTING = training.train_setting
# The last trainer built, with what it was built for (``_trainer``).
_LAST: list[tuple[Dataset, Dataset, tuple[Any, ...], Trainer]] = []


def _trainer(
    spec: RunSpec, model_config: ModelConfig, train: Dataset, val: Dataset, n_classes: int
) -> Trainer:
    """The last ``Trainer`` when built for the same network, data and kind of plan.

    The data are the very objects, kept alive here so their identity cannot pass to others.
    """
    scheduled = rate_plan(spec, len(train)).rates is not None
    key = (model_config, n_classes, spec.batch_size, scheduled)
    if _LAST and _LAST[0][0] is train and _LAST[0][1] is val and _LAST[0][2] == key:
        return _LAST[0][3]
    trainer = Trainer(spec, model_config, train, val, n_classes=n_classes)
    _LAST[:] = [(train, val, key, trainer)]
    return trainer


def train_setting(
    spec: RunSpec,
    model_config: ModelConfig,
    train: Dataset,
    val: Dataset,
    *,
    n_classes: int,
    callbacks: training.Callbacks = training.no_callbacks,
    rates: Sequence[float] | None = None,
) -> Iterator[TrainingResult]:
    """``lrstudy.training.train_setting``, with ``train.loop: fast`` one model at a time.

    Members in the population's order (rate by rate, seed by seed), each with its own
    ``callbacks(index)``; ``train.loop: fit`` goes to the original.
    """
    if spec.loop != "fast":
        yield from _POPULATION_TRAIN_SETTING(
            spec, model_config, train, val, n_classes=n_classes, callbacks=callbacks, rates=rates
        )
        return
    runs = [spec] if rates is None else [training.at_rate(spec, rate) for rate in rates]
    index = 0
    for run in runs:
        plan = rate_plan(run, len(train))
        trainer = _trainer(run, model_config, train, val, n_classes)
        for seed in spec.seeds:
            yield trainer.train(seed, callbacks(index), plan=plan)
            index += 1
