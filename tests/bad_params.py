"""Bad params.yaml files, one per kind of mistake, shared by the unit and end-to-end tests.

Each case edits a valid params mapping (or its YAML text) into a bad one and lists the
fragments lrstudy's message must contain: the key path, the value as given and what is
allowed. tests/config/test_config.py checks the message of each in-process;
tests/pipeline/test_pipeline.py runs those marked ``e2e`` through `make repro`'s check or
`dvc repro` on a built project and checks the failure and that no output or dvc.lock byte
changed.
Settings used: lr_medium and plateau (present in params.yaml and in the tiny copies).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class BadParams:
    """One bad params.yaml: how to make it and what the message must say."""

    id: str
    change: Callable[[dict[str, Any]], None]
    fragments: tuple[str, ...]
    # Edit of the dumped YAML text; returning None deletes params.yaml.
    text: Callable[[str], str | None] | None = None
    # DVC itself cannot read dvc.yaml with this file (it fails before any stage runs), so
    # only `make repro`'s check, not the validate stage, can give lrstudy's message.
    dvc_fails_first: bool = False
    # Also run end to end: one case per way a file is refused (a YAML boolean, text or
    # .nan where a number goes; an unknown key, name or schedule type; a value out of range;
    # a rule across sections; a missing or empty section; each way DVC itself fails before
    # the validate stage; the runaway study). Every case is checked in-process; each end-to-
    # end case costs a `dvc repro` (about 4 s), and the suite must stay fast.
    e2e: bool = False

    def render(self, params: dict[str, Any]) -> str | None:
        """The bad file's text (None: no file), from a valid params mapping (not changed)."""
        copy = yaml.safe_load(yaml.safe_dump(params))
        self.change(copy)
        text = yaml.safe_dump(copy, sort_keys=False)
        return self.text(text) if self.text is not None else text


