"""File helpers shared by the stages: atomic writes of files, JSON and whole folders.

Nothing is ever half-written: every file and whole output folder is built in a scratch
folder, ``.lrstudy-tmp/`` at the root of the project (the working directory DVC runs the
stages in), and renamed into place only when complete. The scratch folder is on the same
file system as the outputs (so the rename is atomic), git-ignored and DVC-ignored, and it
is no dependency of any stage: a run killed half-way (``kill -9``, a power cut) leaves its
half-built files there, where no dependency hash and no ``git status`` can see them. The
next stage to write anything removes the leftovers of every process that is no longer
running.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SCRATCH = ".lrstudy-tmp"


def scratch_folder(target: str | Path) -> Path:
    """Where the temporary copy of ``target`` is built.

    ``<cwd>/.lrstudy-tmp`` for a target inside the working directory (every stage output),
    else ``.lrstudy-tmp`` beside the target (same file system either way, so the final
    rename is atomic). Leftovers of processes that have ended are removed first.
    """
    target = Path(target).absolute()
    root = Path.cwd()
    folder = root / SCRATCH if target.is_relative_to(root) else target.parent / SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale(folder)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale(folder: Path) -> list[Path]:
    """Remove the entries of a scratch folder whose process (the name's prefix) has ended.

    Returns:
        The entries removed.
    """
    removed = []
    for entry in folder.iterdir():
        pid = entry.name.split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _tidy(folder: Path) -> None:
    """Remove the scratch folder once it is empty (another process may still use it)."""
    with suppress(OSError):
        folder.rmdir()


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary file path in the scratch folder; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = scratch_folder(target)
    handle, name = tempfile.mkstemp(
        prefix=f"{os.getpid()}.{target.name}.", suffix=target.suffix, dir=folder
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o644)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
        _tidy(folder)


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty folder in the scratch folder; swap it in for ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = scratch_folder(target)
    staging = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}.{target.name}.", dir=folder))
    try:
        yield staging
        staging.chmod(0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}.{target.name}.old.", dir=folder))
            os.replace(target, old / target.name)
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        _tidy(folder)


def remove_folders_except(root: str | Path, keep: Iterable[str]) -> list[Path]:
    """Delete every subfolder of ``root`` whose name is not in ``keep``; return them, sorted.

    Hidden folders (names starting with ``.``, no setting's) and plain files are left
    alone; a missing ``root`` holds nothing to delete.
    """
    root, kept = Path(root), set(keep)
    if not root.is_dir():
        return []
    doomed = sorted(
        path
        for path in root.iterdir()
        if path.is_dir() and not path.is_symlink() and not path.name.startswith(".")
        if path.name not in kept
    )
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: str | Path, payload: Any) -> None:
    """Write JSON atomically, indented and with a trailing newline."""
    write_text(path, json.dumps(payload, indent=2) + "\n")


def write_csv(path: str | Path, frame: pd.DataFrame, float_format: str | None = None) -> None:
    """Write a frame as CSV atomically: no index column, LF line ends on every platform.

    ``float_format`` (a printf format such as ``"%.6g"``) rounds floats; ``None`` writes
    them as pandas does by default (the shortest text that reads back exactly).
    """
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, float_format=float_format, lineterminator="\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
