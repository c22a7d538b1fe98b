"""Imports go one way: ``core`` <- ``storage``/``tts`` <- ``service`` <- ``web``/``bot`` <- ``assembly``.

Every module of every package is parsed (``ast``, nothing is imported), counting every import: at the top,
inside functions (lazy imports) and under ``TYPE_CHECKING``. A package may import its own modules and those of
the layers below it, never a layer above and never a sibling on its own layer (``web`` and ``bot`` never
import each other, nor do ``storage`` and ``tts``); so no circle between packages can form.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Each package's layer; a package may import only from lower layers (and itself).
LAYERS: dict[str, int] = {"core": 0, "storage": 1, "tts": 1, "service": 2, "web": 3, "bot": 3, "assembly": 4}


def imports_of(source: str, package: str) -> set[tuple[str, int]]:
    """(project package, line) for every import of a project package in ``source``, a module of ``package``."""
    tree = ast.parse(source)
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [package] if node.level else [node.module or ""]  # a relative import stays in the package
        for name in names:
            top = name.split(".")[0]
            if top in LAYERS:
                found.add((top, node.lineno))
    return found


def import_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> ["file:line", ...]"""
    graph: dict[str, dict[str, list[str]]] = {name: {} for name in LAYERS}
    for package in LAYERS:
        for path in sorted((REPO / package).rglob("*.py")):
            for target, line in imports_of(path.read_text(encoding="utf-8"), package):
                if target != package:
                    graph[package].setdefault(target, []).append(f"{path.relative_to(REPO)}:{line}")
    return graph


def test_every_package_is_known() -> None:
    """A new top-level package must be given a layer here, or its imports would go unchecked."""
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(LAYERS)


def test_no_import_runs_up_or_across_the_layers() -> None:
    wrong = [f"{where}: {package} imports {target}"
             for package, targets in import_graph().items() for target, places in targets.items()
             if LAYERS[target] >= LAYERS[package] for where in places]
    assert wrong == []


def test_no_circle_between_packages() -> None:
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in graph[node]:
            if state.get(target) == "open":
                pytest.fail("import circle: " + " -> ".join([*trail[trail.index(target):], target]))
            if target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for package in graph:
        if package not in state:
            visit(package, [package])


def test_the_checker_sees_lazy_and_type_checking_imports() -> None:
    """Those are the ones that slip through a reader; a relative import counts as the package's own."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from web.keys import SETTINGS\n"
              "def f():\n    import bot.context\n    from . import sibling\n    import aiohttp\n")
    assert imports_of(source, "core") == {("web", 3), ("bot", 5), ("core", 6)}
