"""Issue 20: training chunks on a Dask cluster give the bytes of the in-process loop.

The slow tests start a real ``dask scheduler`` and two ``dask worker`` processes on the
loopback interface (one worker with an environment of PATH, HOME and PYTHONPATH only:
none of lrstudy's pins), run the sweep and train stages of a tiny study against it, and
compare every output file byte for byte with an in-process run. Chunks are forced small
(2 members) so a stage spans several chunks on both workers.
"""

from __future__ import annotations

import linecache
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lrstudy.data import generate, split, write_dataset
from lrstudy.io import SCRATCH

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


@pytest.fixture(scope="module")
def in_process(
    tmp_path_factory: pytest.TempPathFactory, default_params: dict[str, Any]
) -> tuple[tuple[Path, Path], dict[str, bytes]]:
    """The tiny study (``_study``) and the files its stages write without a cluster: the
    reference the cluster tests compare with, computed once for the module."""
    root = tmp_path_factory.mktemp("in-process")
    study = _study(root, default_params)
    _run_stages(*study, root / "out", None)
    return study, _files(root / "out")


@pytest.mark.slow
def test_stages_on_a_cluster_write_the_in_process_bytes(tmp_path, in_process, cluster) -> None:
    address, _ = cluster
    study, local = in_process
    out = _run_stages(*study, tmp_path / "remote", address)
    assert f"trained on the Dask cluster at {address}, 2 worker(s)" in out
    remote = _files(tmp_path / "remote")
    assert local.keys() == remote.keys() and len(local) > 10
    differ = [name for name in local if local[name] != remote[name]]
    assert differ == [], (differ, local[differ[0]][:300], remote[differ[0]][:300])


@pytest.mark.slow
def test_a_worker_killed_mid_run_changes_no_byte(tmp_path, in_process, cluster) -> None:
    address, processes = cluster
    study, local = in_process
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
    assert local == _files(tmp_path / "remote")


SWEEP_DRIVER = """
import sys
import lrstudy.training
from lrstudy.stages import sweep

lrstudy.training.chunk_size = lambda members, per_member: min(members, 2)
params, data, out = sys.argv[1:]
raise SystemExit(sweep.main(["--params", params, "--data", data, "--out", out]))
"""


