"""The study's cost (``lrstudy.cost``) and the limits ``validate`` enforces (issue 21 item 6).

Counts are checked against hand-computed values from the default params.yaml; the memory
estimate against the population trainer's own chunking (one home for the bytes of a
member); the limits through the validate stage as a user meets them.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml

from lrstudy import cost
from lrstudy.config import parse_config
from lrstudy.population import CHUNK_BYTES, chunk_size, member_bytes


def test_epoch_macs_by_hand(config) -> None:
    # [10, 10] on 2 features, one sigmoid output: kernels 2*10 + 10*10 + 10*1 = 130
    # weights; 1,120 train rows (forward and backward: 3 each), 280 validation rows (1).
    assert cost.epoch_macs(config.model, 2, 2, 1120, 280) == 130 * (3 * 1120 + 280)
    # 3 classes: 3 softmax outputs, 10*3 = 30 in the last kernel.
    assert cost.epoch_macs(config.model, 2, 3, 10, 0) == (20 + 100 + 30) * 30


def test_default_study_models_and_steps_by_hand(config) -> None:
    costs = {c.stage: c for c in cost.study_cost(config)}
    # 1,120 train rows: 12 steps of 100 rows per epoch; plateau's batch of 50: 23 steps.
    # A train@ stage of `settings`: the hand-picked run (20 seeds), the tuning grid (9 rates
    # x 4 tuning seeds), the tuned rate on the 20 evaluation seeds, and again for the
    # budget 0.25 (floor: 12 of 50 epochs; 25 of plateau's 100).
    assert costs["train@lr_medium"].models == 20 + 36 + 20 + 20
    assert costs["train@lr_medium"].steps == (20 + 36 + 20) * 50 * 12 + 20 * 12 * 12
    assert costs["train@plateau"].steps == (20 + 36 + 20) * 100 * 23 + 20 * 25 * 23
    assert costs["train@lr_valley"].models == 20  # a suggested setting: not tuned
    assert costs["train@lr_valley"].steps == 20 * 50 * 12
    # 1e-5 to 1 at 3 per decade: 16 rates, each over the 20 seeds.
    assert (costs["sweep"].models, costs["sweep"].steps) == (320, 320 * 50 * 12)
    assert (costs["lr_find"].models, costs["lr_find"].steps) == (20, 20 * 100)
    assert list(costs)[-2:] == ["sweep", "lr_find"]
    assert len(costs) == len(config.setting_names) + 2


def test_memory_is_the_trainers_own_chunk(params) -> None:
    # A network whose 320 sweep members do not fit one chunk: the estimate holds exactly
    # as many as population.chunk_size gives the trainer, each of member_bytes.
    params["model"]["hidden_units"] = [512, 512]
    config = parse_config(params)
    sweep = next(c for c in cost.study_cost(config) if c.stage == "sweep")
    per_member = member_bytes(config.model, 2, 2, 100, 280)
    per_chunk = chunk_size(320, per_member)
    assert 1 < per_chunk < 320 and per_chunk * per_member <= CHUNK_BYTES
    rest = sweep.peak_bytes - cost.BASE_BYTES - per_chunk * per_member
    # The rest: 3 float32 copies of the data (2,000 rows, 2 features and a label) and 2 of
    # one chunk of 8,192 grid rows' activations through 2 + 512 + 512 + 2 units.
    assert rest == 3 * 4 * 2000 * 3 + 2 * 4 * 8192 * (2 + 1024 + 2)


def test_the_default_study_is_within_its_limits(config) -> None:
    costs = cost.study_cost(config)
    assert cost.limit_problems(config, costs) == []
    assert sum(c.seconds for c in costs) < config.limits.hours * 3600


def test_the_issues_typo_is_refused_naming_key_value_and_limit(params) -> None:
    params["train"]["epochs"] = 100000  # a typo for 100 (issue 21 item 6)
    config = parse_config(params)
    [problem] = cost.limit_problems(config, cost.study_cost(config))
    assert problem.startswith("train.epochs: 100000: the study would take about ")
    assert "past limits.hours: 2;" in problem
    # The limit it names is one that lets the study run.
    raise_to = int(problem.rsplit("set limits.hours: ", 1)[1].split()[0])
    params["limits"] = {"hours": raise_to}
    config = parse_config(params)
    assert cost.limit_problems(config, cost.study_cost(config)) == []


def test_a_settings_own_epochs_are_named(params) -> None:
    params["settings"]["plateau"]["epochs"] = 500000
    config = parse_config(params)
    [problem] = cost.limit_problems(config, cost.study_cost(config))
    assert problem.startswith("settings.plateau.epochs: 500000: ")
    assert "(train@plateau alone " in problem


def test_a_network_no_machine_holds_is_refused(params) -> None:
    params["model"]["hidden_units"] = [20000, 20000]
    config = parse_config(params)
    problems = cost.limit_problems(config, cost.study_cost(config))
    memory = [p for p in problems if "memory" in p]
    assert len(memory) == 1 and memory[0].startswith("model.hidden_units: [20000, 20000]: ")
    # One member alone: 400 M weights, 24 copies of 4 bytes each: 38 GB. The range test
    # trains its 20 seeds as one population, unchunked: the largest stage.
    assert " lr_find would need about " in memory[0]
    gigabytes = float(memory[0].split("about ")[1].split(" GB")[0])
    assert math.isclose(gigabytes, 20 * 24 * 4 * 20000 * 20000 / 1e9, rel_tol=0.01)
    train = next(c for c in cost.study_cost(config) if c.stage == "train@lr_medium")
    # A setting trains a chunk of one such member; add the process (BASE_BYTES) and two
    # float32 copies of a chunk of 8,192 grid rows through 2 + 40,000 + 2 units (2.6 GB).
    expected = 24 * 4 * 20000 * 20000 + cost.BASE_BYTES + 2 * 4 * 8192 * 40004
    assert math.isclose(train.peak_bytes, expected, rel_tol=0.01)  # + biases, activations


def test_durations_read_as_a_person_says_them() -> None:
    assert cost._duration(45) == "45 s"
    assert cost._duration(12 * 60) == "12 min"
    assert cost._duration(3.4 * 3600) == "3.4 h"


def test_validate_prints_the_cost_and_refuses_before_writing(tmp_path: Path, capsys, params):
    from lrstudy.stages.validate import main

    path, marker = tmp_path / "params.yaml", tmp_path / "ok.txt"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["--params", str(path), "--out", str(marker)]) == 0
    out = capsys.readouterr().out
    # Models: 15 settings × (20 hand-picked + 9 rates × 4 tuning seeds + 20 tuned + 20 at
    # budget 0.25) = 1,440, + lr_valley 20, the sweep 16 × 20 = 320, lr_find 20 = 1,800.
    assert out.startswith("study cost (estimate, benchmarks/cost.md): 1,800 models, 1,071,020 ")
    assert "\n  longest stage: train@plateau, 96 models, 186,300 steps, about " in out

    bad = copy.deepcopy(params)
    bad["train"]["epochs"] = 100000
    path.write_text(yaml.safe_dump(bad, sort_keys=False))
    marker.unlink()
    assert main(["--params", str(path), "--out", str(marker)]) == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1
    assert error[0].startswith("error: params.yaml: train.epochs: 100000: ")
    assert not marker.exists()


@pytest.mark.parametrize("value", [0, -1, True, "2"])
def test_limits_are_positive_numbers(params, value) -> None:
    from lrstudy.config import ConfigError

    params["limits"] = {"hours": value}
    with pytest.raises(ConfigError, match=r"limits\.hours"):
        parse_config(params)


def test_readme_quotes_the_committed_studys_cost_and_refusal(default_params) -> None:
    from .conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    config = parse_config(copy.deepcopy(default_params))
    costs = cost.study_cost(config)
    assert "\n".join(cost.describe(costs)) in readme
    typo = copy.deepcopy(default_params)
    typo["train"]["epochs"] = 100000
    config = parse_config(typo)
    [problem] = cost.limit_problems(config, cost.study_cost(config))
    assert f"error: params.yaml: {problem}\n" in readme
    assert f"`limits.hours` ({config.limits.hours:g} by default)" in readme
    assert f"`limits.memory_gb` ({config.limits.memory_gb:g})" in readme


def test_cost_md_quotes_the_current_estimates_of_the_default_stages(default_params) -> None:
    from .conftest import PROJECT_ROOT

    text = (PROJECT_ROOT / "benchmarks" / "cost.md").read_text()
    costs = {c.stage: c for c in cost.study_cost(parse_config(copy.deepcopy(default_params)))}
    for stage in ("train@lr_medium", "train@plateau", "sweep", "lr_find"):
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{stage}` |")]
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2] == f"{costs[stage].seconds:.0f}", row
        assert cells[4] == f"{costs[stage].peak_bytes / cost.GB:.1f} GB", row
    for name in ("MEMBER_SECONDS", "STEP_SECONDS", "MEMBER_STEP_SECONDS", "MAC_SECONDS"):
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{name}` ")]
        assert row.rstrip(" |").endswith(f"{getattr(cost, name):.1e}".replace("e-0", "e-")), row


def test_the_whole_test_split_as_one_batch_is_counted(params) -> None:
    # 200,000 samples: a test split of 60,000 rows, evaluated as one batch (test_on_batch),
    # through 2 + 10,000 + 2 units: larger than a chunk of the grid's rows.
    params["data"]["n_samples"] = 200_000
    params["model"]["hidden_units"] = [10000]
    config = parse_config(params)
    train = next(c for c in cost.study_cost(config) if c.stage == "train@lr_medium")
    per_member = member_bytes(config.model, 2, 2, 100, 28000)
    chunk = chunk_size(20, per_member) * per_member
    data = 3 * 4 * 200_000 * 3
    assert train.peak_bytes == cost.BASE_BYTES + chunk + data + 2 * 4 * 60000 * 10004
