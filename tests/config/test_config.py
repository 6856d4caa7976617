from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lrstudy.config import ConfigError, load_config, parse_config, read_params, split_sizes

from ..bad_params import BAD_PARAMS, BadParams
from ..conftest import committed_text


def problems_for(params: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(params)
    return caught.value.problems


def test_default_params_are_valid_and_resolve(config) -> None:
    plateau = config.run("plateau")
    assert (plateau.lr, plateau.batch_size, plateau.epochs) == (0.05, 50, 100)
    assert plateau.schedule.type == "plateau"
    assert (plateau.schedule.factor, plateau.schedule.patience) == (0.5, 10)
    assert plateau.schedule.min_lr == pytest.approx(1e-5)
    medium = config.run("lr_medium")
    # Settings without overrides take the train defaults; seeds count up from the base seed.
    assert (medium.lr, medium.batch_size, medium.epochs) == (0.005, 100, 50)
    assert medium.seeds == tuple(range(20))
    assert medium.schedule.type == "constant"


def test_notebook_runs_are_the_default_settings(config) -> None:
    lrs = {name: config.run(name).lr for name in ("lr_large", "lr_small", "lr_medium", "plateau")}
    assert lrs == {"lr_large": 0.5, "lr_small": 1e-5, "lr_medium": 0.005, "plateau": 0.05}


@pytest.mark.parametrize("spelling", ["1e-5", "1.0e-5", "0.00001", "1E-5", "+1e-5"])
def test_numbers_read_as_dvc_reads_them(tmp_path: Path, spelling: str) -> None:
    # YAML 1.2, DVC's parser: every spelling is a float (PyYAML would read some as text).
    path = tmp_path / "params.yaml"
    text = committed_text("params.yaml")  # the workspace copy may hold an experiment's
    assert "lr: 1.0e-5" in text
    path.write_text(text.replace("lr: 1.0e-5", f"lr: {spelling}"))
    assert load_config(path).run("lr_small").lr == pytest.approx(1e-5)


def test_params_are_parsed_with_dvcs_parser_and_semantics(tmp_path: Path) -> None:
    from dvc.utils.serialize import load_yaml

    path = tmp_path / "params.yaml"
    text = committed_text("params.yaml")
    # 2e2 is 200.0 to YAML 1.2 (an int where one is needed); the setting name 'on' a string.
    path.write_text(
        text.replace("n_samples: 2000", "n_samples: 2e2").replace("lr_medium:", "on_time:")
    )
    assert read_params(path) == load_yaml(str(path))  # the very values DVC reads
    assert yaml.safe_load(path.read_text())["data"]["n_samples"] == "2e2"  # PyYAML: text
    config = load_config(path)
    assert config.data.n_samples == 200 and isinstance(config.data.n_samples, int)
    assert "on_time" in config.settings


@pytest.mark.parametrize("case", BAD_PARAMS, ids=lambda case: case.id)
def test_bad_params_table(tmp_path: Path, capsys, default_params, case: BadParams) -> None:
    """Each bad file: exit status 2, every fragment (key path, value, what is allowed)."""
    from lrstudy.stages.validate import main

    path = tmp_path / "params.yaml"
    text = case.render(default_params)
    if text is not None:
        path.write_text(text)
    assert main(["--params", str(path), "--out", str(tmp_path / "marker")]) == 2
    message = capsys.readouterr().err
    for fragment in case.fragments:
        assert fragment in message, (fragment, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["params.yaml"] if text else [])


def test_bad_params_table_covers_every_kind() -> None:
    assert len(BAD_PARAMS) >= 40
    end_to_end = [case for case in BAD_PARAMS if case.e2e]
    assert len(end_to_end) >= 15
    # Each way DVC itself fails before the validate stage is among them.
    assert {case.id for case in BAD_PARAMS if case.dvc_fails_first} <= {c.id for c in end_to_end}
    assert len({case.id for case in BAD_PARAMS}) == len(BAD_PARAMS)


def test_valid_params_pass_and_write_a_constant_marker(tmp_path: Path, capsys) -> None:
    from lrstudy.stages.validate import MARKER, main

    params = Path(__file__).resolve().parents[2] / "params.yaml"
    marker = tmp_path / "ok.txt"
    assert main(["--params", str(params), "--out", str(marker)]) == 0
    assert marker.read_text() == MARKER
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("seed", "seeds", "ok"),
    [(2**32 - 5, 5, True), (2**32 - 5, 6, False), (2**32 - 1, 1, True), (0, 100, True)],
)
def test_last_seed_must_fit_numpy(params, seed, seeds, ok) -> None:
    import numpy as np

    params["train"].update(seed=seed, seeds=seeds)
    if ok:
        spec = parse_config(params).run("lr_medium")
        np.random.RandomState(spec.seeds[-1])  # independent check: NumPy takes it
    else:
        problems = problems_for(params)
        assert all("seed + seeds - 1" in problem for problem in problems)
        with pytest.raises(ValueError):  # and NumPy would indeed refuse the last seed
            np.random.RandomState(seed + seeds - 1)


