"""Issue 20: training chunks on a Dask cluster give the bytes of the in-process loop.

The slow tests start a real ``dask scheduler`` and two ``dask worker`` processes on the
loopback interface (one worker with an environment of PATH, HOME and PYTHONPATH only:
none of lrstudy's pins), run the sweep and train stages of a tiny study against it, and
compare every output file byte for byte with an in-process run. Chunks are forced small
(2 members) so a stage spans several chunks on both workers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lrstudy.data import generate, split, write_dataset

from .conftest import PROJECT_ROOT, tiny_params

DASK = Path(sys.executable).parent / "dask"
STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bare_environment(home: Path) -> dict[str, str]:
    """PATH, HOME and the clone's source on PYTHONPATH: none of lrstudy's variables."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": str(PROJECT_ROOT / "src"),
    }


def test_nothing_of_dask_is_imported_without_a_scheduler(tmp_path) -> None:
    code = (
        "import sys, lrstudy.training, lrstudy.stages.train, lrstudy.stages.sweep\n"
        "from lrstudy.executor import scheduler_address\n"
        "assert scheduler_address() is None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_bare_environment(tmp_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == "[]"


def test_a_dask_config_file_names_the_scheduler(tmp_path) -> None:
    (tmp_path / "dask.yaml").write_text("scheduler-address: tcp://127.0.0.1:8786\n")
    env = {**_bare_environment(tmp_path), "DASK_CONFIG": str(tmp_path)}
    code = "from lrstudy.executor import scheduler_address; print(scheduler_address())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "tcp://127.0.0.1:8786"


def test_progress_off_a_terminal_prints_one_line_per_chunk(capsys) -> None:
    from lrstudy.executor import Progress

    progress = Progress("training", chunks=2, models=3, stream=sys.stdout)
    progress.chunk_done(2, "tcp://127.0.0.1:1")
    progress.chunk_done(1, "tcp://127.0.0.1:2")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "training: chunk 1/2 done",
        "training: chunk 2/2 done",
    ]
    assert "3/3 models" in lines[1] and "on tcp://127.0.0.1:2" in lines[1]


# --- A real cluster on the loopback interface. ---------------------------------------------


def _start(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(DASK), *arguments],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with everything it spawned
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and two one-thread workers on 127.0.0.1; every process stopped after."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    processes = [
        _start(
            ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env,
            tmp_path / "scheduler.log",
        )
    ]
    try:
        worker = [address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
        worker += ["--no-nanny", "--death-timeout", "60"]
        processes.append(_start(["worker", *worker], env, tmp_path / "worker-a.log"))
        bare = _bare_environment(tmp_path)
        processes.append(_start(["worker", *worker], bare, tmp_path / "worker-b.log"))
        _wait_for_workers(address, 2)
        yield address, processes
    finally:
        for process in reversed(processes):
            _stop(process)


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout="30s", set_as_default=False) as client:
        client.wait_for_workers(count, timeout=STARTUP_SECONDS)


def _study(tmp_path: Path, params: dict) -> tuple[Path, Path]:
    """A tiny study: 5 seeds, 4 epochs, 3 sweep rates; its params file and data folder."""
    from lrstudy.config import parse_config

    tiny = tiny_params(params)
    tiny["train"].update({"epochs": 4, "seeds": 5})
    tiny["sweep"].update({"min_lr": 0.001, "max_lr": 0.1, "per_decade": 1})
    config = parse_config(tiny)
    data = tmp_path / "data"
    data.mkdir()
    for part, rows in split(generate(config.data), config.split).items():
        write_dataset(data / f"{part}.csv", rows)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tiny))
    return path, data


DRIVER = """
import sys
import lrstudy.training
from lrstudy.stages import sweep, train

lrstudy.training.chunk_size = lambda members, per_member: min(members, 2)
params, data, out = sys.argv[1:]
common = ["--params", params, "--data", data]
assert sweep.main([*common, "--out", f"{out}/sweep"]) == 0
setting = ["--setting", "lr_small", "--models", f"{out}/models", "--logs", f"{out}/logs"]
assert train.main([*common, *setting, "--evaluation", f"{out}/evaluation"]) == 0
"""


def _run_stages(params: Path, data: Path, out: Path, address: str | None) -> str:
    """The sweep and one setting's train stage in a fresh process, chunks of 2; its stdout.

    A fresh process each time: TensorFlow's state in the test process is whatever the
    tests before it left.
    """
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    if address is not None:
        env["DASK_SCHEDULER_ADDRESS"] = address
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(params), str(data), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
def test_stages_on_a_cluster_write_the_in_process_bytes(tmp_path, params, cluster) -> None:
    address, _ = cluster
    study = _study(tmp_path, params)
    _run_stages(*study, tmp_path / "local", None)
    out = _run_stages(*study, tmp_path / "remote", address)
    assert f"trained on the Dask cluster at {address}, 2 worker(s)" in out
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "remote")
    assert local.keys() == remote.keys() and len(local) > 10
    differ = [name for name in local if local[name] != remote[name]]
    assert differ == [], (differ, local[differ[0]][:300], remote[differ[0]][:300])


@pytest.mark.slow
def test_a_worker_killed_mid_run_changes_no_byte(tmp_path, params, cluster) -> None:
    address, processes = cluster
    study = _study(tmp_path, params)
    _run_stages(*study, tmp_path / "local", None)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    env["DASK_SCHEDULER_ADDRESS"] = address
    arguments = [str(path) for path in (*study, tmp_path / "remote")]
    run = subprocess.Popen(
        [sys.executable, "-c", DRIVER, *arguments], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in run.stderr:  # the sweep's first chunk done: kill worker b mid-run
            if "chunk 1/" in line:
                _stop(processes[2])
                break
        run.stderr.read()
        assert run.wait(timeout=600) == 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert processes[2].poll() is not None, "worker b was not killed during the run"
    assert _files(tmp_path / "local") == _files(tmp_path / "remote")


def test_a_closed_port_fails_with_one_line_and_writes_nothing(
    tmp_path, params, monkeypatch, capsys
) -> None:
    from lrstudy.stages import sweep

    study = _study(tmp_path, params)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    monkeypatch.setattr("lrstudy.executor.CONNECT_TIMEOUT", "2s")
    out = tmp_path / "out"
    code = sweep.main(["--params", str(study[0]), "--data", str(study[1]), "--out", str(out)])
    errors = capsys.readouterr().err.splitlines()
    assert code == 2
    assert errors[-1].startswith(f"error: cannot reach the Dask scheduler at {address}")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "params.yaml"]
