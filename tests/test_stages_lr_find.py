"""Stage scripts of issue 12 stop on bad input before they train or write anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lrstudy.stages import lr_find, sweep, train


def write_params(tmp_path: Path, params: dict) -> str:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p["sweep"].update(min_lr=0.1, max_lr=0.01),
            "max_lr (0.01) must be greater than min_lr (0.1)",
        ),
        (lambda p: p["sweep"].update(per_decade=0), "sweep.per_decade = 0"),
        (
            lambda p: p["suggested"]["lr_valley"]["lr"].update(suggestion="steepest"),
            "suggested.lr_valley.lr.suggestion = 'steepest': unknown suggestion",
        ),
        (
            lambda p: p.pop("lr_find"),
            "suggested.lr_valley.lr.from = 'lr_find': params.yaml has no lr_find section",
        ),
    ],
    ids=["bounds", "per-decade", "suggestion", "no-lr-find"],
)
@pytest.mark.parametrize("stage", [sweep, lr_find])
def test_bad_params_exit_2_and_write_nothing(
    tmp_path, params, capsys, stage, change, message
) -> None:
    change(params)
    out = tmp_path / "out"
    code = stage.main(
        ["--params", write_params(tmp_path, params), "--data", "x", "--out", str(out)]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_suggested_setting_needs_the_suggestions_file(tmp_path, params, capsys) -> None:
    models = tmp_path / "models"
    code = train.main(
        [
            *("--params", write_params(tmp_path, params), "--setting", "lr_valley"),
            *("--suggestions", str(tmp_path / "missing.json"), "--data", "x"),
            *("--models", str(models), "--logs", str(tmp_path / "logs")),
            *("--evaluation", str(tmp_path / "evaluation")),
        ]
    )
    assert code == 2
    assert "missing.json: not found; run the lr_find stage first" in capsys.readouterr().err
    assert not models.exists()


def test_suggestion_the_range_test_did_not_make_stops_training(tmp_path, params, capsys) -> None:
    found = tmp_path / "suggestions.json"
    found.write_text('{"suggestions": {"minimum": 0.01, "steep": null, "valley": null}}')
    params["suggested"]["lr_valley"]["lr"]["suggestion"] = "steep"
    models = tmp_path / "models"
    code = train.main(
        [
            *("--params", write_params(tmp_path, params), "--setting", "lr_valley"),
            *("--suggestions", str(found), "--data", "x"),
            *("--models", str(models), "--logs", str(tmp_path / "logs")),
            *("--evaluation", str(tmp_path / "evaluation")),
        ]
    )
    assert code == 2
    assert "suggested.lr_valley.lr.suggestion = 'steep'" in capsys.readouterr().err
    assert not models.exists()
