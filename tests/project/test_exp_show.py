"""`make exp-show`'s trims against every metric column the committed results give DVC.

DVC drops a column when ``re.compile("|".join(drops)).match(column)`` (dvc/commands/
experiments/show.py, DVC 3.67); the columns are the flattened keys of each metrics file,
unique across files here so not prefixed with the path. An experiment that reruns the
range test or the sweep changes their metrics too, and ``--only-changed`` then keeps them:
the trims alone must keep the table to the headline numbers (issue 21 item 8).
"""

from __future__ import annotations

import json
import re

from ..conftest import PROJECT_ROOT

METRICS = ("reports/metrics.json", "sweep/metrics.json", "lr_find/suggestions.json")


def flatten(tree: object, prefix: str = "") -> list[str]:
    if not isinstance(tree, dict):
        return [prefix]
    return [key for name, sub in tree.items() for key in flatten(sub, f"{prefix}{name}.")]


def makefile_drops() -> list[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    trim = re.search(r"^EXP_SHOW_TRIM :=(.*?)\n\n", text, re.MULTILINE | re.DOTALL)[1]
    return [drop.replace("$$", "$") for drop in re.findall(r"--drop '([^']*)'", trim)]


def test_exp_show_keeps_only_the_headline_metrics() -> None:
    columns = [
        key.rstrip(".")
        for path in METRICS
        for key in flatten(json.loads((PROJECT_ROOT / path).read_text()))
    ]
    assert any(column.startswith("seeds.seed_19.") for column in columns)  # 20 seeds' leaves
    dropped = re.compile("|".join(makefile_drops()))
    kept = {column for column in columns if not dropped.match(column)}
    settings = json.loads((PROJECT_ROOT / "reports/metrics.json").read_text())
    expected = {f"{name}.test_accuracy.mean" for name in settings}
    expected |= {f"{name}.diverged.seeds" for name in settings}
    # Of the tuned comparison, each setting's tuned rate and its test accuracy.
    tuned = [name for name, entry in settings.items() if "tuned" in entry]
    assert tuned, "the committed results have no tuned comparison"
    expected |= {f"{name}.tuned.{leaf}" for name in tuned for leaf in ("lr", "test_accuracy")}
    expected |= {"best_lr", "suggestions.minimum", "suggestions.steep", "suggestions.valley"}
    assert kept == expected


def test_readme_shows_the_trims_make_runs_and_does_not_offer_json() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme[readme.index("dvc exp show --only-changed") :].split("```")[0]
    assert re.findall(r"--drop '([^']*)'", block) == makefile_drops()
    assert 'EXP_SHOW_ARGS="--json"' not in readme and "--csv, --json" not in readme
    assert "treeverse/dvc#9544" in readme
