"""The README is a front door and the docs hold together: both commands, a small README, links that resolve,
no path outside the repository, and no issue numbers anywhere (the rule is stated instead)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted([README, REPO / "bench" / "README.md", *(REPO / "docs").glob("*.md")])
#: The two commands; CI and people copy them as they are.
RUN = ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . "
       "&& streamvoice")
TEST = ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e \".[test]\" "
        "&& python -m pytest -q -n auto --maxprocesses 4")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


def test_the_readme_is_a_small_front_door_with_both_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 8 * 1024
    lines = text.splitlines()
    assert RUN in lines and TEST in lines
    pytest_command = TEST.rsplit("&& ", 1)[1]
    assert pytest_command in (REPO / ".ci" / "run").read_text(encoding="utf-8")  # CI runs what the README says
    assert "![" in text and "curl " in text and "## Layout" in text
    assert "core ← storage/tts ← service ← web/bot ← assembly" in text


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves(doc: Path) -> None:
    broken = []
    prose = re.sub(r"```.*?```|`[^`\n]*`", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)  # code is no link
    for target in LINK.findall(prose):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked here
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        missing_anchor = bool(anchor) and resolved.suffix == ".md" and anchor not in anchors(resolved)
        if not resolved.exists() or missing_anchor:
            broken.append(target)
    assert broken == []


def lines_matching(pattern: re.Pattern[str]) -> list[str]:
    """``file:line`` of every tracked source, doc or config line that matches (this file excepted)."""
    files = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.yaml", "*.js", "*.html", "*.toml", ".ci/*"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return [f"{name}:{n}" for name in files if (REPO / name).is_file() and name != "tests/test_readme_and_docs.py"
            for n, line in enumerate((REPO / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if pattern.search(line)]


def test_no_path_outside_the_repository() -> None:
    """Docs, code and benches name nothing outside the checkout (a reader's machine has no such folders)."""
    assert lines_matching(re.compile(r"/work/|\.\./shared")) == []


def test_no_issue_numbers_anywhere() -> None:
    """Code, tests, docs and benches say what the rule is, never which issue asked for it."""
    assert lines_matching(re.compile("issue ?[0-9]+|\u00a7", re.IGNORECASE)) == []  # \u00a7: the section sign
