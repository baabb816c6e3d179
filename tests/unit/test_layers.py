"""The code's layers: no import cycle anywhere, and ``shared`` never imports ``services``.

Every import counts, those inside functions too (a function-level import hides a
cycle from Python, not from a reader). ``python -m tests.unit.test_layers`` prints
the graph of ``shared``'s packages and any cycle, for a reader or a closing note.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in its body."""
    known = modules(root)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in known.items():
        graph[name]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # ``from shared.events import fields``: the module when it is one, else
                # a name in the package's own code.
                targets = [
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in known
                    else node.module
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_imports_itself_round_a_cycle():
    found = cycles(imports())
    assert found == [], f"import cycles: {found}"


def test_the_core_never_imports_a_service():
    reaching = {
        name: sorted(t for t in targets if t.startswith("services"))
        for name, targets in imports().items()
        if name.startswith("shared")
    }
    assert {name: t for name, t in reaching.items() if t} == {}


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "services").mkdir()
    (tmp_path / "shared" / "__init__.py").write_text("")
    (tmp_path / "services" / "__init__.py").write_text("")
    (tmp_path / "shared" / "a.py").write_text("from shared.b import B\n")
    (tmp_path / "shared" / "b.py").write_text("def f():\n    from shared import a\n")
    assert cycles(imports(tmp_path)) == [["shared.a", "shared.b"]]


def layer_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph folded to ``shared``'s layers (``shared.eventsourcing``, ...)."""

    def layer(name: str) -> str:
        return ".".join(name.split(".")[:2])

    folded: dict[str, set[str]] = defaultdict(set)
    for name, targets in graph.items():
        if name.startswith("shared"):
            folded[layer(name)] |= {layer(t) for t in targets if layer(t) != layer(name)}
    return dict(folded)


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT
    graph = imports(root)
    shared = [m for m in graph if m.startswith("shared")]
    print(f"{len(shared)} modules in shared/, {sum(len(graph[m]) for m in shared)} imports")
    for name, targets in sorted(layer_graph(graph).items()):
        print(f"  {name} -> {', '.join(sorted(targets)) or '-'}")
    print("cycles:", cycles(graph) or "none")
    print(
        "shared -> services:",
        sorted({t for m in shared for t in graph[m] if t.startswith("services")}) or "none",
    )
