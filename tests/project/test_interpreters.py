"""Python 3.11, 3.12 and 3.13: how the venv's interpreter is found and the venv built
(``.ci/find-python``, ``.ci/venv``), that pyproject, the Makefile, the README and CI agree
on the versions, and that every interpreter present writes the same bytes
(``benchmarks/cross_python.py``, ``make cross-python``).

The scripts are exercised with fake interpreters (shell scripts that answer the probes the
scripts send) in temporary folders, so no test installs anything or touches ``.venv``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from ..conftest import PROJECT_ROOT, benchmark_module

VERSIONS = ("3.11", "3.12", "3.13")
CURRENT = "{}.{}".format(*sys.version_info[:2])
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
# A pyenv shim on PATH for a version pyenv has not selected: it runs, then fails.
SHIM = '#!/bin/sh\necho "pyenv: $(basename "$0"): command not found" >&2\nexit 127\n'


def _cross_python():
    return benchmark_module("cross_python")


cross_python = _cross_python()


def write_script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def fake_python(path: Path, version: str) -> Path:
    """A stand-in interpreter reporting ``version``: it answers find-python's probe and
        .ci/venv's version query, makes a "venv" holding a copy of itself, and logs each pip
        command to ``pip.log`` next to its bin/ and prints what pip prints installing one package
    (failing instead when FAKE_PIP_FAILS is set)."""
    return write_script(
        path,
        f"""#!/bin/sh
case "$1" in
  -) echo "ok $0 {version}.0" ;;
  -c) echo "{version}.0" ;;
  -m)
    if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
    elif [ -n "$FAKE_PIP_FAILS" ]; then echo "pip: simulated failure" >&2; exit 1
    else echo "$*" >> "$(dirname "$0")/../pip.log"
      echo "Collecting something==1.0 (from -r requirements.lock (line 2))"
      echo "  Using cached something-1.0-py3-none-any.whl"
      echo "Installing collected packages: something"
      echo "Successfully installed something-1.0"; fi ;;
esac
""",
    )


def fake_pythons(fakes: Path, *working: str) -> Path:
    """python3.11, python3.12 and python3.13 in ``fakes``: a fake interpreter for each of
    ``working``, a failing shim for the others (which also hides the system's own)."""
    for version in VERSIONS:
        if version in working:
            fake_python(fakes / f"python{version}", version)
        else:
            write_script(fakes / f"python{version}", SHIM)
    return fakes


def tools_path(fakes: Path) -> str:
    """PATH with ``fakes`` first, then the system's tools (no venv, no pyenv shims)."""
    return f"{fakes}{os.pathsep}/usr/bin{os.pathsep}/bin"


def run_script(script: Path, *args: str, path: str, cwd: Path | None = None):
    env = {**os.environ, "PATH": path, "PYENV_ROOT": str(script.parent / "no-pyenv")}
    env.pop("FAKE_PIP_FAILS", None)
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, env=env, cwd=cwd
    )


# --- .ci/find-python ---------------------------------------------------------------------


def test_a_failing_shim_is_skipped_for_the_next_working_python(tmp_path: Path) -> None:
    """python3.11 on PATH is a pyenv shim that fails when run (as on this project's dev
    machine with 3.12 selected): the first python3.X that really runs is chosen."""
    fakes = fake_pythons(tmp_path / "bin", "3.12")
    result = run_script(PROJECT_ROOT / ".ci" / "find-python", path=tools_path(fakes))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(fakes / "python3.12"), "3.12.0"]


