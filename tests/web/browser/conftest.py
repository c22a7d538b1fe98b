"""Real Chromium (the system package, driven by Playwright) against a real StreamVoice server.

Skipped only when no Chromium is installed (``.ci/run`` installs the Debian package). Screenshots land in
``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("STREAMVOICE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--autoplay-policy=no-user-gesture-required", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--mute-audio"]
#: Measured numbers (page load, update latency) printed at the end of the run and kept in test-artifacts/.
MEASURED: dict[str, list[float]] = {}


def measure(name: str, seconds: float) -> None:
    MEASURED.setdefault(name, []).append(seconds)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"chromium not installed ({CHROMIUM}); .ci/run installs it with apt-get")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """A PNG of the page; the overlay's keeps its transparency (as OBS composites it over the scene)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page, omit_background=name.startswith("overlay"))
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder drives Chromium: marked ``browser`` (left out of the quick loop)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not MEASURED:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    lines = [f"{name}: n={len(v)} min={min(v) * 1000:.0f} ms max={max(v) * 1000:.0f} ms "
             f"mean={sum(v) / len(v) * 1000:.0f} ms" for name, v in sorted(MEASURED.items())]
    (ARTIFACTS / "browser-timings.txt").write_text(f"{time.ctime()}\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print("\nbrowser timings:\n  " + "\n  ".join(lines))
