"""Whatever the schema accepts, the code handles: property-based tests over params.yaml.

Settings are drawn from ``SettingConfig``'s own JSON schema (``hypothesis-jsonschema``),
so every key, type and bound the schema declares is exercised, not a hand-picked list.
A drawn setting that ``parse_config`` refuses is discarded (that path has its own tests,
tests/bad_params.py); one it accepts must then train without surprises: its rate at every
optimizer step is a finite, non-negative float32 no higher than the schedule's peak, the
schedule describes itself, and Keras gets its callbacks. The two limits this found (a
rate beyond float32's range, a duration below 1e-9 epochs) are cases in tests/bad_params.py;
for inverse_sqrt it found a warmup below 1e-9 epochs taken as a timescale of 0 ticks.
The families of issue 18 are also drawn one at a time, so each is checked on 40 accepted
settings whatever the share of the union's draws it gets.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from lrstudy.clock import steps_per_epoch
from lrstudy.config import OPTIMIZERS as OPTIMIZER_TYPES
from lrstudy.config import ConfigError, SettingConfig, parse_config, split_sizes
from lrstudy.member_optimizers import OPTIMIZERS
from lrstudy.model import make_optimizer
from lrstudy.rate_plan import plan_callbacks, schedule_plan, step_rates
from lrstudy.schedules import describe

from ..conftest import committed_params

# Pydantic writes the bounds of lrstudy's strict number types under their Field names
# (gt, ge, lt, le); JSON Schema calls them exclusiveMinimum, minimum, ...
JSON_SCHEMA_BOUNDS = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
}
# A setting's own run length is drawn small, like the train defaults below: the property
# is about the schedule's keys, and a 10,000-epoch run only takes longer to check.
RUN_LENGTH = {"epochs": {"minimum": 1, "maximum": 60}, "batch_size": {"minimum": 8}}


def json_schema(node: Any, definitions: dict[str, Any]) -> Any:
    """``node`` with Field-style bound names turned into JSON Schema's, ``$ref`` inlined."""
    if isinstance(node, dict):
        if "$ref" in node:
            return json_schema(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {
            JSON_SCHEMA_BOUNDS.get(key, key): json_schema(value, definitions)
            for key, value in node.items()
            if key != "$defs"
        }
    if isinstance(node, list):
        return [json_schema(value, definitions) for value in node]
    return node


def setting_schema() -> dict[str, Any]:
    """``SettingConfig``'s JSON schema, self-contained, with a short run (``RUN_LENGTH``)."""
    raw = SettingConfig.model_json_schema(by_alias=True)
    schema = json_schema(raw, raw.get("$defs", {}))
    for key, bounds in RUN_LENGTH.items():
        schema["properties"][key] = {"anyOf": [{"type": "integer", **bounds}, {"type": "null"}]}
    return schema


SETTING_SCHEMA = setting_schema()
BASE = committed_params()


def accepted(setting: dict[str, Any], epochs: int, batch_size: int, n_samples: int):
    """The parsed config of the committed params with only this setting, or None."""
    raw = copy.deepcopy(BASE)
    raw["data"]["n_samples"] = n_samples
    raw["train"].update({"epochs": epochs, "batch_size": batch_size, "seeds": 1})
    raw["settings"] = {"s": setting}
    raw["suggested"] = {}
    try:
        return parse_config(raw)
    except ConfigError:
        return None


def check_setting(setting: dict[str, Any], epochs: int, batch_size: int, n_samples: int) -> str:
    """The property for one drawn setting (discarded if refused); its schedule type."""
    config = accepted(setting, epochs, batch_size, n_samples)
    assume(config is not None)
    spec = config.run("s")
    n_train = split_sizes(n_samples, config.split.test_fraction, config.split.val_fraction)["train"]
    per_epoch = steps_per_epoch(n_train, spec.batch_size)
    rates = np.asarray(step_rates(spec.schedule, spec.lr, per_epoch, spec.epochs))
    assert rates.shape == (spec.epochs * per_epoch,)
    rates32 = rates.astype(np.float32)
    assert np.isfinite(rates32).all(), describe(spec.schedule)
    assert (rates32 >= 0).all(), describe(spec.schedule)
    peak = max(spec.lr, getattr(spec.schedule, "max_lr", None) or 0.0)
    assert rates.max() <= peak * (1 + 1e-12), describe(spec.schedule)
    assert describe(spec.schedule).startswith(spec.schedule.type)
    callbacks = plan_callbacks(schedule_plan(spec.schedule, spec.lr, per_epoch, spec.epochs))
    fixed = spec.schedule.type == "constant" and not spec.schedule.warmup_epochs
    assert len(callbacks) == (not fixed)
    check_optimizer(spec.optimizer, float(rates32.max()))
    return spec.schedule.type


def check_optimizer(optimizer: Any, rate: float) -> None:
    """Keras builds the drawn optimizer at the run's peak rate, and the population's update
    takes a finite step from it (members at 1e-3 and 0: a step at a huge drawn rate may
    overflow, which is divergence, the study's to record, not a schema failure)."""
    member = OPTIMIZERS[optimizer.type](make_optimizer(optimizer, rate))
    import tensorflow as tf  # after import_keras (make_optimizer) pinned its arithmetic

    ones = tf.ones([2, 3])
    slots = [[tf.constant(member.start(ones.numpy(), k))] for k in range(member.n_slots)]
    lr = tf.constant([1e-3, 0.0], tf.float32)
    (variable,), _ = member.apply([ones], [ones], slots, lr, tf.constant(0, tf.int64))
    assert np.isfinite(variable.numpy()).all(), optimizer


# Derandomized: the same examples on every run and machine, so a red run is a change in
# the code, never a lucky draw; no example database is written into the project.
DRAWS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.filter_too_much, HealthCheck.too_slow],
}
RUNS = {
    "epochs": st.integers(1, 60),
    "batch_size": st.integers(8, 512),
    "n_samples": st.integers(10, 1000),
}


