"""GET controls change state, so a page on another site must never trigger them, not even with the token in the
URL: a real Chromium loads a hostile page (a second real server, another origin) whose ``<img src>`` and
``no-cors`` fetches point at ``/api/speak`` and ``/api/control/...``. The server refuses them (``Sec-Fetch-Site:
cross-site``) and nothing changes; the same URLs from a tool (no browser) work."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests import dbutil
from tests.helpers import app_of, wait_for
from tests.web.browser.conftest import ARGS, CHROMIUM
from web.keys import STREAMVOICE

TOKEN = "deck-token"
EVIL_PAGE = """<!doctype html><meta charset="utf-8"><title>free skins</title>
<img src="%(target)s/api/speak?text=pwned&user=attacker&token=%(token)s">
<img src="%(target)s/api/control/clear?token=%(token)s">
<img src="%(target)s/api/control/resume?token=%(token)s">
<script>
window.done = false;
fetch("%(target)s/api/control/play?token=%(token)s", {mode: "no-cors"}).catch(() => {})
  .finally(() => setTimeout(() => { window.done = true; }, 1000));
</script>"""


async def test_a_page_from_another_site_cannot_use_get_controls(
        start_server: Any, make_settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"chromium not installed ({CHROMIUM})")
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    settings = make_settings(api_token=TOKEN)
    client = await start_server(settings)
    queued = await client.get("/api/speak", params={"text": "a real line", "user": "viewer", "token": TOKEN})
    assert queued.status == 202
    target = f"http://127.0.0.1:{client.server.port}"

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=EVIL_PAGE % {"target": target, "token": TOKEN}, content_type="text/html")

    evil_app = web.Application()
    evil_app.router.add_get("/", page)
    evil = TestServer(evil_app, host="127.0.0.1")
    await evil.start_server()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            tab = await browser.new_page()
            await tab.goto(f"http://localhost:{evil.port}/")  # another origin and another site than 127.0.0.1
            await tab.wait_for_function("window.done === true", timeout=15_000)
        finally:
            await browser.close()
            await evil.close()

    def refused() -> list[str]:
        lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
        return [line for line in lines if ("/api/speak" in line or "/api/control/" in line) and '" 403 ' in line]

    # the browser did send them (they reached the server) and every one was refused
    await wait_for(lambda: len(refused()) >= 3, timeout=10)
    assert not [r for r in caplog.records if TOKEN in r.getMessage()]
    rows = dbutil.rows(settings.database_url)
    assert len(rows) == 1 and rows[0]["sent_by"] == "viewer" and not rows[0]["is_deleted"]  # not cleared
    sv = app_of(client)[STREAMVOICE]
    assert sv.playback.autoplay is False and sv.playback.current is None