@pytest.mark.parametrize(
    ("first_decay_epochs", "per", "ok"),
    [(1 / 12, "step", True), (0.08, "step", False), (1.0, "epoch", True), (0.99, "epoch", False)],
)
def test_cosine_restarts_period_of_at_least_one_tick(params, first_decay_epochs, per, ok) -> None:
    # Default params: 1120 train rows, batch 100: 12 optimizer steps per epoch.
    params["settings"]["x"] = {
        "lr": 0.05,
        "schedule": {
            "type": "cosine_restarts",
            "first_decay_epochs": first_decay_epochs,
            "per": per,
        },
    }
    if ok:
        parse_config(params)
    else:
        (problem,) = problems_for(params)
        assert "at least one tick" in problem


def test_whole_number_floats_are_accepted_where_ints_go(params) -> None:
    params["data"]["n_samples"] = 2000.0  # what YAML 1.2 makes of 2e3
    params["train"]["epochs"] = 5.0
    params["tune"]["budgets"] = [1]  # 0.25 of 5 epochs leaves wsd's warmup no room
    config = parse_config(params)
    assert (config.data.n_samples, config.train.epochs) == (2000, 5)
    assert isinstance(config.train.epochs, int)


BAD_INPUTS = [
    # (path into params, value, fragments the message must contain)
    (("settings", "lr_medium", "lr"), -0.1, ["settings.lr_medium.lr", "-0.1", ">= 1.17549e-38"]),
    (("settings", "lr_medium", "lr"), 0, ["settings.lr_medium.lr", "= 0", ">= 1.17549e-38"]),
    (("settings", "lr_medium", "lr"), "fast", ["settings.lr_medium.lr", "'fast'", "number"]),
    (("train", "epochs"), 0, ["train.epochs", "= 0", "greater than or equal to 1"]),
    (("settings", "plateau", "epochs"), -3, ["settings.plateau.epochs", "-3"]),
    (("train", "batch_size"), 0, ["train.batch_size", "= 0"]),
    (("train", "seeds"), 0, ["train.seeds", "= 0"]),
    (("split", "test_fraction"), 1.0, ["split.test_fraction", "1.0", "less than 1"]),
    (("split", "val_fraction"), 0, ["split.val_fraction", "greater than 0"]),
    (("data", "cov"), -1, ["data.cov", "-1"]),
    (("model", "activation"), "tanhh", ["model.activation", "'tanhh'", "tanh, relu"]),
    (("model", "optimizer"), "adamax", ["model.optimizer", "'adamax'", "adam, sgd"]),
    (("model", "hidden_units"), [], ["model.hidden_units", "at least 1"]),
    (
        ("settings", "plateau", "schedule", "type"),
        "cosinus",
        [
            "settings.plateau.schedule.type",
            "'cosinus'",
            "unknown schedule type",
            "constant",
            "plateau",
        ],
    ),
    (
        ("settings", "plateau", "schedule", "factor"),
        1.5,
        ["settings.plateau.schedule.factor", "1.5"],
    ),
    (("settings", "plateau", "schedule", "monitor"), "val_acc", ["schedule.monitor", "'val_acc'"]),
    (("evaluate", "grid", "high"), -2.0, ["evaluate.grid", "greater than low"]),
    # What was read, named with its article: "got an integer", "got null".
    (("split", "stratify"), 1, ["split.stratify = 1", "expected true or false, got an integer"]),
    (("train", "epochs"), None, ["train.epochs = null", "whole number >= 1, got null"]),
    (("model", "optimizer"), 3, ["model.optimizer = 3", "with its 'type', got an integer"]),
]


