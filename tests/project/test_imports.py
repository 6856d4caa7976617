"""Modules that validate, plot or report must not import TensorFlow (2-4 s, ~750 MB).

One fresh Python imports the modules one after another and looks for TensorFlow and Keras
in ``sys.modules`` after each: a module that imports either (itself or through what it
imports) is the first after which they show, whatever was imported before it, because
nothing before it did. One process instead of one per module: the check is the same and
costs one interpreter start-up (with pandas and scipy) instead of 52.
"""

from __future__ import annotations

import os
import subprocess
import sys

MODULES = [
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
]

CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    if heavy:
        print(f"{name} imports {', '.join(heavy)}")
        break
"""


def test_no_listed_module_imports_tensorflow() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK, *MODULES], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr  # a module that fails to import, say
    assert result.stdout.strip() == ""


def test_the_check_names_a_module_that_imports_tensorflow() -> None:
    """The check can fail: the first module after which TensorFlow shows is named."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK, "lrstudy.config", "keras", "lrstudy.io"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},  # whatever the user's is
    )
    assert result.stdout.strip() == "keras imports keras, tensorflow"
