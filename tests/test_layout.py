"""The packages of junheng import each other in one direction only: no cycle between them.

A unit is a top-level subpackage (junheng.data, junheng.web, ...) or a top-level module
(junheng.errors, junheng.services, ...). Every import in a file counts, also one inside a
function (a lazy import is still a dependency, only a later one). The graph points inwards:

    foundations  errors, amounts, schoolyear, safe_yaml, layered, typography, filenames,
                 spreadsheets, workspace: they import no other unit but each other
    data         the catalogue of data fields (the domain model), reading and checking datasets
    standards    standard files; they read the catalogue (standards → data, never data → standards)
    engine       the evaluation (→ standards, data)
    demo, planner, store
                 synthetic data; remediation plans; the database (store → engine: stored evaluations)
    monitor      warnings, tasks, forecasts (→ store, engine)
    reports      documents from results (→ monitor, store, engine; never → services)
    services     what the faces share (→ reports, store, demo, ...)
    web, cli     the faces (cli → web only to serve it)

An arrow may only point from a unit to one listed above it (or beside it, as long as no cycle
forms). PENDING lists the wrong-way imports still to be moved, each with the move that removes
it; a pending import that is gone must be taken off the list (the second test says so).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "junheng"

# (importing module, imported unit) → the move that will remove it; empty: every import points inwards
PENDING: dict[tuple[str, str], str] = {}


def _units() -> set[str]:
    return {p.stem for p in SOURCE.glob("*.py") if p.stem != "__init__"} | {
        p.parent.name for p in SOURCE.glob("*/__init__.py")}


def _module_name(path: Path) -> tuple[str, list[str]]:
    """junheng.data.importer and the package its relative imports start from."""
    parts = ["junheng", *path.relative_to(SOURCE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def _imported(node: ast.AST, package: list[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package[: len(package) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        # `from junheng import cli` imports the unit cli
        return [module] + [f"{module}.{alias.name}" for alias in node.names] if module == "junheng" else [module]
    return []


def import_graph() -> dict[str, dict[str, list[str]]]:
    """unit → imported unit → where ("junheng.data.template:42"), pending imports included."""
    units = _units()
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(SOURCE.rglob("*.py")):
        module, package = _module_name(path)
        if module == "junheng":
            continue
        unit = module.split(".")[1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _imported(node, package):
                parts = name.split(".")
                if parts[0] != "junheng" or len(parts) < 2 or parts[1] not in units or parts[1] == unit:
                    continue
                graph[unit][parts[1]].append(f"{module}:{node.lineno}")
    return graph


def _without_pending(graph):
    kept: dict[str, dict[str, list[str]]] = {}
    for unit, targets in graph.items():
        for target, places in targets.items():
            left = [p for p in places if (p.split(":")[0], target) not in PENDING]
            if left:
                kept.setdefault(unit, {})[target] = left
    return kept


def cycles(graph) -> list[list[str]]:
    """One cycle (as a closed path of units) per strongly connected group of units."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(unit: str) -> None:  # Tarjan's algorithm
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for target in graph.get(unit, {}):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in on_stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == unit:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return [_closed_path(graph, group) for group in groups]


def _closed_path(graph, group: set[str]) -> list[str]:
    """A shortest cycle through the group's first unit (breadth first, inside the group)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for unit in frontier:
            for target in sorted(graph.get(unit, {})):
                if target == start:
                    return paths[unit] + [start]
                if target in group and target not in paths:
                    paths[target] = paths[unit] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def describe(graph, cycle: list[str]) -> str:
    steps = [f"  {a} → {b}: {', '.join(graph[a][b][:3])}" + (" …" if len(graph[a][b]) > 3 else "")
             for a, b in zip(cycle, cycle[1:])]
    return " → ".join(cycle) + "\n" + "\n".join(steps)


def test_no_cycle_between_packages():
    graph = _without_pending(import_graph())
    found = cycles(graph)
    assert not found, ("import cycle between junheng's packages (the arrows must point inwards, see this "
                       "file's docstring):\n" + "\n\n".join(describe(graph, c) for c in found))


def test_every_pending_import_is_still_there():
    graph = import_graph()
    gone = [f"{module} → {unit}" for module, unit in PENDING
            if not any(place.split(":")[0] == module for place in graph.get(module.split(".")[1], {}).get(unit, []))]
    assert not gone, f"no longer imported, take off PENDING: {', '.join(gone)}"


def test_a_cycle_is_found_and_named():
    """The check itself: a made-up graph with a cycle data → standards → data is reported as such."""
    graph = {"data": {"standards": ["junheng.data.x:3"]}, "standards": {"data": ["junheng.standards.y:7"]},
             "engine": {"data": ["junheng.engine.z:1"]}}
    found = cycles(graph)
    assert found == [["data", "standards", "data"]]
    assert "junheng.data.x:3" in describe(graph, found[0]) and "junheng.standards.y:7" in describe(graph, found[0])
    assert cycles({"engine": {"data": ["a:1"]}, "data": {}}) == []
