from __future__ import annotations

import pytest

from lrstudy.io import (
    atomic_directory,
    atomic_path,
    read_json,
    remove_folders_except,
    write_json,
    write_text,
)


def test_atomic_path_leaves_old_file_on_failure(tmp_path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_write_text_and_json(tmp_path) -> None:
    write_text(tmp_path / "a" / "b.txt", "hello")
    assert (tmp_path / "a" / "b.txt").read_text() == "hello"
    write_json(tmp_path / "m.json", {"x": 1.5, "nan": None})
    assert read_json(tmp_path / "m.json") == {"x": 1.5, "nan": None}
    assert (tmp_path / "m.json").read_text().endswith("}\n")
    assert oct((tmp_path / "m.json").stat().st_mode & 0o777) == "0o644"


def test_atomic_directory_swaps_whole_folder(tmp_path) -> None:
    target = tmp_path / "models"
    target.mkdir()
    (target / "stale.keras").write_text("old")
    with atomic_directory(target) as staging:
        (staging / "new.keras").write_text("new")
        assert (target / "stale.keras").exists()  # untouched until the block succeeds
    assert sorted(p.name for p in target.iterdir()) == ["new.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def test_atomic_directory_keeps_old_folder_on_failure(tmp_path) -> None:
    target = tmp_path / "models"
    target.mkdir()
    (target / "seed_0.keras").write_text("old")
    with pytest.raises(ValueError), atomic_directory(target) as staging:
        (staging / "seed_0.keras").write_text("half")
        raise ValueError("training failed")
    assert (target / "seed_0.keras").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def _dead_pid() -> int:
    """The id of a process that has ended."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temporaries_live_in_the_scratch_folder_not_beside_the_target(
    tmp_path, monkeypatch
) -> None:
    from lrstudy.io import SCRATCH

    monkeypatch.chdir(tmp_path)
    seen = []
    with atomic_directory(tmp_path / "models" / "lr_medium") as staging:
        seen.append(staging.parent)
        with atomic_path(staging / "seed_0.keras") as temporary:
            seen.append(temporary.parent)
            temporary.write_text("model")
    assert seen == [tmp_path / SCRATCH, tmp_path / SCRATCH]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["lr_medium"]
    assert not (tmp_path / SCRATCH).exists()  # removed once empty


def test_leftovers_of_ended_processes_are_removed_others_kept(tmp_path, monkeypatch) -> None:
    import os

    from lrstudy.io import SCRATCH

    monkeypatch.chdir(tmp_path)
    scratch = tmp_path / SCRATCH
    dead = scratch / f"{_dead_pid()}.lr_medium.abc123"
    (dead / "seed_0").mkdir(parents=True)
    (dead / "seed_0" / "half.keras").write_text("half")
    dead_file = scratch / f"{_dead_pid()}.metrics.json.xyz.json"
    dead_file.write_text("{")
    alive = scratch / f"{os.getppid()}.lr_large.def456"  # a running process: kept
    alive.mkdir()
    write_text(tmp_path / "reports" / "summary.md", "ok")
    assert sorted(p.name for p in scratch.iterdir()) == [alive.name]
    assert (tmp_path / "reports" / "summary.md").read_text() == "ok"


def test_remove_folders_except_keeps_listed_hidden_and_files(tmp_path) -> None:
    for name in ("kept", "gone", "also_gone", ".half_built"):
        (tmp_path / name / "inner").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    removed = remove_folders_except(tmp_path, ["kept", "absent"])
    assert removed == [tmp_path / "also_gone", tmp_path / "gone"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [".half_built", "kept", "notes.txt"]
    assert remove_folders_except(tmp_path / "missing", []) == []
