"""File helpers shared by the stages: atomic writes of files, JSON and whole folders.

Nothing is ever half-written: every file is written beside its target and renamed into
place, and whole output folders are built aside and swapped in.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o644)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; swap it in for ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def remove_folders_except(root: str | Path, keep: Iterable[str]) -> list[Path]:
    """Delete every subfolder of ``root`` whose name is not in ``keep``; return them, sorted.

    Folders whose names start with ``.`` (another stage's half-built output, see
    :func:`atomic_directory`) and plain files are left alone; a missing ``root`` holds
    nothing to delete.
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


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
