"""`make dag`: the pipeline's stages as a short list, from `dvc dag --dot` on stdin.

`dvc dag` draws every `train@<setting>` stage side by side (1,762 columns for 41 settings).
This prints one line per stage in run order, a foreach stage's items as one line
(`train@… (13)`), each with the stages it needs directly (the transitive reduction:
`validate` -> `compare` is left out when `compare` needs `split`, which needs `validate`).

    .venv/bin/dvc dag --dot | python .ci/dag.py
"""

from __future__ import annotations

import re
import sys

EDGE = re.compile(r'^"([^"]+)" -> "([^"]+)";$')
NODE = re.compile(r'^"([^"]+)";$')


def group(stage: str) -> str:
    """``train@lr_small`` -> ``train@…``; a stage without ``@`` is its own group."""
    return stage.split("@", 1)[0] + "@…" if "@" in stage else stage


def parse(dot: str) -> tuple[list[str], set[tuple[str, str]], dict[str, int]]:
    """(groups in first-seen order, edges between groups, stages per group) of the dot text."""
    order: dict[str, int] = {}
    counts: dict[str, int] = {}
    edges: set[tuple[str, str]] = set()
    for line in dot.splitlines():
        line = line.strip()
        if (node := NODE.match(line)) is not None:
            name = group(node[1])
            order.setdefault(name, len(order))
            counts[name] = counts.get(name, 0) + 1
        elif (edge := EDGE.match(line)) is not None:
            edges.add((group(edge[1]), group(edge[2])))
    return sorted(order, key=order.get), edges, counts


def reachable(start: str, edges: set[tuple[str, str]], skip: tuple[str, str]) -> set[str]:
    """Groups reachable from ``start`` along ``edges`` without the edge ``skip``."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for u, v in edges:
            if u == node and (u, v) != skip and v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def lines(dot: str) -> list[str]:
    """The list `make dag` prints: stages in run order, each with what it needs directly."""
    names, edges, counts = parse(dot)
    direct = {(u, v) for u, v in edges if v not in reachable(u, edges, (u, v))}
    done: list[str] = []
    while len(done) < len(names):  # Kahn's algorithm, ties in dvc's own order
        ready = next(
            n for n in names if n not in done and all(u in done for u, v in edges if v == n)
        )
        done.append(ready)
    label = {n: f"{n} ({counts[n]})" if n.endswith("@…") else n for n in names}
    width = max(len(text) for text in label.values())
    out = ["stages in run order, each <- the stages it needs directly:"]
    for name in done:
        needs = ", ".join(label[u] for u in done if (u, name) in direct)
        out.append(f"  {label[name]:<{width}}  <- {needs}" if needs else f"  {label[name]}")
    out.append("every stage: dvc dag --mermaid (GitHub renders it), or dvc dag --dot")
    return out


if __name__ == "__main__":
    print("\n".join(lines(sys.stdin.read())))
