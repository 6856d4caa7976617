"""Modules that validate, plot or report must not import TensorFlow (2-4 s, ~750 MB)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "lrstudy.config",
        "lrstudy.config.types",
        "lrstudy.config.schedules",
        "lrstudy.config.errors",
        "lrstudy.config.sections",
        "lrstudy.config.loading",
        "lrstudy.clock",
        "lrstudy.runlog",
        "lrstudy.runtime",
        "lrstudy.io",
        "lrstudy.pr_report",
        "lrstudy.pr_report.accuracy",
        "lrstudy.pr_report.command",
        "lrstudy.pr_report.diffs",
        "lrstudy.pr_report.freshness",
        "lrstudy.pr_report.rendering",
        "lrstudy.pr_report.revisions",
        "lrstudy.pr_report.text_chart",
        "lrstudy.stages.train",
        "lrstudy.data",
        "lrstudy.schedules",
        "lrstudy.evaluation",
        "lrstudy.report",
        "lrstudy.report.command",
        "lrstudy.report.curves",
        "lrstudy.report.figures",
        "lrstudy.report.formatting",
        "lrstudy.report.markdown",
        "lrstudy.report.reading",
        "lrstudy.report.summary",
        "lrstudy.plots",
        "lrstudy.model",
        "lrstudy.training",
        "lrstudy.training_run",
        "lrstudy.fit_loop",
        "lrstudy.rate_plan",
        "lrstudy.stages.compare",
        "lrstudy.stages.generate",
        "lrstudy.stages.split",
        "lrstudy.stages.validate",
        "lrstudy.vega_page",
        "lrstudy.stages.sweep",
        "lrstudy.stages.lr_find",
        "lrstudy.lr_finder",
        "lrstudy.sweep",
        "lrstudy.sweep_training",
        "lrstudy.comparison",
        "lrstudy.plots.style",
        "lrstudy.plots.boundaries",
        "lrstudy.plots.curves",
        "lrstudy.plots.accuracy",
        "lrstudy.plots.rates",
    ],
)
def test_module_does_not_import_tensorflow(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