def _set(params: dict, path: tuple[str, ...], value: object) -> None:
    node = params
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@pytest.mark.parametrize(("path", "value", "fragments"), BAD_INPUTS, ids=lambda item: str(item))
def test_bad_values_name_key_value_and_rule(params, path, value, fragments) -> None:
    _set(params, path, value)
    problems = problems_for(params)
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], (fragment, problems[0])


def test_typo_key_is_named_with_the_allowed_keys(params) -> None:
    params["settings"]["lr_medium"]["learnig_rate"] = 0.01
    (problem,) = problems_for(params)
    assert problem.startswith("settings.lr_medium: unknown key 'learnig_rate'")
    assert "allowed keys: lr, schedule, batch_size, epochs, seeds" in problem


def test_typo_close_to_a_real_key_gets_a_suggestion(params) -> None:
    params["train"]["epoch"] = 5
    (problem,) = problems_for(params)
    assert "unknown key 'epoch' (did you mean 'epochs'?)" in problem


def test_unknown_top_level_section(params) -> None:
    params["trian"] = {}
    (problem,) = problems_for(params)
    assert "unknown key 'trian' (did you mean 'train'?)" in problem


@pytest.mark.parametrize(
    "name", ["bad name", "../escape", "a/b", "", "-dash", "x" * 65, "a.b", "a@b"]
)
def test_unsafe_setting_names_are_rejected(params, name) -> None:
    params["settings"][name] = {"lr": 0.01}
    (problem,) = problems_for(params)
    assert problem.startswith("settings: setting name")
    assert repr(name) in problem or f"'{name}'" in problem
    assert "letters, digits" in problem


def test_missing_required_key(params) -> None:
    del params["settings"]["lr_medium"]["lr"]
    assert problems_for(params) == ["settings.lr_medium.lr: missing required key"]


def test_missing_schedule_type(params) -> None:
    del params["settings"]["plateau"]["schedule"]["type"]
    (problem,) = problems_for(params)
    assert problem.startswith("settings.plateau.schedule: missing 'type'")


def test_empty_settings(params) -> None:
    params["settings"] = {}
    (problem,) = problems_for(params)
    assert problem.startswith("settings")


def test_every_problem_is_reported_at_once(params) -> None:
    params["settings"]["lr_small"]["lr"] = -1
    params["train"]["epochs"] = 0
    params["settings"]["lr_medium"]["learnig_rate"] = 1
    problems = problems_for(params)
    assert len(problems) == 3
    assert {problem.split(" ")[0].rstrip(":") for problem in problems} == {
        "settings.lr_small.lr",
        "train.epochs",
        "settings.lr_medium",
    }


def test_split_that_leaves_no_training_data(params) -> None:
    params["data"]["n_samples"] = 100
    params["split"].update({"test_fraction": 0.9, "val_fraction": 0.99})
    (problem,) = problems_for(params)
    assert "split.test_fraction=0.9" in problem
    assert "split.val_fraction=0.99" in problem
    assert "train=0" in problem


@pytest.mark.parametrize(
    ("n", "test", "val", "expected"),
    [
        (2000, 0.3, 0.2, {"train": 1120, "val": 280, "test": 600}),
        (200, 0.3, 0.2, {"train": 112, "val": 28, "test": 60}),
        (10, 0.25, 0.5, {"train": 3, "val": 4, "test": 3}),
    ],
)
def test_split_sizes_follow_train_test_split(n, test, val, expected) -> None:
    from sklearn.model_selection import train_test_split

    assert split_sizes(n, test, val) == expected
    # Independent reference: what scikit-learn itself produces.
    rest, test_part = train_test_split(list(range(n)), test_size=test, random_state=0)
    train_part, val_part = train_test_split(rest, test_size=val, random_state=0)
    assert expected == {"train": len(train_part), "val": len(val_part), "test": len(test_part)}


def test_config_is_immutable(config) -> None:
    with pytest.raises(Exception, match="frozen"):
        config.train.epochs = 3  # type: ignore[misc]


def test_unknown_setting_lookup(config) -> None:
    with pytest.raises(ConfigError, match="no such setting; known: lr_large"):
        config.run("nope")


def test_load_config_reports_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(scalar)


