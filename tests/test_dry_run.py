"""``make dry-run`` (``lrstudy.dry_run``), its pure parts (issue 21 item 9). The plan against
what ``dvc repro`` and ``dvc exp run`` really run: tests/pipeline/test_dry_run.py."""

from __future__ import annotations

import pytest

from lrstudy.config import ConfigError
from lrstudy.dry_run import MISSING, _describe_status, _new_settings, set_params, value_at


def test_set_params_reads_values_as_yaml_and_leaves_the_original(default_params) -> None:
    new, changes = set_params(
        default_params,
        [
            "train.epochs=100",
            "model.hidden_units=[20, 20]",
            "+settings.x.lr=1e-3",
            "sweep.k=",
            "~settings.lr_large",
        ],
    )
    assert changes == {
        "train.epochs": 100,
        "model.hidden_units": [20, 20],
        "settings.x.lr": 0.001,
        "sweep.k": None,
        "settings.lr_large": MISSING,
    }
    assert "lr_large" not in new["settings"] and "lr_large" in default_params["settings"]
    assert new["settings"]["x"] == {"lr": 0.001} and new["train"]["epochs"] == 100
    assert default_params["train"]["epochs"] == 50 and "x" not in default_params["settings"]


@pytest.mark.parametrize("bad", ["train.epochs", "=3", "train.epochs.x=3", "~train.epochs=3"])
def test_a_bad_assignment_is_one_line(default_params, bad) -> None:
    with pytest.raises(ConfigError) as raised:
        set_params(default_params, [bad])
    assert len(raised.value.problems) == 1 and "-S" in raised.value.problems[0]


def test_value_at_tells_missing_from_null() -> None:
    params = {"a": {"b": None, "c": [1]}}
    assert value_at(params, "a.b") is None
    assert value_at(params, "a.c") == [1]
    assert value_at(params, "a.d") is MISSING and value_at(params, "a.c.x") is MISSING


def test_new_settings_become_their_stages() -> None:
    old = {"settings": {"a": {}}, "suggested": {}}
    new = {"settings": {"a": {}, "b": {}}, "suggested": {"v": {}}}
    assert _new_settings(old, new) == ["train@b", "train_suggested@v"]


def test_dvcs_status_in_a_few_words() -> None:
    # The shape of `dvc status --json` for one stage (DVC 3.67, a fresh clone).
    status = [
        {
            "changed deps": {
                "data/params_valid.txt": "deleted",
                "data/prepared/train.csv": "deleted",
                "data/prepared/val.csv": "deleted",
                "src/lrstudy/io.py": "modified",
                "src/lrstudy/data.py": "modified",
                "params.yaml": {"settings.lr_medium.lr": "modified"},
            }
        },
        {"changed outs": {"models/lr_medium": "not in cache"}},
        "changed command",
    ]
    assert _describe_status(status) == (
        "inputs missing: data/params_valid.txt, data/prepared/train.csv and 1 more; "
        "2 source files changed; params changed: settings.lr_medium.lr; "
        "outputs missing: models/lr_medium; changed command"
    )
