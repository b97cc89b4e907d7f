"""The sans-I/O rule (DESIGN.md §3), checked on the source: protocol and engine code
never imports I/O, threads, clocks, Flask or redis, and protocol imports nothing else of Surge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "surge"
BANNED = {
    "asyncio",
    "socket",
    "threading",
    "time",
    "flask",
    "redis",
    "selectors",
    "uvloop",
    "httptools",
    "websockets",
    "concurrent",
}
LOWER_LAYERS = sorted((SRC / "protocol").glob("*.py")) + sorted((SRC / "engine").glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", LOWER_LAYERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_io_in_sans_io_layers(path: Path) -> None:
    roots = {name.split(".")[0] for name in imported_modules(path)}
    assert not roots & BANNED, f"{path.name} imports {roots & BANNED}"


@pytest.mark.parametrize("path", sorted((SRC / "protocol").glob("*.py")), ids=lambda p: p.name)
def test_protocol_imports_nothing_else_of_surge(path: Path) -> None:
    others = {n for n in imported_modules(path) if n.startswith("surge.") and not n.startswith("surge.protocol")}
    assert not others


@pytest.mark.parametrize("path", sorted((SRC / "engine").glob("*.py")), ids=lambda p: p.name)
def test_engine_imports_only_protocol(path: Path) -> None:
    others = {
        n
        for n in imported_modules(path)
        if n.startswith("surge.") and not n.startswith(("surge.protocol", "surge.engine"))
    }
    assert not others


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def surge_imports(path: Path) -> set[str]:
    """The Surge modules ``path`` imports, type-only imports included (``from a import b``: a.b if a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module in MODULES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found - {module_name(path)}


def import_cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph = {name: sorted(surge_imports(path) - {"surge"}) for name, path in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return cycles


def test_no_import_cycles() -> None:
    # The package root re-exports the front; everything else must form layers that point one way.
    assert import_cycles() == []


@pytest.mark.parametrize("name", sorted(MODULES), ids=str)
def test_no_module_over_600_lines(name: str) -> None:
    # Small modules with one job each; a module that grows past this is doing two things.
    assert len(MODULES[name].read_text().splitlines()) <= 600