@pytest.mark.slow
def test_a_scheduler_lost_mid_run_fails_with_one_line_and_writes_nothing(
    tmp_path, params, cluster
) -> None:
    address, processes = cluster
    study = _study(tmp_path, params)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    env["DASK_SCHEDULER_ADDRESS"] = address
    out = tmp_path / "sweep"
    before = _written(tmp_path)
    run = subprocess.Popen(
        [sys.executable, "-c", SWEEP_DRIVER, *(str(path) for path in (*study, out))],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in run.stderr:  # the first chunk done: the scheduler goes away mid-run
            lines.append(line)
            if "chunk 1/" in line:
                _stop(processes[0])
                break
        lines += run.stderr.readlines()
        assert run.wait(timeout=300) == 2, "".join(lines)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert processes[0].poll() is not None, "the scheduler was not stopped during the run"
    assert lines[-1].startswith("error: lost the Dask scheduler at " + address), "".join(lines)
    assert not out.exists()
    assert _written(tmp_path) == before  # nothing written beside it either


def _written(folder: Path) -> list[str]:
    """What is in ``folder`` but the cluster's logs and the bare worker's dotfiles (its HOME
    is ``folder``); the stage's scratch folder (``io.SCRATCH``, beside an output outside
    the working directory) counts."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix != ".log" and (not p.name.startswith(".") or p.name == SCRATCH)
    )


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


# --- Workers that cannot compute the same bits are refused. --------------------------------

CPUINFO_AVX2 = "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma\n"  # abridged /proc/cpuinfo


@pytest.mark.parametrize(
    ("machine", "cpuinfo", "problem"),
    [
        ("x86_64", CPUINFO_AVX2, None),
        ("AMD64", CPUINFO_AVX2, None),
        ("aarch64", "Features\t: fp asimd\n", "its CPU is aarch64, not x86-64"),
        ("x86_64", "flags\t\t: fpu sse4_2 avx fma\n", "its CPU lacks AVX2"),
        ("x86_64", "flags\t\t: fpu avx2x\nbugs\t: avx2\n", "its CPU lacks AVX2"),
        ("x86_64", None, "its CPU's instruction sets cannot be read (/proc/cpuinfo)"),
    ],
)
def test_cpu_problem(machine, cpuinfo, problem) -> None:
    from lrstudy.executor import cpu_problem

    assert cpu_problem(machine, cpuinfo) == problem


def test_a_worker_with_other_software_is_refused() -> None:
    from lrstudy.executor import check_worker, software_identity

    mine = software_identity()
    assert check_worker(mine) is None  # this machine: x86-64 with AVX2 (the project's own)
    assert set(mine) >= {"keras", "numpy", "lrstudy source"}
    other = {**mine, "keras": "3.0.0", "lrstudy source": "0" * 16}
    problem = check_worker(other)
    assert problem.startswith("other software: keras 3.15.1 here, 3.0.0 in the stage, ")
    assert f"lrstudy source {mine['lrstudy source']} here, {'0' * 16} in the stage" in problem


class _FakeFuture:
    def __init__(self, key: str, outcome: object) -> None:
        self.key, self.outcome = key, outcome

    def result(self) -> object:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class _FakeClient:
    """The part of ``distributed.Client`` run_on_cluster uses; records what it was asked."""

    def __init__(self, answers: dict[str, str | None], outcomes: list[object]) -> None:
        self.answers, self.outcomes = answers, list(outcomes)
        self.submitted: list[_FakeFuture] = []
        self.cancelled: list[_FakeFuture] = []
        self.closed = False

    def run(self, function, *args):
        return self.answers

    def scatter(self, data, broadcast=False):
        return data

    def submit(self, task, *args, key, **kwargs):
        self.submitted.append(_FakeFuture(key, self.outcomes.pop(0)))
        return self.submitted[-1]

    def who_has(self, future):
        return {future.key: ("tcp://10.0.0.5:4000",)}

    def cancel(self, futures):
        self.cancelled += futures

    def close(self):
        self.closed = True


def _run_fake(monkeypatch, client: _FakeClient, chunks: int) -> list:
    from lrstudy.executor import run_on_cluster

    monkeypatch.setattr("distributed.Client", lambda *args, **kwargs: client)
    return list(run_on_cluster("tcp://10.0.0.1:8786", len, (), [[i] for i in range(chunks)], "t"))


def test_a_refused_worker_is_named_and_nothing_is_submitted(monkeypatch) -> None:
    from lrstudy.executor import ClusterError

    answers = {"tcp://10.0.0.5:4000": None, "tcp://10.0.0.7:4000": "its CPU lacks AVX2"}
    client = _FakeClient(answers, [])
    with pytest.raises(ClusterError) as raised:
        _run_fake(monkeypatch, client, 2)
    assert str(raised.value) == (
        "refusing Dask worker(s) that cannot compute lrstudy's bits: "
        "tcp://10.0.0.7:4000 (its CPU lacks AVX2)"
    )
    assert client.submitted == [] and client.closed


def test_ctrl_c_while_gathering_cancels_every_task_of_the_stage(monkeypatch) -> None:
    client = _FakeClient({"tcp://10.0.0.5:4000": None}, [[1], KeyboardInterrupt(), [1], [1]])
    with pytest.raises(KeyboardInterrupt):
        _run_fake(monkeypatch, client, 4)
    assert client.cancelled == client.submitted and len(client.submitted) == 4
    assert client.closed


def test_ctrl_c_while_submitting_cancels_the_tasks_already_sent(monkeypatch) -> None:
    client = _FakeClient({"tcp://10.0.0.5:4000": None}, [[1], [1], [1], [1]])
    submit = client.submit

    def interrupted(*args, **kwargs):  # Ctrl-C while the third chunk is being sent
        if len(client.submitted) == 2:
            raise KeyboardInterrupt
        return submit(*args, **kwargs)

    client.submit = interrupted
    with pytest.raises(KeyboardInterrupt):
        _run_fake(monkeypatch, client, 4)
    assert client.cancelled == client.submitted and len(client.submitted) == 2
    assert client.closed


def _waits_under(frame: Any, code: Any) -> bool:
    """Whether a thread's innermost ``frame`` blocks on a lock (``threading``'s
    ``waiter.acquire``) inside a call of ``code``."""
    if frame is None or frame.f_code.co_filename != threading.__file__:
        return False
    if "acquire(" not in linecache.getline(frame.f_code.co_filename, frame.f_lineno):
        return False
    while frame is not None and frame.f_code is not code:
        frame = frame.f_back
    return frame is not None


def _interrupt_when_waiting(started: Path, stop: threading.Event, seen: list[bool]) -> None:
    """SIGINT to the main thread once ``started`` exists and the main thread blocks in
    ``executor._result`` (every chunk submitted: the stage waits for its first result).

    Appends to ``seen`` whether that wait was seen; past the deadline it sends SIGINT
    anyway (``seen`` gets False), so a wait it cannot recognise fails the test at once
    instead of leaving it on the tasks' 600 s sleep."""
    from lrstudy.executor import _result

    main = threading.main_thread().ident
    deadline = time.monotonic() + 5 * STARTUP_SECONDS
    while not stop.wait(0.05):
        frame = sys._current_frames().get(main)
        waiting = started.exists() and _waits_under(frame, _result.__code__)
        if waiting or time.monotonic() > deadline:
            seen.append(waiting)
            signal.pthread_kill(main, signal.SIGINT)
            return


