"""Re-derive every committed result from scratch and compare it with HEAD's: ``make recheck``.

``make repro`` on a fresh clone reruns only what ``dvc.lock`` says is missing: the sweep,
the LR range test and the comparison (``sweep/``, ``lr_find/``, ``reports/``, committed
with ``cache: false``) are present in the clone, so DVC skips them. This script clones HEAD
into a temporary folder outside the project (neither this checkout's git nor its DVC sees
it), runs ``dvc repro --force`` there with this venv's Python and the clone's own ``src/``
(every stage, each from its own inputs, with an empty DVC cache), then compares with what
HEAD commits:

- every output hash (md5) that ``dvc.lock`` records: data, models, logs, evaluations, and
  the committed folders;
- ``dvc.lock`` itself and every file under ``reports/``, ``sweep/`` and ``lr_find/``, byte
  for byte (a file missing from the rerun, or one it wrote that HEAD lacks, counts as a
  difference).

It prints one line per output and file (``same`` or what differs), then the verdict, and
exits 0 when everything matched and 1 otherwise. The temporary folder is removed at the
end, also on failure or Ctrl-C (``--keep`` keeps it to look into). Uncommitted changes of
this checkout are not part of the check: it is HEAD's results from HEAD's code and params.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_FOLDERS = ("reports", "sweep", "lr_find")
COMMITTED_FILES = ("dvc.lock",)
REPRODUCED = "recheck: REPRODUCED"
NOT_REPRODUCED = "recheck: NOT REPRODUCED"
LABELS = {"same": "same", "different": "DIFFERENT", "missing": "MISSING", "extra": "NEW"}


@dataclass
class Comparison:
    """Two {name: digest} mappings compared: names that match, differ, or are on one side."""

    what: str
    same: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # expected, not produced
    extra: list[str] = field(default_factory=list)  # produced, not expected

    @property
    def ok(self) -> bool:
        """Everything expected was produced identically, and nothing else."""
        return bool(self.same) and not (self.different or self.missing or self.extra)

    def lines(self) -> list[str]:
        """One line per name: ``same``, ``DIFFERENT``, ``MISSING`` (not produced) or ``NEW``."""
        return [
            f"  {LABELS[kind]:<9} {name}"
            for kind in ("different", "missing", "extra", "same")
            for name in getattr(self, kind)
        ]

    def summary(self) -> str:
        """``what: N of M same`` and the counts of what is not."""
        expected = len(self.same) + len(self.different) + len(self.missing)
        text = f"{self.what}: {len(self.same)} of {expected} same"
        problems = [
            f"{len(names)} {label}"
            for names, label in (
                (self.different, "different"),
                (self.missing, "missing"),
                (self.extra, "not committed"),
            )
            if names
        ]
        return text + (f" ({', '.join(problems)})" if problems else "")


def compare(what: str, expected: dict[str, str], actual: dict[str, str]) -> Comparison:
    """Compare two {name: digest} mappings, names sorted."""
    result = Comparison(what)
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            result.missing.append(name)
        elif name not in expected:
            result.extra.append(name)
        elif expected[name] == actual[name]:
            result.same.append(name)
        else:
            result.different.append(name)
    return result


def lock_outputs(text: str) -> dict[str, str]:
    """Every output ``dvc.lock`` records, path: md5 (a folder's ends in ``.dir``).

    Raises:
        ValueError: the text is not a dvc.lock with stages.
    """
    lock = yaml.safe_load(text)
    if not isinstance(lock, dict) or not isinstance(lock.get("stages"), dict):
        raise ValueError("not a dvc.lock: no 'stages' mapping")
    return {
        out["path"]: str(out.get("md5"))
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }


def file_digests(root: Path, folders=COMMITTED_FOLDERS, files=COMMITTED_FILES) -> dict[str, str]:
    """sha256 of ``files`` and of every file under ``folders`` (paths relative to ``root``)."""
    paths = [root / name for name in files if (root / name).is_file()]
    for folder in folders:
        paths += [path for path in (root / folder).rglob("*") if path.is_file()]
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(paths)
    }


def compare_results(expected: Path, actual: Path) -> list[Comparison]:
    """dvc.lock's output hashes, then the committed files, of two checkouts."""
    return [
        compare(
            "dvc.lock outputs (md5)",
            lock_outputs((expected / "dvc.lock").read_text(encoding="utf-8")),
            lock_outputs((actual / "dvc.lock").read_text(encoding="utf-8")),
        ),
        compare(
            f"files ({', '.join(COMMITTED_FILES)}, {'/, '.join(COMMITTED_FOLDERS)}/)",
            file_digests(expected),
            file_digests(actual),
        ),
    ]


def git(*args: str, cwd: Path = ROOT) -> str:
    """A git command's output (stripped); a failure stops the script with git's message."""
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"error: git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def rerun(clone: Path) -> int:
    """``dvc repro --force`` in the clone with this venv and the clone's code; its status."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(clone / "src")  # the clone's code, not the editable install's
    env["DVC_NO_ANALYTICS"] = "1"
    dvc = Path(sys.executable).parent / "dvc"
    return subprocess.run([str(dvc), "repro", "--force"], cwd=clone, env=env).returncode


def recheck(scratch: Path) -> int:
    """Clone HEAD into ``scratch``, rerun everything, compare, print; 0 when all matched."""
    head = git("rev-parse", "HEAD")
    subject = git("log", "-1", "--format=%s", head)
    print(f"recheck: HEAD {head[:12]} ({subject[:70]})", flush=True)
    if git("status", "--porcelain", "--untracked-files=no"):
        print("note: this checkout has uncommitted changes; they are not part of the check")
    clone, expected = scratch / "lrstudy", scratch / "committed"
    git("clone", "--quiet", "--no-checkout", str(ROOT), str(clone), cwd=scratch)
    git("checkout", "--quiet", "--detach", head, cwd=clone)
    # HEAD's results, kept aside before the rerun overwrites them in the clone.
    expected.mkdir()
    for name in COMMITTED_FILES:
        shutil.copy2(clone / name, expected / name)
    for folder in COMMITTED_FOLDERS:
        if (clone / folder).exists():
            shutil.copytree(clone / folder, expected / folder)
    print(f"running `dvc repro --force` in {clone} (about 10 minutes on 2 cores)", flush=True)
    started = time.perf_counter()
    status = rerun(clone)
    minutes = (time.perf_counter() - started) / 60
    if status != 0:
        print(f"\nrecheck: FAILED: `dvc repro --force` exited {status} (output above)")
        return 1
    comparisons = compare_results(expected, clone)
    print(f"\n`dvc repro --force` took {minutes:.1f} min. Compared with HEAD {head[:12]}:")
    for comparison in comparisons:
        print(comparison.summary())
        print("\n".join(comparison.lines()))
    if all(comparison.ok for comparison in comparisons):
        print(f"{REPRODUCED}: every committed result came out byte-identical")
        return 0
    print(f"{NOT_REPRODUCED}: " + "; ".join(c.summary() for c in comparisons if not c.ok))
    return 1


def main() -> None:
    """Run the recheck in a temporary folder and exit with its status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lrstudy-recheck-"))
    status = 1
    try:
        status = recheck(scratch)
    except KeyboardInterrupt:
        print("\nrecheck: interrupted", file=sys.stderr)
        status = 130
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
