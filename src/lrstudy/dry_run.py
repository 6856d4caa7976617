"""``make dry-run``: which stages ``dvc repro`` (or ``dvc exp run -S ...``) would run, and why.

DVC's own dry runs do not work here: ``dvc repro --dry`` stops at the first stage whose
input another stage would produce and that is missing (every cached output of a fresh
clone: treeverse/dvc#9021, #9818, ``--allow-missing`` included), and ``dvc exp run --dry``
always does, at the ``validate`` stage's marker. This module asks DVC what it knows
without running anything (``Repo.status``: changed dependencies and parameters, missing
outputs; the stage graph), applies ``-S key=value`` to a copy of params.yaml in memory
(the file is not touched) and checks that copy as ``validate`` would (schema and cost
limits), then lists every stage that would run, in run order, with its reason:

* DVC reports it changed (a dependency, a parameter, a missing output, its command);
* a parameter it reads differs under ``-S``;
* a stage it depends on would run (and could change its output: ``validate`` never does,
  its marker being constant, so nothing reruns for ``validate`` alone);
* it is new: ``-S settings.<name>.lr=...`` adds a setting, hence a stage.

A stage whose inputs come out byte-identical after its upstream reran is skipped by DVC
but listed here: the list is what may run, never less.

    python -m lrstudy.dry_run [-S key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from lrstudy.config import ConfigError, parse_config, parse_params_text, read_params
from lrstudy.cost import limit_problems, study_cost

# The stage whose output never changes (src/lrstudy/stages/validate.py's marker).
CONSTANT_OUTPUT = {"validate"}
MISSING = object()


def set_params(params: Any, assignments: Sequence[str]) -> tuple[dict, dict[str, Any]]:
    """A copy of ``params`` with each assignment applied, as ``dvc exp run -S`` does.

    ``key.path=value`` sets (values read as YAML: ``1e-3`` a number, ``[20, 20]`` a list),
    ``+key.path=value`` too (DVC's spelling for a new key), ``~key.path`` removes. Returns
    the copy and ``{key path: value}`` (``MISSING`` for a removed key).

    Raises:
        ConfigError: an assignment without ``=`` or with an empty key, or a key below a
            value that is not a mapping.
    """
    import copy

    new = copy.deepcopy(dict(params))
    changes: dict[str, Any] = {}
    for assignment in assignments:
        remove = assignment.startswith("~")
        key, sep, text = assignment.lstrip("~+").partition("=")
        if not key or remove == bool(sep):
            raise ConfigError(
                [f"-S {assignment!r}: expected key.path=value, +key.path=value or ~key.path"],
                "command line",
            )
        node = new
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError([f"-S {key}: a key below a value that is not a mapping"], "-S")
        if remove:
            node.pop(leaf, None)
            changes[key] = MISSING
        else:
            node[leaf] = parse_params_text(text, f"-S {key}") if text.strip() else None
            changes[key] = node[leaf]
    return new, changes


def value_at(params: Any, key: str) -> Any:
    """The value at dotted ``key`` of ``params``, or ``MISSING``."""
    node = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def _describe_status(entries: list[Any]) -> str:
    """DVC's status of one stage in a few words: which inputs changed, which outputs are gone.

    Source files are counted (a code change touches many stages alike); other paths and
    parameters are named, at most two of a kind.
    """
    kinds: dict[str, list[str]] = {}
    for entry in entries:
        if isinstance(entry, str):  # "changed command", "always changed"
            kinds.setdefault(entry, [])
            continue
        for kind, changes in entry.items():
            for path, how in changes.items():
                if isinstance(how, Mapping):  # params: {file: {key: "modified"}}
                    kinds.setdefault("params changed", []).extend(how)
                    continue
                gone = how in ("deleted", "not in cache")
                side = "outputs" if "outs" in kind else "inputs"
                if side == "inputs" and path.startswith("src/"):
                    label = "source files changed"
                else:
                    label = f"{side} {'missing' if gone else how}"
                kinds.setdefault(label, []).append(path)
    return "; ".join(_listed(label, paths) for label, paths in kinds.items())


def _listed(label: str, paths: list[str]) -> str:
    """``label: a, b and 3 more``; a count alone for source files."""
    if not paths:
        return label
    if label == "source files changed":
        return f"{len(paths)} {label}"
    more = f" and {len(paths) - 2} more" if len(paths) > 2 else ""
    return f"{label}: {', '.join(paths[:2])}{more}"


def _params_reasons(stage: Any, old: Any, new: Any) -> list[str]:
    """``key: old -> new`` for every parameter of ``stage`` whose value differs in ``new``."""
    from dvc.dependency.param import ParamsDependency

    reasons = []
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            for key in dep.params:
                before, after = value_at(old, key), value_at(new, key)
                if before != after:
                    reasons.append(f"{key} changed by -S")
    return reasons


def plan(repo: Any, old: Any, new: Any, changes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[(stage, reason)]`` of every stage that would run, in run order (see the module)."""
    import networkx as nx

    stages = list(repo.index.stages)
    order = {stage: index for index, stage in enumerate(stages)}
    status = repo.status()
    graph = repo.index.graph  # an edge from each stage to each stage it depends on
    reasons: dict[Any, str] = {}
    for stage in nx.lexicographical_topological_sort(graph.reverse(), key=order.get):
        name = stage.addressing
        if name in status:
            reasons[stage] = _describe_status(status[name])
        elif changes and name in CONSTANT_OUTPUT:
            reasons[stage] = "params.yaml changed (its output never changes)"
        elif found := _params_reasons(stage, old, new):
            reasons[stage] = ", ".join(dict.fromkeys(found))
        elif upstream := [
            up.addressing
            for up in graph.successors(stage)
            if up in reasons and up.addressing not in CONSTANT_OUTPUT
        ]:
            reasons[stage] = "after " + ", ".join(sorted(upstream))
    planned = [(stage.addressing, reason) for stage, reason in reasons.items()]
    added = [(name, "new setting") for name in _new_settings(old, new)]
    names = [name for name, _ in planned]
    at = names.index("compare") if "compare" in names else len(planned)  # compare reads all
    return planned[:at] + added + planned[at:]


def _new_settings(old: Any, new: Any) -> list[str]:
    """``train@<name>`` or ``train_suggested@<name>`` for settings ``new`` adds."""
    added = []
    for section, stage in (("settings", "train"), ("suggested", "train_suggested")):
        before, after = old.get(section) or {}, new.get(section) or {}
        added += [f"{stage}@{name}" for name in after if name not in before]
    return added


def main(argv: Sequence[str] | None = None) -> int:
    """Print the plan; exit 2 (lrstudy's one-line messages) if the params would be refused."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-S", "--set-param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        old = read_params(args.params)
        new, changes = set_params(old, args.set_param)
        config = parse_config(new, args.params)
        if problems := limit_problems(config, study_cost(config)):
            raise ConfigError(problems, args.params)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from dvc.repo import Repo

    with Repo(".") as repo:
        planned = plan(repo, old, new, changes)
    if not planned:
        print("dry run: nothing would run; every stage is up to date")
        return 0
    print(f"dry run: {len(planned)} stages would run, in this order (nothing ran):")
    width = max(len(name) for name, _ in planned)
    for name, reason in planned:
        print(f"  {name:<{width}}  {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
