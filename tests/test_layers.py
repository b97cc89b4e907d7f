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
