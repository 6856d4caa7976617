"""NumPy's CPU dispatch is capped at AVX2 by importing lrstudy, before NumPy loads.

On an AVX-512 CPU NumPy would otherwise run other float64 kernels (power, exp, log) than
on an AVX2 one, and results would differ in the last bits between machines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lrstudy.runtime import NUMPY_ENVIRONMENT

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_python(code: str, **env: str) -> str:
    inherited = {k: v for k, v in os.environ.items() if k not in NUMPY_ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**inherited, "PYTHONPATH": SRC, **env},
    )
    return result.stdout.strip()


def test_importing_lrstudy_pins_numpy_before_numpy_loads() -> None:
    code = (
        "import os, sys, lrstudy; assert 'numpy' not in sys.modules; "
        "print(os.environ['NPY_DISABLE_CPU_FEATURES'])"
    )
    # Whatever the user's environment says.
    assert run_python(code, NPY_DISABLE_CPU_FEATURES="") == "X86_V4 AVX512_ICL AVX512_SPR"


def test_numpy_honours_the_variable_lrstudy_sets() -> None:
    """The mechanism, shown where it can act on any x86-64 machine with AVX2: capping one
    level lower the same way (x86-64-v3, AVX2 itself) takes AVX2 out of NumPy's dispatch,
    which it otherwise uses (the control)."""
    code = (
        "import lrstudy.runtime as runtime; {override}"
        "from numpy._core._multiarray_umath import __cpu_features__; "
        "print(__cpu_features__['X86_V3'])"
    )
    lower = "runtime.NUMPY_ENVIRONMENT = {'NPY_DISABLE_CPU_FEATURES': 'X86_V3 X86_V4'}; "
    assert run_python(code.format(override="")) == "True"  # this machine has AVX2
    assert run_python(code.format(override=lower + "runtime.pin_numpy(); ")) == "False"
