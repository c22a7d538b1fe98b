"""The bench starts each source tree with that tree's own entry point (``--before`` runs an older one)."""

from __future__ import annotations

from pathlib import Path

from bench.common import REPO_ROOT
from bench.server import entry_module


def test_this_tree_starts_through_the_composition_root() -> None:
    assert entry_module(REPO_ROOT) == "assembly"


def test_a_tree_older_than_the_composition_root_starts_through_its_cli(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "cli.py").write_text("", encoding="utf-8")
    assert entry_module(tmp_path) == "web.cli"