@settings(max_examples=200, **DRAWS)
@given(setting=from_schema(SETTING_SCHEMA), **RUNS)
def test_every_accepted_setting_has_a_finite_rate_at_every_step(
    setting: dict[str, Any], epochs: int, batch_size: int, n_samples: int
) -> None:
    check_setting(setting, epochs, batch_size, n_samples)


def family_schema(kind: str) -> dict[str, Any]:
    """``SETTING_SCHEMA`` with a ``schedule`` required and of type ``kind`` only."""
    schema = copy.deepcopy(SETTING_SCHEMA)
    branches = schema["properties"]["schedule"]["oneOf"]
    (branch,) = [each for each in branches if each["properties"]["type"].get("const") == kind]
    schema["properties"]["schedule"] = branch
    schema["required"] = [*schema.get("required", []), "schedule"]
    return schema


# The families of issue 18 (and constant, which gained a warmup), each drawn on its own:
# among the twelve above, a family with cross-checks would get only a few accepted draws.
FAMILIES = ("wsd", "inverse_sqrt", "rex", "constant")


@pytest.mark.parametrize("kind", FAMILIES)
def test_each_new_family_has_a_finite_rate_at_every_step(kind: str) -> None:
    seen = []

    @settings(max_examples=40, **DRAWS)
    @given(setting=from_schema(family_schema(kind)), **RUNS)
    def check(setting: dict[str, Any], epochs: int, batch_size: int, n_samples: int) -> None:
        seen.append(check_setting(setting, epochs, batch_size, n_samples))

    check()
    assert set(seen) == {kind}  # accepted draws of the family were checked


@pytest.mark.parametrize("kind", OPTIMIZER_TYPES)
def test_each_optimizer_the_schema_accepts_builds_and_steps(kind: str) -> None:
    """``optimizer`` of type ``kind`` required, its options drawn from the schema."""
    schema = copy.deepcopy(SETTING_SCHEMA)
    (branch,) = [
        each
        for each in schema["properties"]["optimizer"]["anyOf"][0]["oneOf"]
        if each["properties"]["type"].get("const") == kind
    ]
    schema["properties"]["optimizer"] = branch
    schema["required"] = [*schema.get("required", []), "optimizer"]
    seen = []

    @settings(max_examples=20, **DRAWS)
    @given(setting=from_schema(schema), **RUNS)
    def check(setting: dict[str, Any], epochs: int, batch_size: int, n_samples: int) -> None:
        check_setting(setting, epochs, batch_size, n_samples)
        seen.append(setting["optimizer"]["type"])

    check()
    assert set(seen) == {kind}