def test_unknown_key_does_not_hide_other_problems_in_its_section(params) -> None:
    params["settings"]["lr_medium"].update(learnig_rate=1, lr=-1)
    params["settings"]["plateau"]["schedule"]["patiense"] = 3
    params["trian"] = {}
    problems = problems_for(params)
    assert any(
        p.startswith("settings.lr_medium.lr = -1: expected a finite number >= 1.17549e-38")
        for p in problems
    )
    assert any(p.startswith("settings.lr_medium: unknown key 'learnig_rate'") for p in problems)
    assert any(
        p.startswith("settings.plateau.schedule: unknown key 'patiense' (did you mean 'patience'?)")
        and "allowed keys: type, monitor, mode, factor, patience" in p
        for p in problems
    )
    assert any(p.startswith("(top level): unknown key 'trian'") for p in problems)
    assert len(problems) == 4


def test_non_string_keys_in_a_flow_mapping_are_quoted_with_their_own_lines(tmp_path) -> None:
    lines = committed_text("params.yaml").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("settings:")))
    end = next(i for i in range(start + 1, len(lines)) if re.match(r"[a-z]", lines[i]))
    flow = ["settings: {1e-3: {lr: 0.1},", "  0o17: {lr: 0.2}, a: {lr: x}}"]
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines[:start] + flow + lines[end:]) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    first = start + 1  # lines count from 1
    problems = caught.value.problems
    assert problems[0].startswith(
        f"settings: setting name 1e-3 (line {first}) is read by YAML as a float (0.001), "
        "not a string: use 1-64 letters"
    )
    assert problems[1].startswith(
        f"settings: setting name 0o17 (line {first + 1}) is read by YAML as an integer (15), "
        "not a string: use 1-64 letters"
    )
    assert problems[2].startswith("settings.a.lr = 'x'")  # the rest as usual


def test_non_string_keys_without_the_file_show_the_value_as_yaml_writes_it(params) -> None:
    """parse_config on a mapping (no file): no line, the key as YAML would write it."""
    import datetime

    params["settings"][datetime.date(2024, 1, 1)] = {"lr": 0.01}
    params["train"][None] = 3
    problems = problems_for(params)
    assert any(
        p.startswith("settings: setting name 2024-01-01 is read by YAML as a date")
        for p in problems
    )
    assert any(
        p.startswith("train: key null is read by YAML as null, not a string") for p in problems
    )
    assert len(problems) == 2


# A float key written as a whole number is quoted as written (2), not as the float the
# schema makes of it (2.0); written with a decimal point, it stays 2.0. Each case: the
# edit, with the value written both ways, and the line's start for each spelling.
QUOTED_AS_WRITTEN = [
    (
        lambda params, v: params["settings"].update(
            pg={
                "lr": 1.0,
                "optimizer": "prodigy",
                "schedule": {"type": "cosine", "warmup_epochs": v},
            }
        ),
        "settings.pg.schedule.warmup_epochs = {}: a warmup makes prodigy overestimate d",
    ),
    (
        lambda params, v: params["settings"].update(
            x={"lr": 0.1, "epochs": 1, "schedule": {"type": "wsd", "decay_epochs": v}}
        ),
        "settings.x.schedule.decay_epochs = {}: longer than the run",
    ),
    (
        lambda params, v: params["settings"].update(
            x={"lr": 1, "schedule": {"type": "cyclic", "min_lr": v, "step_size": 3}}
        ),
        "settings.x.schedule: min_lr = {} must be below max_lr, which defaults to the "
        "setting's lr (1)",
    ),
    (
        lambda params, v: params["tune"].update(min_lr=v, max_lr=1),
        "tune: max_lr (1) must be greater than min_lr ({})",
    ),
    (
        lambda params, v: params["evaluate"]["grid"].update(low=v, high=1),
        "evaluate.grid: high (1) must be greater than low ({})",
    ),
]


@pytest.mark.parametrize("case", range(len(QUOTED_AS_WRITTEN)))
@pytest.mark.parametrize("written", ["2", "2.0"])
def test_messages_quote_numbers_as_written(params, case: int, written: str) -> None:
    change, line = QUOTED_AS_WRITTEN[case]
    value = yaml.safe_load(written)  # 2 (an int) or 2.0 (a float), as YAML reads each
    assert type(value) is (int if written == "2" else float)
    change(params, value)
    expected = line.format(written)
    problems = problems_for(params)
    assert any(problem.startswith(expected) for problem in problems), (expected, problems)
