"""Clickjacking: a page on another site cannot frame the dashboard or the overlay (real Chromium).

The hostile page (a second real server, another origin) puts both pages in iframes; the browser must refuse to
render them, so there is nothing under the attacker's button to click.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.web.browser.test_hardening_cross_site import _launch
from tests.web.production_server import production_server

FRAMING_PAGE = """<!doctype html><meta charset="utf-8"><title>win a prize</title>
<iframe id="dashboard" src="%(target)s/" style="opacity:0.01"></iframe>
<iframe id="overlay" src="%(target)s/overlay"></iframe>"""


async def test_another_site_cannot_frame_our_pages(engine_loader: Any, make_settings: Any) -> None:
    async with production_server(make_settings(), engine_loader) as served:
        async def page(request: web.Request) -> web.Response:
            return web.Response(text=FRAMING_PAGE % {"target": served.url}, content_type="text/html")

        evil_app = web.Application()
        evil_app.router.add_get("/", page)
        evil = TestServer(evil_app, host="127.0.0.1")
        await evil.start_server()
        playwright, browser = await _launch([])
        try:
            tab = await browser.new_page()
            refused: list[str] = []
            tab.on("console", lambda message: refused.append(message.text))
            await tab.goto(f"http://localhost:{evil.port}/", wait_until="load")
            await tab.wait_for_timeout(500)
            loaded = [(frame.url, await _rendered(frame)) for frame in tab.frames if frame != tab.main_frame]
        finally:
            await browser.close()
            await playwright.stop()
            await evil.close()
    # Chromium replaces a refused frame with its error page: our markup (a <main>/<canvas>/script) never renders
    assert len(loaded) == 2, loaded
    assert not any(rendered for _, rendered in loaded), loaded
    assert any("frame-ancestors" in line for line in refused), refused


async def _rendered(frame: Any) -> bool:
    """Whether the frame holds one of our pages (a script of ours ran or our stylesheet is linked)."""
    try:
        return bool(await frame.evaluate(
            "() => !!document.querySelector('script[src], link[rel=stylesheet]')"))
    except Exception:  # a cross-origin error page cannot be inspected either
        return False
