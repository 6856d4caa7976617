"""``dvc plots show`` / ``dvc plots diff`` after ``dvc repro`` on a tiny project copy.

One copy per module with three settings and two seeds (bands); the tests run in file
order: show as JSON, show as HTML, the HTML page in a browser, then a changed setting
compared across revisions (as JSON and in a browser). The browser tests open the pages
in headless Chromium with every request but ``file://`` blocked (tests/pipeline/browser.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from . import browser
from .conftest import Project, copy_project

pytestmark = pytest.mark.slow

CHARTS = ("loss", "accuracy", "learning_rate")
SWEEP_CHART = "sweep_accuracy"  # one line per split, not per setting
IMAGES = (
    "reports/figures/tuned_accuracy.png",
    "reports/figures/isolation.png",
    "reports/figures/sensitivity.png",
    "reports/figures/test_accuracy.png",
    "reports/figures/decision_boundaries.png",
    "reports/figures/lr_sweep.png",
    "reports/figures/lr_find.png",
)


def unit_encoding(spec: dict[str, Any]) -> dict[str, Any]:
    """The encoding that colours the lines: of the facet's inner spec, or of the chart."""
    return spec["spec"]["encoding"] if "spec" in spec else spec["encoding"]


def line_encoding(spec: dict[str, Any]) -> dict[str, Any]:
    """The line layer's own encoding (revision dash lives there in layered templates)."""
    if "spec" in spec:
        return next(layer for layer in spec["spec"]["layer"] if "line" in str(layer["mark"]))[
            "encoding"
        ]
    return spec["encoding"]


@pytest.fixture(scope="module")
def plotted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, list[str]]:
    """A tiny copy with three settings (and the suggested one), two seeds, after ``dvc repro``."""
    project = copy_project(tmp_path_factory.mktemp("plots"))
    settings: list[str] = []

    def shrink(params: dict[str, Any]) -> None:
        kept = dict(list(params["settings"].items())[:3])
        params["settings"] = kept
        params["train"]["seeds"] = 2
        settings.extend([*kept, *params["suggested"]])  # every setting is plotted

    project.edit_params(shrink)
    project.run("git", "commit", "-qam", "three settings, two seeds")
    ran, _ = project.repro()
    assert "compare" in ran
    return project, settings


def show_json(project: Project, *args: str) -> dict[str, Any]:
    shown = json.loads(project.run("dvc", "plots", *args, "--json").stdout)
    assert not shown.get("errors"), shown.get("errors")
    return shown["data"]


def test_plots_show_overlays_every_setting_on_one_chart_each(
    plotted: tuple[Project, list[str]],
) -> None:
    project, settings = plotted
    data = show_json(project, "show")
    assert set(CHARTS) | set(IMAGES) <= set(data)
    for chart in CHARTS:
        (renderer,) = data[chart]
        assert renderer["type"] == "vega" and renderer["revisions"] == ["workspace"]
        spec = renderer["content"]
        assert unit_encoding(spec)["color"]["field"] == "setting"
        assert line_encoding(spec)["strokeDash"]["field"] == "rev"
        values = spec["data"]["values"]
        assert {row["setting"] for row in values} == set(settings)
        assert "<DVC_METRIC" not in json.dumps(spec)  # every placeholder filled
    loss_fields = {row["field"] for row in data["loss"][0]["content"]["data"]["values"]}
    assert loss_fields == {"loss", "val_loss"}
    loss_row = data["loss"][0]["content"]["data"]["values"][0]
    assert {"loss_min", "loss_max", "val_loss_min", "val_loss_max"} <= set(loss_row)
    assert data["loss"][0]["content"]["spec"]["layer"][1]["encoding"]["y"]["scale"] == {
        "type": "log"
    }
    assert data["learning_rate"][0]["content"]["encoding"]["y"]["scale"] == {"type": "log"}
    for image in IMAGES:
        assert data[image][0]["type"] == "image"


def test_sweep_chart_plots_accuracy_against_a_log_rate_axis(
    plotted: tuple[Project, list[str]],
) -> None:
    project, _ = plotted
    (renderer,) = show_json(project, "show")[SWEEP_CHART]
    spec = renderer["content"]
    assert spec["encoding"]["x"]["scale"] == {"type": "log"}
    assert spec["encoding"]["color"]["field"] == "split"
    assert "<DVC_METRIC" not in json.dumps(spec)
    values = spec["data"]["values"]
    assert {row["field"] for row in values} == {"val_accuracy", "test_accuracy"}
    assert len(values) == 2 * 3  # two splits × the tiny grid's 3 rates
    assert {"val_accuracy_min", "val_accuracy_max", "test_accuracy_min"} <= set(values[0])


