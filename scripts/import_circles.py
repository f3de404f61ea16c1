"""Import circles among a Rust crate's modules (docs/decisions/0009-layers.md).

Reads every `crate::a::b` and `super::x` path in a crate's sources (test modules left out), maps
each to the deepest module it names, and prints the strongly connected components of more than
one module: the circles. `--without org` leaves a module out first (the emulator's composition
root may import every feature).

    python scripts/import_circles.py rust/emulator/src --without org
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

PATH = re.compile(r"\b(crate|super)::((?:\w+::)*\w+)")
GROUP = re.compile(r"\b(crate|super)::((?:\w+::)*)\{([^}]*)\}")


def modules(src: Path) -> dict[str, Path]:
    """Each module's path (`bulk::ingest`) and its file."""
    found = {}
    for file in src.rglob("*.rs"):
        parts = list(file.relative_to(src).with_suffix("").parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts.pop()
        found["::".join(parts)] = file
    return found


def edges(src: Path) -> dict[str, set[str]]:
    """Module -> the modules its paths name."""
    known = modules(src)

    def deepest(path: list[str]) -> str | None:
        best = None
        for i in range(1, len(path) + 1):
            if "::".join(path[:i]) in known:
                best = "::".join(path[:i])
        return best

    graph: dict[str, set[str]] = defaultdict(set)
    for name, file in known.items():
        text = file.read_text()
        cut = text.find("#[cfg(test)]\nmod tests")
        if cut >= 0:
            text = text[:cut]
        here = name.split("::") if name else []
        # A file's `super` is its parent module; a `mod.rs` file is the module itself.
        parent = here[:-1]

        def resolve(root: str, rest: list[str], parent: list[str] = parent) -> str | None:
            return deepest(([] if root == "crate" else parent) + rest)

        targets = [resolve(m[1], m[2].split("::")) for m in PATH.finditer(text)]
        for m in GROUP.finditer(text):
            prefix = [p for p in m[2].split("::") if p]
            for item in m[3].split(","):
                item = item.strip().split(" as ")[0]
                if item and item != "self":
                    targets.append(resolve(m[1], prefix + item.split("::")))
                elif item == "self":
                    targets.append(resolve(m[1], prefix))
        graph[name].update(t for t in targets if t and t != name)
    for name in known:
        graph.setdefault(name, set())
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="a crate's src directory")
    parser.add_argument("--without", default="", help="modules to leave out, comma-separated")
    args = parser.parse_args(argv)
    graph = edges(args.src)
    for left_out in filter(None, args.without.split(",")):
        graph.pop(left_out, None)
        for targets in graph.values():
            targets.discard(left_out)
    found = circles(graph)
    for component in found:
        print(f"{len(component)}: {' '.join(component)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
