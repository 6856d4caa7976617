"""import_keras drops TensorFlow's two known-benign import lines from stderr, nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
# As TensorFlow 2.21 prints them (one stage's stderr, before this filter).
ABSL = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN = (
    "I0000 00:00:1795971332.446523   15070 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results due to floating-point round-off "
    "errors from different computation orders. To turn them off, set the environment "
    "variable `TF_ENABLE_ONEDNN_OPTS=0`."
)
REAL_ERROR = (
    "E0000 00:00:1795971354.437387   15124 node_def_util.cc:682] NodeDef mentions "
    "attribute use_unbounded_threadpool which is not in the op definition"
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    environment = {**inherited, "PYTHONPATH": SRC, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )


@pytest.mark.parametrize(
    ("line", "benign"),
    [
        (ABSL, True),
        (ABSL + "\n", True),
        (ONEDNN, True),
        (ONEDNN.encode() + b"\r\n", True),
        (REAL_ERROR, False),
        (ONEDNN.replace("I0000", "E0000"), False),  # the same text as an error is not benign
        (ONEDNN.replace("port.cc", "other.cc"), False),
        ("Traceback: " + ABSL, False),  # whole lines only
        ("", False),
    ],
)
def test_the_filter_drops_exactly_the_two_benign_lines(line, benign) -> None:
    """Each line through the real filter process: dropped if benign, forwarded otherwise."""
    payload = line if isinstance(line, bytes) else line.encode()
    payload = payload if payload.endswith(b"\n") else payload + b"\n"
    code = f"""
import os
from lrstudy.runtime import quiet_stderr
with quiet_stderr():
    os.write(2, {payload!r})
"""
    result = run_python(code)
    assert result.returncode == 0
    forwarded = result.stderr.encode()
    assert (forwarded == b"") is benign
    if not benign:
        assert forwarded.replace(b"\r", b"") == payload.replace(b"\r", b"")


def test_the_filter_drops_benign_lines_and_forwards_the_rest() -> None:
    code = f"""
import os, sys
from lrstudy.runtime import quiet_stderr
with quiet_stderr():
    os.write(2, {ABSL!r}.encode() + b"\\n")
    os.write(2, {REAL_ERROR!r}.encode() + b"\\n")
    os.write(2, {ONEDNN!r}.encode() + b"\\n")
    print("from python", file=sys.stderr)
    os.write(2, b"no newline at the end")
print("after the window", file=sys.stderr)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines == [REAL_ERROR, "from python", "no newline at the endafter the window"]


def test_a_crash_inside_the_window_still_shows_what_it_printed() -> None:
    # A crash while TensorFlow is being imported: a hook on the import of keras writes
    # an error to fd 2 and aborts the process before any Python code runs again.
    code = """
import os, sys
from lrstudy.runtime import import_keras

class Crash:
    def find_spec(self, name, path=None, target=None):
        if name == "keras":
            os.write(2, b"F0000 fatal: crashed while importing keras\\n")
            os.abort()
        return None

sys.meta_path.insert(0, Crash())
import_keras()
"""
    result = run_python(code)
    assert result.returncode != 0
    assert "F0000 fatal: crashed while importing keras" in result.stderr


def test_import_keras_prints_none_of_the_benign_lines() -> None:
    # An error written during the import (by an import hook) shows; TensorFlow's two
    # benign lines do not. With TF_CPP_MIN_LOG_LEVEL=0 they do: the check is not vacuous.
    code = """
import os, sys
from lrstudy.runtime import import_keras

class Noise:
    def find_spec(self, name, path=None, target=None):
        if name == "keras":
            os.write(2, b"E0000 a real error during the import\\n")
        return None

sys.meta_path.insert(0, Noise())
import_keras()
print("imported", file=sys.stderr)
"""
    quiet = run_python(code)
    assert quiet.returncode == 0, quiet.stderr
    assert "absl::InitializeLog" not in quiet.stderr
    assert "oneDNN custom operations" not in quiet.stderr
    assert "E0000 a real error during the import" in quiet.stderr
    assert quiet.stderr.rstrip().endswith("imported")

    everything = run_python(code, TF_CPP_MIN_LOG_LEVEL="0")
    assert everything.returncode == 0, everything.stderr
    assert ABSL in everything.stderr.splitlines()
    assert any("oneDNN custom operations are on" in line for line in everything.stderr.splitlines())


def test_without_any_stderr_the_block_still_runs(monkeypatch) -> None:
    """`2>&-` leaves sys.stderr None: quiet_stderr must not fail before the block runs."""
    from lrstudy.runtime import quiet_stderr

    monkeypatch.setattr(sys, "stderr", None)
    ran = []
    with quiet_stderr():
        ran.append(True)
    assert ran == [True]
