"""Where population chunks train: in this process, or on a Dask distributed cluster.

The cluster is used when Dask's own configuration names a scheduler: the environment
variable ``DASK_SCHEDULER_ADDRESS`` or the key ``scheduler-address`` in the user's Dask
config files (``~/.config/dask/*.yaml``, ``$DASK_CONFIG``, ``/etc/dask``; Dask's
documented search path). Nothing of Dask is imported otherwise: ``scheduler_address``
reads the environment and looks for the key's text in those files before it asks
``dask.config``.

On a cluster, the chunks are exactly those the in-process loop trains
(``lrstudy.training.train_population``: ``population.chunk_size`` members at a time, the
budget ``population.CHUNK_BYTES`` over ``population.member_bytes``), because a
population's floats depend on its size (only float-tolerance-equal across sizes): a chunk
gives the same bytes wherever it runs. Each task rebuilds the population on its worker
(TensorFlow imported through ``lrstudy.runtime.import_keras``, which pins oneDNN, threads,
the backend and the gradients whatever the worker's environment says), trains the chunk
without the caller's callbacks, and returns its ``TrainingResult``s; the caller's
callbacks (DVCLive loggers, which only record) then see every member's epochs replayed
in order here. Callbacks that change training (``ReduceLROnPlateau``) come from the rate
plan and run on the worker, inside the chunk, as in process.

Faults: a worker lost mid-task makes Dask rerun the chunk elsewhere (the same bytes); a
scheduler that cannot be reached, or is lost, raises ``ClusterError`` naming its address
before anything is written; Ctrl-C cancels the stage's tasks on the cluster.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

CONNECT_TIMEOUT = "10s"  # how long the client waits for the scheduler before it gives up
CONFIG_KEYS = ("scheduler-address", "scheduler_address")


class ClusterError(RuntimeError):
    """The Dask scheduler could not be reached or was lost, or a worker cannot compute."""


def _config_dirs() -> list[Path]:
    """Dask's config search path (``dask.config.paths`` and ``DASK_CONFIG``)."""
    dirs = [Path("/etc/dask"), Path(sys.prefix) / "etc" / "dask", Path.home() / ".config/dask"]
    for variable in ("DASK_ROOT_CONFIG", "DASK_CONFIG"):
        if os.environ.get(variable):
            dirs.append(Path(os.environ[variable]))
    return dirs


def _config_mentions_scheduler() -> bool:
    """Whether any Dask config file holds a scheduler-address key (a cheap text scan)."""
    for directory in _config_dirs():
        files = [directory] if directory.is_file() else sorted(directory.glob("*.y*ml"))
        for path in files:
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            if any(key in text for key in CONFIG_KEYS):
                return True
    return False


def scheduler_address() -> str | None:
    """The scheduler Dask's configuration names, or ``None`` (train in process)."""
    if os.environ.get("DASK_SCHEDULER_ADDRESS"):
        return os.environ["DASK_SCHEDULER_ADDRESS"]
    if not _config_mentions_scheduler():
        return None
    import dask.config

    return dask.config.get("scheduler-address", None) or None


# The packages whose versions decide a worker's floats besides lrstudy's own source
# (distribution names as pip knows them; requirements.lock pins them).
NUMERIC_PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy")


