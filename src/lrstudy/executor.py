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

import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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


def check_worker() -> str | None:
    """Why this machine cannot compute lrstudy's bits (not x86-64, no AVX2), or ``None``.

    Runs on every worker (``Client.run``). The pinned runtime caps oneDNN at AVX2, which
    gives the same floats on every x86-64 CPU that has it; no pin can make another CPU
    compute them.
    """
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"its CPU is {machine}, not x86-64"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "its CPU's instruction sets cannot be read (/proc/cpuinfo)"
    if " avx2" not in flags:
        return "its CPU lacks AVX2"
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

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    futures: list[Any] = []
    try:
        _refuse_bad_workers(client)
        data = client.scatter(list(shared), broadcast=False)
        futures = [
            client.submit(task, *data, list(chunk), pure=False, key=f"{label}-chunk-{i}")
            for i, chunk in enumerate(chunks)
        ]
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


def _result(future: Any, address: str) -> Any:
    """A future's result; a lost scheduler as ``ClusterError``."""
    from distributed.client import FutureCancelledError

    try:
        return future.result()
    except (OSError, FutureCancelledError) as error:
        raise ClusterError(f"lost the Dask scheduler at {address}: {error}") from None


def _refuse_bad_workers(client: Any) -> None:
    """Raise ``ClusterError`` naming every worker whose CPU cannot compute the same bits."""
    problems = {worker: why for worker, why in client.run(check_worker).items() if why}
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
    for chunk, results in zip(
        chunks, run_on_cluster(address, task, shared, chunks, "training"), strict=True
    ):
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