def _keys_once_dropped(client: Any) -> list[str]:
    """The scheduler's task keys as soon as there are none, else those left after a minute."""
    deadline = time.monotonic() + STARTUP_SECONDS
    keys = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
    while keys and time.monotonic() < deadline:
        time.sleep(0.2)
        keys = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
    return keys


@pytest.mark.slow
def test_ctrl_c_cancels_the_tasks_on_a_real_cluster(tmp_path, monkeypatch, cluster) -> None:
    """Ctrl-C while the stage waits for a running chunk: the cluster drops every task.

    Deterministic: SIGINT goes to the main thread only once a task runs (it writes a file)
    and the main thread blocks in ``_result`` (so every chunk is submitted and the signal
    interrupts the wait at once). The scheduler is asked before the stage's client closes:
    closing it releases its keys too, so a missing cancel would go unseen afterwards.
    """
    from distributed import Client

    from lrstudy.executor import run_on_cluster

    address, _ = cluster
    started = str(tmp_path / "started")

    def task(chunk: list[int]) -> list[int]:  # a local function: cloudpickle sends it by value
        import time
        from pathlib import Path

        if chunk == [0]:
            Path(started).touch()
        time.sleep(600)  # never finishes: the workers are killed after the test
        return chunk

    left_at_close: list[list[str]] = []
    close = Client.close

    def close_after_asking(self, *args, **kwargs):
        # The stage's client: the first running one to close on this cluster (a client an
        # earlier test left to the garbage collector may close here too, its loop gone).
        if not left_at_close and self.status == "running" and self.scheduler.address == address:
            left_at_close.append(_keys_once_dropped(self))
        return close(self, *args, **kwargs)

    monkeypatch.setattr(Client, "close", close_after_asking)
    # SIGINT must raise KeyboardInterrupt in this thread, as in a terminal. A Python started
    # with SIGINT ignored keeps ignoring it: a suite run as a background job of a
    # non-interactive shell (`make test &` in a script) did, and this test then waited on
    # the tasks' 600 s sleeps instead of failing or passing.
    assert threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    stop, seen = threading.Event(), []
    interrupter = threading.Thread(target=_interrupt_when_waiting, args=(Path(started), stop, seen))
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            list(run_on_cluster(address, task, (), [[i] for i in range(6)], "ctrl-c"))
    finally:
        stop.set()
        interrupter.join()
        signal.signal(signal.SIGINT, previous)
    assert seen == [True], "the stage's wait in executor._result was never seen"
    assert left_at_close == [[]]


@pytest.mark.slow
def test_a_worker_on_another_cpu_is_refused_by_its_address(tmp_path, cluster) -> None:
    """A third worker whose ``platform.machine()`` says aarch64 (patched by a preload)."""
    from lrstudy.executor import ClusterError, run_on_cluster

    address, processes = cluster
    preload = tmp_path / "arm_preload.py"
    preload.write_text("import platform\nplatform.machine = lambda: 'aarch64'\n")
    port = _free_port()
    worker = [address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--no-nanny"]
    worker += ["--worker-port", str(port), "--preload", str(preload)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    processes.append(_start(["worker", *worker], env, tmp_path / "worker-arm.log"))
    _wait_for_workers(address, 3)
    with pytest.raises(ClusterError) as raised:
        list(run_on_cluster(address, len, (), [[0], [1]], "refuse"))
    assert str(raised.value) == (
        "refusing Dask worker(s) that cannot compute lrstudy's bits: "
        f"tcp://127.0.0.1:{port} (its CPU is aarch64, not x86-64)"
    )
    # A worker that joins after the stage's check: each chunk checks its worker first.
    from distributed import Client

    from lrstudy.executor import checked_task, software_identity

    arm = f"tcp://127.0.0.1:{port}"
    with Client(address, timeout="30s", set_as_default=False) as client:
        future = client.submit(checked_task, software_identity(), len, [0], workers=[arm])
        with pytest.raises(ClusterError) as raised:
            future.result(timeout=60)
    assert str(raised.value) == (
        f"refusing Dask worker {arm} that cannot compute lrstudy's bits: "
        "its CPU is aarch64, not x86-64"
    )


def test_each_chunk_checks_its_worker_before_it_trains(monkeypatch) -> None:
    from lrstudy.executor import ClusterError, checked_task, software_identity

    expected = software_identity()
    assert checked_task(expected, len, [1, 2, 3]) == 3
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    with pytest.raises(ClusterError) as raised:
        checked_task(expected, len, [1, 2, 3])
    assert str(raised.value) == (
        "refusing Dask worker this process that cannot compute lrstudy's bits: "
        "its CPU is aarch64, not x86-64"
    )
