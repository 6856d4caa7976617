"""What the user's environment may not change: NumPy's CPU dispatch, Keras' and oneDNN's settings.

NumPy's CPU dispatch is capped at AVX2 by importing lrstudy, before NumPy loads.

On an AVX-512 CPU NumPy would otherwise run other float64 kernels (power, exp, log) than
on an AVX2 one, and results would differ in the last bits between machines.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lrstudy.runtime import NUMPY_ENVIRONMENT

from .conftest import tiny_params

SRC = str(Path(__file__).resolve().parents[1] / "src")


def keras_imports_before_the_pin(path: Path) -> list[str]:
    """``import keras`` / ``import tensorflow`` in a function of ``path`` that did not call
    ``import_keras()`` on an earlier line (imports for type checking only do not count)."""
    tree = ast.parse(path.read_text())
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        pins = [
            node.lineno
            for node in ast.walk(function)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "import_keras"
        ]
        for node in ast.walk(function):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            heavy = [n for n in names if n.split(".")[0] in ("keras", "tensorflow")]
            if heavy and not any(line < node.lineno for line in pins):
                found.append(f"{path.name}:{node.lineno} {function.name}: {', '.join(heavy)}")
    return found


def test_keras_is_imported_only_through_the_pinned_runtime(tmp_path: Path) -> None:
    """Anywhere but runtime.py, a function imports Keras or TensorFlow only after calling
    ``import_keras()``: the fit loop's log writer once imported Keras bare, so TensorFlow
    started without oneDNN's pins and the user's KERAS_MAX_EPOCHS capped training."""
    package = Path(SRC) / "lrstudy"
    found = [
        line
        for path in sorted(package.rglob("*.py"))
        if path.name != "runtime.py"
        for line in keras_imports_before_the_pin(path)
    ]
    assert found == []
    sample = tmp_path / "sample.py"  # the rule can fail: a bare import is caught
    sample.write_text("def f():\n    import keras\n    return keras\n")
    assert keras_imports_before_the_pin(sample) == ["sample.py:2 f: keras"]


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
    if " avx2" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("needs an x86-64 CPU with AVX2 (NumPy's x86-64-v3 target)")
    assert run_python(code.format(override="")) == "True"  # this machine has AVX2
    assert run_python(code.format(override=lower + "runtime.pin_numpy(); ")) == "False"


# Trains lr_medium for one seed with each loop on tiny params and prints a digest of the
# per-epoch history and the trained weights: equal digests, identical bytes.
TRAIN_AND_DIGEST = """
import hashlib, json, sys
from dataclasses import replace
{before}
from lrstudy.config import parse_config
from lrstudy.data import generate, split
from lrstudy.training import train_setting
config = parse_config(json.loads(sys.argv[1]))
parts = split(generate(config.data), config.split)
digest = hashlib.sha256()
for loop in ("fast", "fit"):
    spec = replace(config.run("lr_medium"), loop=loop)
    spec = replace(spec, seeds=range(1))
    result = next(train_setting(spec, config.model, parts["train"], parts["val"], n_classes=2))
    digest.update(json.dumps(result.history, sort_keys=True).encode())
    for weights in result.weights:
        digest.update(weights.tobytes())
        digest.update(str(weights.dtype).encode())
print(digest.hexdigest())
"""


def train_digest(params: dict, before: str = "", **env: str) -> str:
    code = TRAIN_AND_DIGEST.format(before=before)
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "ONEDNN_", "NPY_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)],
        capture_output=True,
        text=True,
        env={**inherited, "PYTHONPATH": SRC, **env},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


@pytest.mark.slow
def test_the_users_keras_and_onednn_settings_change_no_bit(tmp_path: Path, params) -> None:
    """KERAS_BACKEND, keras.json (backend, floatx, epsilon), Keras' epoch and step caps and
    oneDNN's math mode, all set by the user, give the bytes of a clean environment."""
    tiny = tiny_params(params)
    keras_home = tmp_path / "keras"
    keras_home.mkdir()
    (keras_home / "keras.json").write_text(
        json.dumps({"backend": "numpy", "floatx": "float16", "epsilon": 0.1})
    )
    hostile = {
        "KERAS_BACKEND": "jax",
        "KERAS_HOME": str(keras_home),
        "KERAS_MAX_EPOCHS": "1",
        "KERAS_MAX_STEPS_PER_EPOCH": "1",
        "ONEDNN_DEFAULT_FPMATH_MODE": "BF16",
    }
    clean = train_digest(tiny, KERAS_HOME=str(tmp_path / "empty"))
    assert train_digest(tiny, **hostile) == clean
    # The control: without lrstudy's pin, Keras' epoch cap alone changes the fit loop.
    unpinned = "import lrstudy.runtime as runtime; runtime.IGNORED_ENVIRONMENT = ()"
    capped = train_digest(
        tiny, before=unpinned, KERAS_HOME=str(tmp_path / "empty"), KERAS_MAX_EPOCHS="1"
    )
    assert capped != clean


@pytest.mark.slow
def test_the_inter_op_thread_count_changes_no_bit(params) -> None:
    """lrstudy's two inter-op threads give the bytes of one and of four.

    The executor runs independent ops at once on them; each op still computes on one
    intra-op thread, so no sum changes order (``runtime.INTER_OP_THREADS``).
    """
    tiny = tiny_params(params)
    pinned = train_digest(tiny)
    for threads in (1, 4):
        # The child fails unless TensorFlow really runs on that many inter-op threads.
        before = (
            f"import lrstudy.runtime as runtime; runtime.INTER_OP_THREADS = {threads}; "
            "threading = runtime.import_keras() and __import__('tensorflow').config.threading; "
            f"assert threading.get_inter_op_parallelism_threads() == {threads}"
        )
        assert train_digest(tiny, before=before) == pinned, threads


# --- A stage run by a Python without the project's packages --------------------------------


def test_missing_packages_names_what_this_python_cannot_import() -> None:
    from lrstudy.runtime import STAGE_PACKAGES, missing_packages

    assert missing_packages(["json", "no_such_module_x", "no_such_parent_x.child"]) == [
        "no_such_module_x",
        "no_such_parent_x.child",
    ]
    assert missing_packages(STAGE_PACKAGES) == []  # the venv running the tests has them all


@pytest.mark.parametrize("stage", ["train", "validate", "sweep"])
def test_stage_outside_the_venv_says_to_use_it_in_one_line(stage, tmp_path) -> None:
    # python -S skips site-packages: the venv's interpreter then has only the standard
    # library, like a system python3 without the lock's packages (issue 21 item 10).
    result = subprocess.run(
        [sys.executable, "-S", "-m", f"lrstudy.stages.{stage}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC},
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "pandas" in lines[0] and "make repro" in lines[0] and ".venv/bin/activate" in lines[0]
    assert list(tmp_path.iterdir()) == []