def software_identity() -> dict[str, str]:
    """What a worker must share with the stage's process to compute the same bits.

    The versions of ``NUMERIC_PACKAGES`` installed here (from their metadata: nothing is
    imported) and a SHA-256 of lrstudy's own source files (``lrstudy/**/*.py``, path and
    bytes, in path order): a worker importing another checkout of lrstudy, or another
    TensorFlow, would train other floats.
    """
    import hashlib
    from importlib import metadata

    identity = {}
    for name in NUMERIC_PACKAGES:
        try:
            identity[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    identity["lrstudy source"] = digest.hexdigest()[:16]
    return identity


def cpu_problem(machine: str, cpuinfo: str | None) -> str | None:
    """Why a CPU cannot compute lrstudy's bits (not x86-64, no AVX2), or ``None``.

    The pinned runtime caps oneDNN at AVX2, which gives the same floats on every x86-64
    CPU that has it; no pin can make another CPU compute them.

    Args:
        machine: ``platform.machine()`` of the worker's machine.
        cpuinfo: the text of its ``/proc/cpuinfo``, ``None`` where it cannot be read.
    """
    machine = machine.lower()
    if machine not in ("x86_64", "amd64"):
        return f"its CPU is {machine}, not x86-64"
    if cpuinfo is None:
        return "its CPU's instruction sets cannot be read (/proc/cpuinfo)"
    lines = cpuinfo.splitlines()
    if not any(
        "avx2" in line.partition(":")[2].split() for line in lines if line.startswith("flags")
    ):
        return "its CPU lacks AVX2"
    return None


def check_worker(expected: dict[str, str]) -> str | None:
    """Why this worker cannot compute the stage's bits, or ``None``; runs on every worker.

    Refused: a CPU ``cpu_problem`` names; software other than ``expected`` (the stage
    process's ``software_identity``); a TensorFlow already imported in the worker before
    lrstudy pinned it (oneDNN reads its instruction-set cap once, at import). A worker
    started without lrstudy's environment variables is fine: the task imports TensorFlow
    through ``runtime.import_keras``, which sets them first. (NumPy's AVX2 cap,
    ``runtime.pin_numpy``, cannot take effect there: ``distributed`` imports NumPy before
    any task runs. The task's NumPy only copies, permutes and stacks arrays, which no SIMD
    width changes; the rates and the data come computed from the stage's process.)
    """
    try:
        cpuinfo: str | None = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = None
    problem = cpu_problem(platform.machine(), cpuinfo)
    if problem is not None:
        return problem
    mine = software_identity()
    differ = [
        f"{k} {mine.get(k, 'missing')} here, {v} in the stage"
        for k, v in sorted(expected.items())
        if mine.get(k) != v
    ]
    if differ:
        return "other software: " + ", ".join(differ) + " (the same commit and `make venv`)"
    from lrstudy.runtime import ARITHMETIC_ENVIRONMENT

    pinned = all(os.environ.get(k) == v for k, v in ARITHMETIC_ENVIRONMENT.items())
    if "tensorflow" in sys.modules and not pinned:
        return "TensorFlow was imported on it before lrstudy could pin it (restart the worker)"
    return None


class Progress:
    """Chunks done of a total, models per second, and where they ran.

    On a terminal one line is rewritten in place; otherwise one line per chunk.
    """

    def __init__(self, label: str, chunks: int, models: int, stream: Any = None) -> None:
        self.label, self.total, self.models = label, chunks, models
        self.stream = stream or sys.stderr
        self.done = self.trained = 0
        self.start = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def chunk_done(self, size: int, where: str = "this process") -> None:
        """Count a chunk of ``size`` members done (on ``where``) and show the progress."""
        self.done += 1
        self.trained += size
        rate = self.trained / max(time.monotonic() - self.start, 1e-9)
        line = (
            f"{self.label}: chunk {self.done}/{self.total} done "
            f"({self.trained}/{self.models} models, {rate:.1f} models/s, on {where})"
        )
        if self.tty:
            end = "\n" if self.done == self.total else ""
            print(f"\r{line}\x1b[K", end=end, file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)


def run_on_cluster(
    address: str,
    task: Callable[..., list[Any]],
    shared: Sequence[Any],
    chunks: Sequence[Sequence[Any]],
    label: str,
) -> Iterator[list[Any]]:
    """Run ``task(*shared, chunk)`` for each chunk on the cluster at ``address``, in order.

    Yields each chunk's result in chunk order as it arrives. Prints where it ran and how
    many workers took part.

    Raises:
        ClusterError: the scheduler is unreachable or lost, or a worker fails
            ``check_worker`` (the message names it).
    """
    from distributed import Client

    # The client logs each failed reconnect to a lost scheduler with a traceback; the
    # stage says it in one line (ClusterError) instead.
    client_log = logging.getLogger("distributed.client")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as error:
        client_log.setLevel(level)
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    futures: list[Any] = []
    try:
        expected = software_identity()
        _refuse_bad_workers(client, expected)
        data = client.scatter(list(shared), broadcast=False) if shared else []
        for i, chunk in enumerate(chunks):  # one by one: Ctrl-C mid-way cancels those sent
            futures.append(
                client.submit(
                    checked_task,
                    expected,
                    task,
                    *data,
                    list(chunk),
                    pure=False,
                    key=f"{label}-chunk-{i}",
                )
            )
        workers: set[str] = set()
        progress = Progress(label, len(chunks), sum(len(c) for c in chunks))
        for chunk, future in zip(chunks, futures, strict=True):
            result = _result(future, address)
            where = client.who_has(future).get(future.key, ())
            workers.update(where)
            progress.chunk_done(len(chunk), ", ".join(where) or "the cluster")
            yield result
        print(f"{label}: trained on the Dask cluster at {address}, {len(workers)} worker(s)")
    finally:
        if futures:
            client.cancel(futures)  # Ctrl-C or a failure: the cluster stops this stage's tasks
        client.close()
        client_log.setLevel(level)


def _result(future: Any, address: str) -> Any:
    """A future's result; a lost scheduler as ``ClusterError``."""
    from distributed.client import FutureCancelledError

    try:
        return future.result()
    except (OSError, FutureCancelledError) as error:
        reason = next(iter(str(error).splitlines()), "") or type(error).__name__
        raise ClusterError(f"lost the Dask scheduler at {address}: {reason}") from None


def checked_task(expected: dict[str, str], task: Callable[..., Any], *args: Any) -> Any:
    """``task(*args)`` on a worker that passes ``check_worker``; else ``ClusterError``.

    The stage checks every worker before it sends anything (``_refuse_bad_workers``); a
    worker that joins later (a scaled-up Slurm job, a restarted worker) is checked here,
    by each chunk before it trains. Dask does not retry a task that raised: the stage
    stops with the message, naming the worker.
    """
    problem = check_worker(expected)
    if problem is not None:
        try:
            from distributed import get_worker

            name = get_worker().address
        except (ImportError, ValueError):  # called outside a worker (tests)
            name = "this process"
        raise ClusterError(
            f"refusing Dask worker {name} that cannot compute lrstudy's bits: {problem}"
        )
    return task(*args)


def _refuse_bad_workers(client: Any, expected: dict[str, str]) -> None:
    """Raise ``ClusterError`` naming every worker that cannot compute the same bits."""
    answers = client.run(check_worker, expected)
    problems = {worker: why for worker, why in answers.items() if why}
    if problems:
        raise ClusterError(
            "refusing Dask worker(s) that cannot compute lrstudy's bits: "
            + "; ".join(f"{worker} ({why})" for worker, why in sorted(problems.items()))
        )


def train_on_cluster(
    address: str,
    task: Callable[..., list[Any]],
    shared: Sequence[Any],
    members: Sequence[Any],
    size: int,
    callbacks: Callable[[int], Sequence[Any]],
    check: Callable[[Sequence[Any], type], None],
) -> Iterator[Any]:
    """Train ``members`` on the cluster in chunks of ``size``; yield their results in order.

    ``size`` is the in-process loop's (``training.train_population``), so every chunk
    gives the same bytes wherever it runs. ``task(*shared, chunk)`` trains one chunk on a
    worker (``training.cluster_chunk``). ``callbacks(member index)`` (checked by ``check``,
    ``training.reject_fit_only_callbacks``) see each member's epochs replayed here, in
    member order, as its chunk arrives.
    """
    chunks = [list(members[s : s + size]) for s in range(0, len(members), size)]
    start = 0
    # closing: an exception here (Ctrl-C while replaying) cancels the tasks at once.
    with closing(run_on_cluster(address, task, shared, chunks, "training")) as arriving:
        for chunk, results in zip(chunks, arriving, strict=True):
            for index, result in enumerate(results):
                _replay(result, list(callbacks(start + index)), check)
                yield result
            start += len(chunk)


class _Recorded:
    """The model a replayed member's callbacks see: its optimizer's rate, no more."""

    def __init__(self, rate: float) -> None:
        self.optimizer = type("Optimizer", (), {"learning_rate": rate})()
        self.stop_training = False


def _replay(
    result: Any, callbacks: list[Any], check: Callable[[Sequence[Any], type], None]
) -> None:
    """Show a remotely trained member's epochs to its recording callbacks, as training did."""
    if not callbacks:
        return
    from lrstudy.runtime import import_keras

    keras = import_keras()
    check(callbacks, keras.callbacks.Callback)
    callback_list = keras.callbacks.CallbackList(callbacks, model=_Recorded(result.plan.lr))
    callback_list.on_train_begin()
    history = result.history
    for epoch in range(len(history["loss"])):
        callback_list.on_epoch_begin(epoch)
        callback_list.on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})
    callback_list.on_train_end()