def test_plots_show_writes_an_html_page_with_the_overlaid_charts(
    plotted: tuple[Project, list[str]], tmp_path: Path
) -> None:
    project, settings = plotted
    project.run("dvc", "plots", "show", "-o", str(tmp_path))
    page = (tmp_path / "index.html").read_text()
    specs = [json.loads(match) for match in re.findall(r"var spec = (\{.*\});\s*$", page, re.M)]
    vega = [spec for spec in specs if "data" in spec]
    assert len(vega) == len(CHARTS) + 2  # + the sweep's chart and the isolation plot
    for spec in vega:
        if "setting" in spec["data"]["values"][0]:
            # the isolation plot: the tuned settings only (a suggested one is not tuned)
            tuned_only = spec["title"]["text"].startswith("Isolation")
            expected = set(settings[:3]) if tuned_only else set(settings)
            assert {row["setting"] for row in spec["data"]["values"]} == expected
    titles = {spec["title"]["text"] for spec in vega}
    assert any("Loss" in title for title in titles)
    assert any("Learning rate" in title for title in titles)
    assert page.count("<img") >= len(IMAGES)


def assert_rendered(rendered: browser.Rendered, legend: set[str]) -> None:
    """Every chart drew one SVG view whose legend lists ``legend``; every image loaded; no
    console error, no request beyond ``file://``."""
    assert rendered.errors == []
    assert rendered.blocked == []
    for chart in CHARTS:
        div = rendered.divs[chart]
        assert (div["svgs"], div["canvases"]) == (1, 0), (chart, div)
        assert set(div["legend"]) == legend, chart
    images = [div for div in rendered.divs.values() if div["images"]]
    assert len(images) == len(IMAGES)
    assert all(width > 0 for div in images for width in div["images"])


def test_plots_show_page_renders_offline_in_a_browser(
    plotted: tuple[Project, list[str]], tmp_path: Path
) -> None:
    browser.require_chromium()
    project, settings = plotted
    project.run("dvc", "plots", "show", "-o", str(tmp_path))
    page = (tmp_path / "index.html").read_text()
    assert "<script src=" not in page  # the libraries are inlined, nothing is fetched
    rendered = browser.render(tmp_path / "index.html", charts=len(CHARTS))
    assert_rendered(rendered, {*settings, "workspace"})


@pytest.fixture(scope="module")
def changed(plotted: tuple[Project, list[str]]) -> tuple[Project, list[str], str, list[str]]:
    """``plotted`` with its results committed, then its first setting's rate doubled and the
    sweep refined in the workspace and reproduced: (project, settings, changed, stages run).

    A fixture, not a test's first half, so each diff test also passes when run on its own.
    """
    project, settings = plotted
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "results")
    changed = settings[0]

    def double_lr_and_refine_sweep(params: dict[str, Any]) -> None:
        params["settings"][changed]["lr"] *= 2
        params["sweep"]["per_decade"] = 2

    project.edit_params(double_lr_and_refine_sweep)
    ran, _ = project.repro()
    return project, settings, changed, ran


def test_plots_diff_tells_revisions_apart(changed) -> None:
    project, settings, changed, ran = changed
    assert f"train@{changed}" in ran and "sweep" in ran and "compare" in ran
    data = show_json(project, "diff", "HEAD")
    # The sweep's curve of both revisions on one chart: 3 rates at HEAD, 5 in the workspace.
    (sweep,) = data[SWEEP_CHART]
    rows = sweep["content"]["data"]["values"]
    counts = {rev: sum(row["rev"] == rev for row in rows) for rev in sweep["revisions"]}
    assert counts == {"HEAD": 2 * 3, "workspace": 2 * 5}
    for chart in CHARTS:
        (renderer,) = data[chart]
        assert len(renderer["revisions"]) == 2 and "workspace" in renderer["revisions"]
        values = renderer["content"]["data"]["values"]
        assert {row["rev"] for row in values} == set(renderer["revisions"])
        for revision in renderer["revisions"]:
            assert {row["setting"] for row in values if row["rev"] == revision} == set(settings)
    rates = data["learning_rate"][0]["content"]["data"]["values"]
    changed_rates = {
        row["rev"]: float(row["learning_rate"])
        for row in rates
        if row["setting"] == changed and float(row["epoch"]) == 0
    }
    assert changed_rates["workspace"] == pytest.approx(2 * changed_rates["HEAD"], rel=1e-5)


def test_plots_diff_page_renders_offline_in_a_browser(changed, tmp_path: Path) -> None:
    browser.require_chromium()
    project, settings, _, _ = changed
    project.run("dvc", "plots", "diff", "HEAD", "-o", str(tmp_path))
    rendered = browser.render(tmp_path / "index.html", charts=len(CHARTS))
    assert_rendered(rendered, {*settings, "HEAD", "workspace"})