def test_the_real_interpreter_running_the_tests_is_found_by_its_version(tmp_path) -> None:
    """The probe runs the interpreter itself: the test's own Python, named python3.X, is
    accepted with its sys.executable; the same Python named for another version is not."""
    fakes = tmp_path / "bin"
    write_script(fakes / f"python{CURRENT}", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    other = next(v for v in VERSIONS if v != CURRENT)
    write_script(fakes / f"python{other}", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    found = run_script(PROJECT_ROOT / ".ci" / "find-python", CURRENT, path=tools_path(fakes))
    assert found.returncode == 0, found.stderr
    executable, version = found.stdout.split()
    assert executable == sys.executable
    assert version == "{}.{}.{}".format(*sys.version_info[:3])
    wrong = run_script(PROJECT_ROOT / ".ci" / "find-python", other, path=tools_path(fakes))
    assert wrong.returncode == 1
    assert f"python{other} is Python {CURRENT}, not {other}" in wrong.stderr


def test_no_working_python_is_one_line_naming_each_tried(tmp_path: Path) -> None:
    fakes = fake_pythons(tmp_path / "bin")
    result = run_script(PROJECT_ROOT / ".ci" / "find-python", path=tools_path(fakes))
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no working Python 3.11, 3.12 or 3.13 found")
    for version in VERSIONS:
        assert f"python{version} does not run (pyenv: python{version}: command not found)" in line
    assert "PYTHON=/path/to/python3.X" in line


def test_pyenv_installed_versions_are_found_when_its_shim_fails(tmp_path: Path) -> None:
    """``find-python 3.12`` (the cross-Python venvs) looks in $PYENV_ROOT/versions/3.12.*
    when python3.12 on PATH is a shim that fails; the newest patch release first."""
    fakes = tmp_path / "bin"
    write_script(fakes / "python3.12", SHIM)
    root = tmp_path / "no-pyenv"  # run_script's PYENV_ROOT
    fake_python(root / "versions" / "3.12.1" / "bin" / "python3.12", "3.12")
    newest = fake_python(root / "versions" / "3.12.10" / "bin" / "python3.12", "3.12")
    script = tmp_path / "find-python"
    script.write_text((PROJECT_ROOT / ".ci" / "find-python").read_text())
    result = run_script(script, "3.12", path=tools_path(fakes))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == str(newest)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check", "no-such-python"], "error: PYTHON=no-such-python not found; pass PYTHON="),
        (["3.10"], "error: unknown argument '3.10'"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_script(PROJECT_ROOT / ".ci" / "find-python", *args, path=tools_path(tmp_path))
    assert result.returncode != 0
    (line,) = result.stderr.splitlines()
    assert line.startswith(message)


# --- .ci/venv ----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder laid out like the project for .ci/venv: its scripts, a lock, a pyproject."""
    root = tmp_path / "project"
    for name in ("venv", "find-python"):
        write_script(root / ".ci" / name, (PROJECT_ROOT / ".ci" / name).read_text())
    (root / "requirements.lock").write_text("# pinned\nsomething==1.0\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return root


def venv(project: Path, *args: str, fakes: Path, fail: bool = False):
    env = {**os.environ, "PATH": tools_path(fakes), "PYENV_ROOT": str(project / "no-pyenv")}
    env.pop("FAKE_PIP_FAILS", None)
    if fail:
        env["FAKE_PIP_FAILS"] = "1"
    return subprocess.run(
        ["bash", str(project / ".ci" / "venv"), *args], capture_output=True, text=True, env=env
    )


def test_an_interrupted_install_is_rebuilt_and_says_so(project: Path, tmp_path: Path) -> None:
    """A failed (or killed) pip leaves .venv without its stamp; the next run says so,
    removes it and builds it again, and only a complete install gets the stamp."""
    fakes = fake_pythons(tmp_path / "bin", "3.12")
    failed = venv(project, ".venv", "", fakes=fakes, fail=True)
    assert failed.returncode != 0
    assert not (project / ".venv" / ".installed").exists()
    assert failed.stderr.splitlines()[-1] == (
        "error: installing into .venv failed or was interrupted (exit 1); the next make "
        "removes the half-built .venv and installs again"
    )
    (project / ".venv" / "leftover").write_text("from the interrupted install")
    retried = venv(project, ".venv", "", fakes=fakes)
    assert retried.returncode == 0, retried.stderr
    assert retried.stderr.splitlines()[0] == (
        "note: .venv has no .venv/.installed (an earlier install was interrupted or "
        "failed): removing it and installing again"
    )
    assert not (project / ".venv" / "leftover").exists()
    assert (project / ".venv" / ".installed").read_text() == "Python 3.12.0\n"
    pip = (project / ".venv" / "pip.log").read_text().splitlines()
    assert pip[0].startswith("-m pip install") and pip[0].endswith("-r requirements.lock")
    assert pip[1].endswith("-e .")


def test_what_the_install_does_and_how_long_is_said_first(project, tmp_path) -> None:
    fakes = fake_pythons(tmp_path / "bin", "3.13")
    result = venv(project, ".venv", "", fakes=fakes)
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Creating .venv with Python 3.13.0 ({fakes / 'python3.13'})")
    assert "requirements.lock's 1 pinned packages" in first
    assert "about 2-3 minutes" in first
    # pip's progress, one line per package and per phase, not minutes of silence.
    assert result.stderr.splitlines()[1:] == [
        "  pip [1/1] something==1.0",
        "  pip: installing them (the longest step, TensorFlow above all)",
        "  pip: done",
        ".venv is ready (Python 3.13.0)",
    ]
    # A complete, current .venv: nothing printed, nothing installed again.
    again = venv(project, ".venv", "", fakes=fakes)
    assert (again.returncode, again.stderr) == (0, "")
    assert len((project / ".venv" / "pip.log").read_text().splitlines()) == 2


def test_a_venv_of_another_python_stops_before_installing(project, tmp_path) -> None:
    fakes = fake_pythons(tmp_path / "bin", "3.11")
    other = fake_python(tmp_path / "elsewhere" / "python3.13", "3.13")
    assert venv(project, ".venv", "", fakes=fakes).returncode == 0
    stamp = (project / ".venv" / ".installed").stat().st_mtime_ns
    result = venv(project, ".venv", str(other), fakes=fakes)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: .venv was built with Python 3.11.0, not {other} (Python 3.13.0): run "
        "'make clean' to rebuild it with that one, or leave PYTHON unset to keep using .venv"
    ]
    assert (project / ".venv" / ".installed").stat().st_mtime_ns == stamp
    assert len((project / ".venv" / "pip.log").read_text().splitlines()) == 2
    # The same version asked for by name is fine.
    assert venv(project, ".venv", "python3.11", fakes=fakes).returncode == 0


def test_no_python_stops_before_creating_anything(project: Path, tmp_path: Path) -> None:
    fakes = fake_pythons(tmp_path / "bin")
    result = venv(project, ".venv", "", fakes=fakes)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no working Python 3.11, 3.12 or 3.13 found")
    assert not (project / ".venv").exists()


def test_a_venv_whose_python_is_gone_says_how_to_rebuild(project, tmp_path) -> None:
    fakes = fake_pythons(tmp_path / "bin", "3.12")
    assert venv(project, ".venv", "", fakes=fakes).returncode == 0
    (project / ".venv" / "bin" / "python").unlink()
    result = venv(project, ".venv", "", fakes=fakes)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: .venv/bin/python no longer runs (the Python it was built with is gone): "
        "run 'make clean', then make again to rebuild it"
    ]


def test_a_changed_lock_updates_the_venv(project: Path, tmp_path: Path) -> None:
    fakes = fake_pythons(tmp_path / "bin", "3.12")
    assert venv(project, ".venv", "", fakes=fakes).returncode == 0
    stamp = project / ".venv" / ".installed"
    os.utime(stamp, (1, 1))  # older than the lock file
    result = venv(project, ".venv", "", fakes=fakes)
    assert result.returncode == 0, result.stderr
    assert "changed: updating .venv (Python 3.12.0" in result.stderr
    assert len((project / ".venv" / "pip.log").read_text().splitlines()) == 4
    assert stamp.stat().st_mtime > 1


def test_make_stops_on_a_bad_python_before_installing(tmp_path: Path) -> None:
    """The Makefile's wiring: ``make venv PYTHON=...`` with a Python that does not exist
    fails with the script's one line, and no venv is created."""
    target = tmp_path / "venv"
    result = subprocess.run(
        ["make", "--no-print-directory", f"VENV={target}", "PYTHON=no-such-python", "venv"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith(
        "error: PYTHON=no-such-python not found; pass PYTHON=/path/to/python3.X"
    )
    assert not target.exists()


# --- the versions agree everywhere -------------------------------------------------------


def test_pyproject_the_makefile_and_the_scripts_support_the_same_versions() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    supported = SpecifierSet(pyproject["project"]["requires-python"])
    assert [v for v in ("3.10", *VERSIONS, "3.14") if v in supported] == list(VERSIONS)
    find_python = (PROJECT_ROOT / ".ci" / "find-python").read_text()
    assert re.search(r"^SUPPORTED=\((.*)\)$", find_python, re.MULTILINE).group(1).split() == list(
        VERSIONS
    )
    assert cross_python.VERSIONS == VERSIONS
    assert re.search(r"^CROSS_PYTHONS \?= (.*)$", MAKEFILE, re.MULTILINE).group(1).split() == (
        list(VERSIONS)
    )
    assert re.search(r"^PYTHON \?=$", MAKEFILE, re.MULTILINE), "no default interpreter name"


def test_readme_says_how_the_python_is_picked() -> None:
    text = " ".join(README.split())
    assert "Python 3.11, 3.12 or 3.13" in text
    assert "the first of `python3.11`, `python3.12`, `python3.13` on your PATH that runs" in text
    assert "make repro PYTHON=python3.13" in text
    assert "`make cross-python`" in text


def test_ci_prepares_two_interpreters_before_the_tests() -> None:
    script = (PROJECT_ROOT / ".ci" / "run").read_text()
    commands = script.splitlines()
    install = commands.index("bash .ci/install-pythons")
    venvs = commands.index("make cross-python-venvs")
    assert install < venvs < commands.index("make test")
    assert "-lt 2" in (PROJECT_ROOT / ".ci" / "install-pythons").read_text()
    assert "-lt 2" in (PROJECT_ROOT / ".ci" / "cross-python-venvs").read_text()


def test_ci_installs_no_python_when_two_are_there(tmp_path: Path) -> None:
    """.ci/install-pythons with two supported Pythons present says which and installs
    nothing (the install path needs root or pyenv, and is not run here)."""
    root = tmp_path / "project"
    for name in ("install-pythons", "find-python"):
        write_script(root / ".ci" / name, (PROJECT_ROOT / ".ci" / name).read_text())
    fakes = fake_pythons(tmp_path / "bin", "3.11", "3.13")
    result = run_script(root / ".ci" / "install-pythons", path=tools_path(fakes))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Pythons for the cross-Python check: 3.11 3.13\n"


def test_the_cross_python_venvs_are_ignored_by_git_and_dvc() -> None:
    for ignore in (".gitignore", ".dvcignore"):
        lines = (PROJECT_ROOT / ignore).read_text().splitlines()
        assert "/.venvs" in lines or "/.venvs/" in lines, ignore
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".venvs/py3.12/bin/python"], cwd=PROJECT_ROOT
    )
    assert ignored.returncode == 0


def test_readme_quotes_the_committed_cross_python_results() -> None:
    """The README's cross-Python sentence matches benchmarks/cross_python.md (``make
    cross-python`` writes it): the Pythons compared, the file count, every one the same."""
    results = (PROJECT_ROOT / "benchmarks" / "cross_python.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:-1] for line in results.splitlines() if re.match(r"\| 3\.", line)]
    releases = [cells[0].strip() for cells in rows]
    verdicts = [cells[3].strip() for cells in rows]
    assert len(rows) >= 2 and verdicts == ["reference"] + ["same"] * (len(rows) - 1)
    files = re.search(r"(\d+) files hashed per run", results).group(1)
    text = " ".join(README.split())
    listed = ", ".join(releases[:-1]) + f" and {releases[-1]}"
    assert f"compares the {files} files they write" in text
    assert f"byte for byte: identical under {listed}" in text


# --- benchmarks/cross_python.py ----------------------------------------------------------


def test_a_missing_or_half_built_venv_is_skipped_with_its_reason(tmp_path: Path) -> None:
    python, reason = cross_python.venv_python("3.12", tmp_path)
    assert python is None
    assert reason.startswith(f"no {tmp_path / 'py3.12'}: `make cross-python-venvs` builds it")
    fake_python(tmp_path / "py3.12" / "bin" / "python", "3.12")
    python, reason = cross_python.venv_python("3.12", tmp_path)
    assert python is None and "is half-built (no .installed stamp)" in reason
    (tmp_path / "py3.12" / ".installed").touch()
    python, reason = cross_python.venv_python("3.12", tmp_path)
    assert (python, reason) == (tmp_path / "py3.12" / "bin" / "python", "")
    python, reason = cross_python.venv_python("3.13", tmp_path)
    assert python is None


def test_the_comparison_flags_a_differing_and_a_missing_file() -> None:
    reference = cross_python.Result("3.11", "a", files={"m.keras": "1", "log.tsv": "2"})
    same = cross_python.Result("3.12", "b", files={"m.keras": "1", "log.tsv": "2"})
    other = cross_python.Result("3.13", "c", "3.13.0", files={"m.keras": "9"})
    assert cross_python.differing(reference, same) == []
    assert cross_python.differing(reference, other) == ["log.tsv", "m.keras"]
    assert cross_python.all_same([reference, same])
    assert not cross_python.all_same([reference, same, other])
    assert not cross_python.all_same([reference, cross_python.Result("3.12", "b", error="x")])
    table = cross_python.report([reference, other], {"3.12": "no venv"})
    assert "| 3.13.0 |" in table and "DIFFERENT (2 files)" in table
    assert "| 3.12 | | skipped: no venv | | |" in table


FOUND, MISSING = cross_python.interpreters()


@pytest.fixture(scope="module")
def runs() -> dict[str, object]:
    """The tiny study under every interpreter that has a venv here, one at a time (the
    other test worker keeps the second core busy); keyed by version."""
    if len(FOUND) < 2:
        pytest.skip(f"only Python {CURRENT} has a venv: {'; '.join(MISSING.values())}")
    return {result.version: result for result in cross_python.check(FOUND, jobs=1)}


@pytest.mark.slow
@pytest.mark.parametrize("version", [v for v in VERSIONS if v != CURRENT])
def test_every_python_writes_the_same_bytes(runs, version: str) -> None:
    """The data, models, logs, per-step rates and evaluations of cross_cpu.py's tiny study,
    written under Python ``version``, are byte-identical to this interpreter's."""
    if version in MISSING:
        pytest.skip(f"Python {version}: {MISSING[version]}")
    reference, other = runs[CURRENT], runs[version]
    assert not reference.error and not other.error, (reference.error, other.error)
    assert len(reference.files) > 40
    assert any(path.endswith(".keras") for path in reference.files)
    assert any(path.startswith("data/") for path in reference.files)
    assert other.isa == reference.isa
    assert cross_python.differing(reference, other) == []
