"""Modules that validate, plot or report must not import TensorFlow (2-4 s, ~750 MB)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "lrstudy.config",
        "lrstudy.clock",
        "lrstudy.runlog",
        "lrstudy.runtime",
        "lrstudy.io",
        "lrstudy.pr_report",
        "lrstudy.stages.train",
        "lrstudy.stages.evaluate",
        "lrstudy.data",
        "lrstudy.schedules",
        "lrstudy.evaluation",
        "lrstudy.report",
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
