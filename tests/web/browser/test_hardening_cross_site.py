"""Cross-site attacks from a real Chromium: a page on another origin, and DNS rebinding.

The hostile page is served by a second real server on another port; Chromium's host resolver maps a foreign
name to 127.0.0.1 for the rebinding case (what a rebinding DNS server achieves). The same browser on the
server's own dashboard page may do everything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests import dbutil
from tests.web.browser.conftest import ARGS, CHROMIUM

EVIL_PAGE = """<!doctype html><meta charset="utf-8"><title>cute cats</title><script>
window.result = {ws: "pending", frames: 0};
const target = "%(target)s";
const line = JSON.stringify({sent_by: "attacker", text: "@streamer you have been pwned"});
(async () => {
  for (const path of ["/api/messages", "/api/clear"]) {
    try { await fetch(target + path, {method: "POST", mode: "no-cors", body: line,
                                      headers: {"Content-Type": "text/plain"}}); } catch (e) {}
  }
  try { await fetch(target + "/api/messages", {method: "POST", body: line,
                                              headers: {"Content-Type": "application/json"}}); }
  catch (e) { window.result.cors = String(e); }
  const socket = new WebSocket(target.replace("http", "ws") + "/api/ws");
  socket.onopen = () => {
    window.result.ws = "open";
    socket.send(JSON.stringify({type: "clear"}));
    setTimeout(() => { window.result.done = true; }, 1500);
  };
  socket.onmessage = () => { window.result.frames += 1; };
  socket.onerror = () => { if (window.result.ws === "pending") window.result.ws = "refused"; };
  socket.onclose = () => {
    if (window.result.ws === "pending") window.result.ws = "refused";
    window.result.done = true;
  };
})();
</script>"""


async def _launch(extra_args: list[str]) -> Any:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"chromium not installed ({CHROMIUM})")
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])
    return playwright, browser


async def test_a_page_from_another_site_cannot_queue_clear_or_listen(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    assert (await client.post("/api/messages", json={"sent_by": "viewer", "text": "@streamer real one"})).status == 202
    target = f"http://127.0.0.1:{client.server.port}"

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=EVIL_PAGE % {"target": target}, content_type="text/html")

    evil_app = web.Application()
    evil_app.router.add_get("/", page)
    evil = TestServer(evil_app, host="127.0.0.1")
    await evil.start_server()
    playwright, browser = await _launch([])
    try:
        tab = await browser.new_page()
        # localhost:<other port> is another origin than 127.0.0.1:<our port>
        await tab.goto(f"http://localhost:{evil.port}/")
        await tab.wait_for_function("window.result && window.result.done === true", timeout=15_000)
        result = await tab.evaluate("window.result")
        # the same browser on our own dashboard may do what the attacker may not
        own = await browser.new_page()
        await own.goto(f"{target}/")
        status = await own.evaluate("""async () => (await fetch('/api/messages', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({sent_by: 'streamer_mod', text: '@streamer from the dashboard'})})).status""")
        frame = await own.evaluate("""() => new Promise((resolve) => {
            const socket = new WebSocket(location.origin.replace('http', 'ws') + '/api/ws');
            socket.onmessage = (event) => { resolve(JSON.parse(event.data).type); socket.close(); };
            socket.onerror = () => resolve('refused'); })""")
    finally:
        await browser.close()
        await playwright.stop()
        await evil.close()
    assert result["ws"] == "refused" and result["frames"] == 0, result
    assert "cors" in result, result  # the JSON fetch was blocked by the browser (no CORS grant)
    rows = dbutil.rows(settings.database_url)
    assert [(r["sent_by"], r["is_deleted"]) for r in rows] == [("viewer", 0), ("streamer_mod", 0)], json.dumps(
        rows, default=str)
    assert status == 202 and frame == "state"


async def test_dns_rebinding_is_refused(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    port = client.server.port
    playwright, browser = await _launch(["--host-resolver-rules=MAP rebind.example 127.0.0.1"])
    try:
        tab = await browser.new_page()
        answer = await tab.goto(f"http://rebind.example:{port}/api/queue")
        assert answer is not None
        assert answer.status == 421
        assert "host" in (await answer.json())["error"]
        dashboard = await tab.goto(f"http://rebind.example:{port}/")
        assert dashboard is not None and dashboard.status == 421
    finally:
        await browser.close()
        await playwright.stop()
