"""Project-wide asyncio rules that a single test of one module would not catch."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "storage", "tts", "service", "web", "bot", "assembly")


def test_no_asyncio_wait_for_in_the_server() -> None:
    """``asyncio.wait_for`` on Python 3.11 (the oldest we support) returns the inner result when a cancel lands
    in the loop turn where that inner await completes: the cancel is lost, and a task told to stop goes on (a
    WebSocket sender then held the server's stop for 60 s). ``async with asyncio.timeout(...)`` keeps it."""
    found = [f"{path.relative_to(ROOT)}:{n}" for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if re.search(r"\bwait_for\(", line) and not line.lstrip().startswith("#")]
    assert found == [], f"use `async with asyncio.timeout(...)` instead of asyncio.wait_for: {found}"