def _set(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(params: dict[str, Any]) -> None:
        node = params
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _setting(name: Any, setting: Any) -> Callable[[dict[str, Any]], None]:
    return _set("settings", name, value=setting)


def _schedule(schedule: dict[str, Any], lr: float = 0.05) -> Callable[[dict[str, Any]], None]:
    return _setting("x", {"lr": lr, "schedule": schedule})


def _first(*path: str, key: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    """Put ``key: value`` first in the mapping at ``path`` and that mapping first all the
    way up, so the key is on line ``len(path) + 1`` of the file whatever the params."""

    def change(params: dict[str, Any]) -> None:
        def put(node: dict[str, Any], depth: int) -> dict[str, Any]:
            if depth == len(path):
                return {key: value, **node}
            inner = put(node[path[depth]], depth + 1)
            return {path[depth]: inner, **{k: v for k, v in node.items() if k != path[depth]}}

        rebuilt = put(params, 0)
        params.clear()
        params.update(rebuilt)

    return change


def _unchanged(params: dict[str, Any]) -> None:
    del params


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def change(params: dict[str, Any]) -> None:
        node = params
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


def _both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(params: dict[str, Any]) -> None:
        for each in changes:
            each(params)

    return change


WHOLE = "a whole number"
FINITE = ".nan and .inf are not allowed"
NAME_RULE = "starting with a letter"

BAD_PARAMS = [
    # Accepted but wrong before (issue 9, items 3-8).
    BadParams(
        "seeds-true",
        _set("train", "seeds", value=True),
        ("train.seeds = true", WHOLE, ">= 1", "boolean"),
        e2e=True,
    ),
    BadParams(
        "lr-true",
        _set("settings", "lr_medium", "lr", value=True),
        ("settings.lr_medium.lr = true", "a finite number >= 1.17549e-38", "boolean"),
    ),
    # Found by tests/config/test_config_properties.py: values the schema took but the code could
    # not use (a rate the float32 optimizer turns into inf, a period rounded to 0 epochs).
    BadParams(
        "lr-beyond-float32",
        _set("settings", "lr_medium", "lr", value=1e39),
        ("settings.lr_medium.lr = 1e+39", "<= 3.40282e+38", "float32"),
    ),
    BadParams(
        "period-below-precision",
        _schedule({"type": "step", "every": 2e-10}),
        ("settings.x.schedule.every = 2e-10", ">= 1e-09", "9 decimal places"),
    ),
    # Found by tests/config/test_config_properties.py: a warmup of 9e307 epochs overflowed a
    # float when turned into ticks (OverflowError before training).
    BadParams(
        "warmup-beyond-a-billion-epochs",
        _schedule({"type": "cosine", "warmup_epochs": 9.02e307}),
        ("settings.x.schedule.warmup_epochs = 9.02e+307", "<= 1e+09", "up to a billion epochs"),
    ),
    BadParams(
        "decay-beyond-a-billion-epochs",
        _schedule({"type": "cosine", "decay_epochs": 2e9}),
        ("settings.x.schedule.decay_epochs = 2000000000.0", "<= 1e+09", "up to a billion epochs"),
    ),
    BadParams(
        "per-decade-true",
        _set("sweep", "per_decade", value=True),
        ("sweep.per_decade = true", WHOLE, "boolean"),
    ),
    BadParams(
        "budgets-unsorted",
        _set("tune", "budgets", value=[0.5, 0.25, 1]),
        ("tune.budgets = [0.5, 0.25, 1]", "strictly increasing", "sorted, each once"),
    ),
    BadParams(
        "budget-above-one",
        _set("tune", "budgets", value=[0.5, 2]),
        ("tune.budgets.1 = 2", "less than or equal to 1"),
    ),
    BadParams(
        "budget-below-an-epoch",
        _set("tune", "budgets", value=[0.001, 1]),
        ("tune.budgets.0 = 0.001", "floor(0.001 * ", "at least 1 epoch"),
    ),
    BadParams(
        "range-test-steps-quoted",
        _set("lr_find", "steps", value="100"),
        ("lr_find.steps = '100'", WHOLE, "string"),
    ),
    BadParams(
        "epochs-true",
        _set("train", "epochs", value=True),
        ("train.epochs = true", WHOLE, "boolean"),
    ),
    BadParams(
        "batch-size-false",
        _set("train", "batch_size", value=False),
        ("train.batch_size = false", WHOLE, "boolean"),
    ),
    BadParams(
        "stratify-yes",
        _set("split", "stratify", value="yes"),
        ("split.stratify = 'yes'", "expected true or false", "string"),
    ),
    BadParams(
        "n-samples-quoted",
        _set("data", "n_samples", value="200"),
        ("data.n_samples = '200'", WHOLE, ">= 10", "string"),
        e2e=True,
    ),
    BadParams(
        "epochs-fractional",
        _set("train", "epochs", value=2.5),
        ("train.epochs = 2.5", WHOLE, ">= 1"),
    ),
    BadParams(
        "grid-low-nan",
        _set("evaluate", "grid", "low", value=float("nan")),
        ("evaluate.grid.low = .nan", FINITE),
        e2e=True,
    ),
    BadParams(
        "grid-high-inf",
        _set("evaluate", "grid", "high", value=float("inf")),
        ("evaluate.grid.high = .inf", FINITE),
    ),
    BadParams(
        "lr-inf",
        _set("settings", "lr_medium", "lr", value=float("inf")),
        ("settings.lr_medium.lr = .inf", FINITE, "<= 3.40282e+38"),
    ),
    BadParams("cov-nan", _set("data", "cov", value=float("nan")), ("data.cov = .nan", FINITE)),
    BadParams(
        "data-random-state-2-32",
        _set("data", "random_state", value=2**32),
        ("data.random_state = 4294967296", "less than or equal to 4294967295"),
    ),
    BadParams(
        "split-random-state-2-40",
        _set("split", "random_state", value=2**40),
        ("split.random_state = 1099511627776", "less than or equal to 4294967295"),
    ),
    BadParams(
        "seed-plus-seeds",
        _both(_set("train", "seed", value=2**32 - 1), _set("train", "seeds", value=2)),
        ("train.seed = 4294967295", "seed + seeds - 1", "at most 4294967295"),
    ),
    BadParams(
        "seed-negative",
        _set("train", "seed", value=-1),
        ("train.seed = -1", "greater than or equal to 0"),
    ),
    BadParams(
        "top-level-typo",
        _set("trian", value={"epochs": 3}),
        ("(top level): unknown key 'trian'", "did you mean 'train'?", "allowed keys"),
        e2e=True,
    ),
    # A key YAML reads as something other than a string is quoted as written, with its
    # line (issue 21 item 7: "setting name 0.001" named a value the user never wrote).
    BadParams(
        "name-1e-3",
        _first("settings", key="1e-3", value={"lr": 0.001}),
        ("settings: setting name 1e-3 (line 2) is read by YAML as a float (0.001)", NAME_RULE),
        e2e=True,
    ),
    BadParams(
        "name-integer",
        _first("settings", key=123, value={"lr": 0.001}),
        ("settings: setting name 123 (line 2) is read by YAML as an integer, not", NAME_RULE),
    ),
    BadParams(
        "name-null",
        _first("settings", key=None, value={"lr": 0.001}),
        ("settings: setting name null (line 2) is read by YAML as null, not", NAME_RULE),
    ),
    BadParams(
        "name-tilde",
        _first("settings", key=None, value={"lr": 0.001}),
        ("settings: setting name ~ (line 2) is read by YAML as null, not", NAME_RULE),
        text=lambda text: text.replace("\n  null:", "\n  ~:", 1),
    ),
    BadParams(
        "name-date",
        _first("settings", key=datetime.date(2024, 1, 1), value={"lr": 0.001}),
        ("settings: setting name 2024-01-01 (line 2) is read by YAML as a date, not", NAME_RULE),
    ),
    BadParams(
        "suggested-name-float",
        _first("suggested", key="HALF", value={"lr": {"from": "lr_find", "suggestion": "valley"}}),
        ("suggested: setting name .5 (line 2) is read by YAML as a float (0.5)", NAME_RULE),
        text=lambda text: text.replace("HALF:", ".5:", 1),  # PyYAML would quote '.5'
    ),
    BadParams(
        "train-key-float",
        _first("train", key="1e3", value=3),
        (
            "train: key 1e3 (line 2) is read by YAML as a float (1000.0), not a string",
            "allowed keys: batch_size, epochs",
        ),
    ),
    BadParams(
        "top-level-key-true",
        _first(key=True, value=3),
        ("(top level): key true (line 1) is read by YAML as a boolean", "allowed keys: data"),
    ),
    BadParams(
        "schedule-key-hex",
        _first("settings", "plateau", "schedule", key="HEX_KEY", value=3),
        (
            "settings.plateau.schedule: key 0x10 (line 4) is read by YAML as an integer (16)",
            "allowed keys: type, monitor",
        ),
        text=lambda text: text.replace("HEX_KEY:", "0x10:", 1),
    ),
    BadParams(
        "name-yes",
        _setting("yes", {"lr": 0.001}),
        ("settings: setting name 'yes'", NAME_RULE, "YAML 1.1"),
    ),
    BadParams(
        "name-digit-first",
        _setting("2fast", {"lr": 0.001}),
        ("setting name '2fast'", NAME_RULE),
    ),
    BadParams(
        "name-true",
        _first("settings", key=True, value={"lr": 0.001}),
        ("settings: setting name true (line 2) is read by YAML as a boolean, not", NAME_RULE),
    ),
    BadParams(
        "cosine-restarts-period-below-a-step",
        _schedule({"type": "cosine_restarts", "first_decay_epochs": 0.01, "per": "step"}),
        ("settings.x.schedule.first_decay_epochs = 0.01", "at least one tick", "optimizer step"),
    ),
    BadParams(
        "cosine-restarts-period-below-an-epoch",
        _schedule({"type": "cosine_restarts", "first_decay_epochs": 0.5}),
        (
            "settings.x.schedule.first_decay_epochs = 0.5",
            "at least one tick",
            "1 epoch with per: epoch",
        ),
    ),
    BadParams(
        "cyclic-half-cycle-below-a-step",
        _schedule({"type": "cyclic", "min_lr": 0.001, "step_size_epochs": 0.001}),
        ("settings.x.schedule.step_size_epochs = 0.001", "at least one optimizer step"),
    ),
    # Refused before issue 9 too (kept refused).
    BadParams(
        "n-classes-1",
        _set("data", "n_classes", value=1),
        ("data.n_classes = 1", "greater than or equal to 2"),
    ),
    BadParams(
        "n-features-0",
        _set("data", "n_features", value=0),
        ("data.n_features = 0", "greater than or equal to 1"),
    ),
    BadParams(
        "n-samples-5",
        _set("data", "n_samples", value=5),
        ("data.n_samples = 5", "greater than or equal to 10"),
    ),
    BadParams(
        "lr-negative",
        _set("settings", "lr_medium", "lr", value=-0.1),
        ("settings.lr_medium.lr = -0.1", ">= 1.17549e-38"),
    ),
    BadParams(
        "lr-zero",
        _set("settings", "lr_medium", "lr", value=0),
        ("settings.lr_medium.lr = 0", ">= 1.17549e-38"),
    ),
    BadParams(
        "lr-text",
        _set("settings", "lr_medium", "lr", value="fast"),
        ("settings.lr_medium.lr = 'fast'", "a finite number >= 1.17549e-38", "string"),
    ),
    BadParams(
        "activation",
        _set("model", "activation", value="tanhh"),
        ("model.activation = 'tanhh'", "allowed: tanh, relu"),
    ),
    BadParams(
        "optimizer",
        _set("model", "optimizer", value="adamax"),
        ("model.optimizer = 'adamax'", "allowed: adam, sgd, rmsprop"),
    ),
    BadParams(
        "optimizer-type",
        _set("settings", "lr_medium", "optimizer", value={"type": "adamax"}),
        ("settings.lr_medium.optimizer.type = 'adamax'", "unknown optimizer type", "adamw"),
    ),
    BadParams(
        "optimizer-option-range",
        _set("settings", "lr_medium", "optimizer", value={"type": "adamw", "weight_decay": -0.1}),
        ("settings.lr_medium.optimizer.weight_decay = -0.1", ">= 0 and <= 1"),
        e2e=True,
    ),
    BadParams(
        "schedule-free-beta-1-range",
        _set(
            "settings", "lr_medium", "optimizer", value={"type": "schedule_free_adamw", "beta_1": 1}
        ),
        ("settings.lr_medium.optimizer.beta_1 = 1", ">= 0.1 and < 1"),
    ),
    BadParams(
        "prodigy-d-coef-negative",
        _set("settings", "lr_medium", "optimizer", value={"type": "prodigy", "d_coef": -1.0}),
        ("settings.lr_medium.optimizer.d_coef = -1.0", "> 0 and <= 100"),
    ),
    BadParams(
        "prodigy-growth-rate-not-above-1",
        _set("model", "optimizer", value={"type": "prodigy", "growth_rate": 1}),
        ("model.optimizer.growth_rate = 1", "> 1 and <= 1e+06", "null"),
    ),
    BadParams(
        "prodigy-flag-not-boolean",
        _set("model", "optimizer", value={"type": "prodigy", "safeguard_warmup": "yes"}),
        ("model.optimizer.safeguard_warmup = 'yes'", "true or false"),
    ),
    BadParams(
        "schedule-free-with-a-decaying-schedule",
        _setting(
            "sf",
            {"lr": 0.01, "schedule": {"type": "cosine"}, "optimizer": "schedule_free_adamw"},
        ),
        ("settings.sf.schedule.type = 'cosine'", "allowed with it: constant"),
    ),
    BadParams(
        "prodigy-with-a-warmup-unguarded",
        _setting(
            "pg",
            {
                "lr": 1.0,
                "schedule": {"type": "cosine", "warmup_epochs": 2},
                "optimizer": "prodigy",
            },
        ),
        ("settings.pg.schedule.warmup_epochs = 2", "safeguard_warmup: true"),
    ),
    BadParams(
        "prodigy-with-restarts-unguarded",
        _both(
            _set("model", "optimizer", value="prodigy"),
            _setting(
                "pr", {"lr": 1.0, "schedule": {"type": "cosine_restarts", "first_decay_epochs": 5}}
            ),
        ),
        ("settings.pr.schedule.type = 'cosine_restarts'", "safeguard_warmup: true"),
    ),
    BadParams(
        "lr-find-with-prodigy",
        _set("model", "optimizer", value={"type": "prodigy", "safeguard_warmup": True}),
        (
            "lr_find: model.optimizer is prodigy, whose lr multiplies the step size d",
            "allowed with lr_find: adam, sgd, rmsprop, adamw, schedule_free_adamw",
        ),
        e2e=True,
    ),
    BadParams(
        "suggested-rate-for-prodigy",
        _set("suggested", "lr_valley", "optimizer", value={"type": "prodigy", "d_coef": 2.0}),
        ("suggested.lr_valley.optimizer is prodigy", "a fixed lr under settings"),
    ),
    BadParams(
        "optimizer-option-of-another-type",
        _set("model", "optimizer", value={"type": "sgd", "weight_decay": 0.1}),
        ("model.optimizer: unknown key 'weight_decay'", "allowed keys: type"),
    ),
    BadParams(
        "hidden-units-empty",
        _set("model", "hidden_units", value=[]),
        ("model.hidden_units = []", "at least 1"),
    ),
    BadParams(
        "hidden-units-zero",
        _set("model", "hidden_units", value=[10, 0]),
        ("model.hidden_units.1 = 0", "greater than or equal to 1"),
    ),
    BadParams(
        "schedule-type",
        _set("settings", "plateau", "schedule", "type", value="cosinus"),
        ("settings.plateau.schedule.type = 'cosinus'", "unknown schedule type", "constant, step"),
        e2e=True,
    ),
    BadParams(
        "schedule-no-type",
        _schedule({"every": 2}),
        ("settings.x.schedule: missing 'type'", "allowed: constant"),
    ),
    BadParams(
        "plateau-factor",
        _set("settings", "plateau", "schedule", "factor", value=1.5),
        ("settings.plateau.schedule.factor = 1.5", "less than 1"),
    ),
    BadParams(
        "setting-key-typo",
        _set("settings", "lr_medium", "learnig_rate", value=0.01),
        ("settings.lr_medium: unknown key 'learnig_rate'", "allowed keys: lr, schedule"),
    ),
    BadParams(
        "train-key-typo",
        _set("train", "epoch", value=3),
        ("train: unknown key 'epoch'", "did you mean 'epochs'?"),
    ),
    BadParams(
        "test-fraction-1",
        _set("split", "test_fraction", value=1.0),
        ("split.test_fraction = 1.0", "less than 1"),
    ),
    BadParams(
        "grid-reversed",
        _set("evaluate", "grid", "high", value=-2.0),
        ("evaluate.grid", "high (-2.0) must be greater than low"),
    ),
    BadParams(
        "grid-points-1",
        _set("evaluate", "grid", "points", value=1),
        ("evaluate.grid.points = 1", "greater than or equal to 2"),
    ),
    BadParams(
        "step-every-and-milestones",
        _schedule({"type": "step", "every": 2, "milestones": [3]}),
        ("settings.x.schedule", "exactly one of 'every' or 'milestones'", "both"),
    ),
    BadParams(
        "milestones-unordered",
        _schedule({"type": "step", "milestones": [3, 2]}),
        ("settings.x.schedule.milestones = [3, 2]", "strictly increasing"),
    ),
    BadParams(
        "cyclic-min-above-lr",
        _schedule({"type": "cyclic", "min_lr": 0.5, "step_size": 4}),
        ("settings.x.schedule", "min_lr = 0.5 must be below max_lr", "(0.05)"),
    ),
    BadParams(
        "per-batch",
        _schedule({"type": "constant", "per": "batch"}),
        ("settings.x.schedule.per = 'batch'", "'epoch' or 'step'"),
    ),
    BadParams(
        "staircase-yes",
        _schedule({"type": "exponential", "rate": 0.9, "staircase": "yes"}),
        ("settings.x.schedule.staircase = 'yes'", "expected true or false"),
    ),
    BadParams(
        "setting-seeds-101",
        _set("settings", "lr_medium", "seeds", value=101),
        ("settings.lr_medium.seeds = 101", "less than or equal to 100"),
        e2e=True,
    ),
    BadParams("missing-section", _drop("evaluate"), ("evaluate: missing required key",), e2e=True),
    BadParams(
        "missing-section-a-stage-runs-on",
        _drop("tune"),
        ("tune: missing section, which the train@ stages (each tunes its setting's rate)",),
    ),
    BadParams(
        "split-too-small",
        _both(_set("data", "n_samples", value=10), _set("split", "test_fraction", value=0.1)),
        ("split.test_fraction=0.1", "data.n_samples=10", "at least data.n_classes=2"),
        e2e=True,
    ),
    BadParams(
        "empty-settings", _set("settings", value={}), ("settings = {}", "at least 1 item"), e2e=True
    ),
    # Files DVC cannot read dvc.yaml with: only lrstudy's own check speaks first.
    BadParams(
        "settings-null",
        _set("settings", value=None),
        ("settings = null", "valid dictionary"),
        dvc_fails_first=True,
        e2e=True,
    ),
    BadParams(
        "name-dot-dot-evil",
        _setting("../evil", {"lr": 0.01}),
        ("setting name '../evil'", NAME_RULE),
        dvc_fails_first=True,
        e2e=True,
    ),
    BadParams(
        "name-hidden",
        _setting(".hidden", {"lr": 0.01}),
        ("setting name '.hidden'", NAME_RULE),
        e2e=True,
    ),
    BadParams(
        "duplicate-key",
        _unchanged,
        ("not valid YAML", "duplicate key", "train"),
        text=lambda text: text + "train:\n  epochs: 3\n",
        dvc_fails_first=True,
        e2e=True,
    ),
    BadParams(
        "not-yaml",
        _unchanged,
        ("not valid YAML",),
        text=lambda text: text + "data: [unclosed\n",
        dvc_fails_first=True,
        e2e=True,
    ),
    BadParams(
        "top-level-list",
        _unchanged,
        ("expected a mapping at the top level, got list",),
        text=lambda text: "- 1\n- 2\n",
        dvc_fails_first=True,
        e2e=True,
    ),
    BadParams(
        "params-deleted",
        _unchanged,
        ("file not found:", "params.yaml"),
        text=lambda text: None,
        dvc_fails_first=True,
        e2e=True,
    ),
    # The LR sweep and the range test's suggested settings (issue 12).
    BadParams(
        "sweep-bounds",
        _both(_set("sweep", "min_lr", value=1.0), _set("sweep", "max_lr", value=1.0)),
        ("max_lr (1.0) must be greater than min_lr (1.0)",),
    ),
    BadParams(
        "sweep-per-decade",
        _set("sweep", "per_decade", value=0),
        ("sweep.per_decade = 0",),
    ),
    BadParams(
        "unknown-suggestion",
        _set("suggested", "lr_valley", "lr", "suggestion", value="slope"),
        ("suggested.lr_valley.lr.suggestion = 'slope'", "minimum, steep, valley"),
    ),
    BadParams(
        "seed-overflow-sweep",
        # every setting runs one seed, but the sweep and the range test run train.seeds
        lambda params: (
            params["train"].update(seed=2**32 - 1, seeds=2),
            [setting.update(seeds=1) for setting in params["settings"].values()],
            [setting.update(seeds=1) for setting in params.get("suggested", {}).values()],
        ),
        ("train.seed = 4294967295", "train.seeds (the sweep and the range test)", "at most"),
    ),
    BadParams(
        "seed-overflow-suggested",
        _both(
            _set("train", "seed", value=2**32 - 4),
            _set("train", "seeds", value=1),
            _set("suggested", "lr_valley", "seeds", value=5),
        ),
        ("train.seed = 4294967292", "suggested.lr_valley runs 5 seeds", "at most"),
    ),
    # A suggested setting's schedule passed validation and crashed the train stage with a
    # traceback, after the range test (found by the session's review).
    BadParams(
        "suggested-restart-period-below-an-epoch",
        _set(
            "suggested",
            "lr_valley",
            "schedule",
            value={"type": "cosine_restarts", "first_decay_epochs": 0.5, "per": "epoch"},
        ),
        ("suggested.lr_valley.schedule.first_decay_epochs = 0.5", "at least one tick"),
    ),
    # The schedule families of issue 18: wsd's cooldown must fit its run after the warmup
    # (the setting's own epochs: the end-to-end copies shrink train.epochs).
    BadParams(
        "wsd-unknown-decay-type",
        _schedule({"type": "wsd", "decay_fraction": 0.2, "decay_type": "sqrt"}),
        ("settings.x.schedule.decay_type = 'sqrt'", "'1-sqrt', 'linear' or 'cosine'"),
    ),
    BadParams(
        "wsd-cooldown-longer-than-the-run",
        _setting("x", {"lr": 0.05, "epochs": 10, "schedule": {"type": "wsd", "decay_epochs": 12}}),
        ("settings.x.schedule.decay_epochs = 12", "longer than the run", "its 10 epochs"),
        e2e=True,
    ),
    BadParams(
        "wsd-warmup-past-the-cooldown",
        _setting(
            "x",
            {
                "lr": 0.05,
                "epochs": 10,
                "schedule": {"type": "wsd", "decay_fraction": 0.5, "warmup_epochs": 6},
            },
        ),
        ("settings.x.schedule.warmup_epochs = 6", "past the cooldown's start at epoch 5"),
    ),
    BadParams(
        "wsd-two-cooldown-lengths",
        _schedule({"type": "wsd", "decay_epochs": 2, "decay_fraction": 0.2}),
        ("settings.x.schedule", "exactly one of 'decay_epochs' or 'decay_fraction'", "both"),
    ),
    BadParams(
        "inverse-sqrt-without-timescale",
        _schedule({"type": "inverse_sqrt"}),
        ("settings.x.schedule", "'timescale_epochs' or a warmup"),
    ),
    # Valid values a study cannot afford (issue 21 item 6): refused by the cost estimate.
    BadParams(
        "study-past-the-time-limit",
        _set("train", "epochs", value=10_000_000),
        (
            "train.epochs: 10000000",
            "the study would take about",
            "past limits.hours: 2",
            "set limits.hours: ",
        ),
        e2e=True,
    ),
    BadParams(
        "study-past-the-memory-limit",
        _set("model", "hidden_units", value=[20000, 20000]),
        (
            "model.hidden_units: [20000, 20000]",
            "GB at its peak",
            "past limits.memory_gb: 8",
            "set limits.memory_gb: ",
        ),
    ),
]
