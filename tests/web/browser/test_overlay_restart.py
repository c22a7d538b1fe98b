"""The OBS overlay outlives the server: kill -9 the real server process, start a server again on the same port
and database, and the overlay (never reloaded) reconnects by itself and plays the next item.

The killed server is the real ``streamvoice`` command in a subprocess (started without model weights, so it
comes up in seconds); the one that replaces it runs in-process with the session's already-loaded tiny model,
so the test does not pay for a second model load.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp.test_utils import TestClient, TestServer

from tests import dbutil
from tests.helpers import free_port, wait_for
from tests.web.browser.conftest import screenshot
from tests.web.test_crash import wait_up

REPO = Path(__file__).resolve().parents[3]


async def test_overlay_reconnects_after_the_server_is_killed(make_settings: Any, engine_loader: Any, tmp_path: Path,
                                                             browser: Any) -> None:
    from web.app import create_app

    settings = make_settings()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings_path = tmp_path / "settings.yaml"
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    settings_path.write_text(yaml.safe_dump({
        "username": "streamer", "model_dir": str(no_weights), "audio_dir": settings.audio_dir,
        "database_url": settings.database_url, "device": "cpu", "port": port, "voice": settings.voice,
    }))
    with open(tmp_path / "server.log", "ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "assembly", "--settings", str(settings_path)], cwd=REPO,
                                  stdout=log, stderr=subprocess.STDOUT)
    client: TestClient[Any, Any] | None = None
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, base, server)
            overlay = await browser.new_page()
            await overlay.goto(f"{base}/overlay?name=1")
            await overlay.wait_for_selector("body[data-connected='1']")
            async with session.post(f"{base}/api/messages",
                                    json={"sent_by": "before", "text": "@streamer queued before the crash"}) as r:
                before = (await r.json())["id"]

            server.send_signal(signal.SIGKILL)
            server.wait(10)
            await overlay.wait_for_selector("body[data-connected='0']")

        app = create_app(settings, engine_loader=engine_loader)
        client = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await client.start_server()
        await overlay.wait_for_selector("body[data-connected='1']", timeout=20_000)  # no reload

        after = (await (await client.post("/api/messages", json={"sent_by": "after", "text": "@streamer we are back"}))
                 .json())["id"]
        for message_id in (before, after):
            await wait_for(lambda m=message_id: dbutil.row(settings.database_url, m)["status"] == "ready")
        assert (await client.post("/api/play")).status == 200
        await overlay.wait_for_selector(f"body[data-ended='{before}']", timeout=30_000)
        assert (await client.post("/api/play")).status == 200
        await overlay.wait_for_selector(f"body[data-playing='{after}'] #caption:not([hidden])")
        assert await overlay.locator("#caption-name").text_content() == "after"
        await screenshot(overlay, "overlay-after-restart")
        await overlay.wait_for_selector(f"body[data-ended='{after}']", timeout=30_000)
        await wait_for(lambda: dbutil.row(settings.database_url, after)["status"] == "played")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        await overlay_close(browser)
        if client is not None:
            await client.close()


async def overlay_close(browser: Any) -> None:
    """Close the pages first: a server shutting down waits for open WebSockets."""
    for context in browser.contexts:
        await context.close()
