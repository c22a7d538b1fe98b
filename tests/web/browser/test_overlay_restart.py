"""The OBS overlay outlives the server: kill -9 the real server process, start it again on the same port, and
the overlay (never reloaded) reconnects by itself and plays the next item."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.conftest import wait_for
from tests.web.browser.conftest import screenshot
from tests.web.test_crash import free_port, wait_up

REPO = Path(__file__).resolve().parents[3]


def start(settings_path: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "-m", "web", "--settings", str(settings_path)], cwd=REPO,
                            stdout=handle, stderr=subprocess.STDOUT)


async def test_overlay_reconnects_after_a_server_restart(tiny_model_dir: Path, tmp_path: Path, browser: Any) -> None:
    port = free_port()
    settings_path = tmp_path / "settings.yaml"
    settings_path.write_text(yaml.safe_dump({
        "username": "streamer", "model_dir": str(tiny_model_dir), "audio_dir": str(tmp_path / "audio"),
        "database_url": f"sqlite:///{tmp_path / 'sv.db'}", "device": "cpu", "port": port, "voice": "heart100",
    }))
    base = f"http://127.0.0.1:{port}"
    server = start(settings_path, tmp_path / "server.log")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, base, server)
            overlay = await browser.new_page()
            await overlay.goto(f"{base}/overlay")
            await overlay.wait_for_selector("body[data-connected='1']")

            server.send_signal(signal.SIGKILL)
            server.wait(10)
            await overlay.wait_for_selector("body[data-connected='0']")
            server = start(settings_path, tmp_path / "server.log")
            await wait_up(session, base, server)
            await overlay.wait_for_selector("body[data-connected='1']", timeout=30_000)

            async with session.post(f"{base}/api/messages",
                                    json={"sent_by": "back", "text": "@streamer we are back"}) as response:
                message_id = (await response.json())["id"]

            async def ready() -> bool:
                async with session.get(f"{base}/api/queue") as response:
                    items = (await response.json())["items"]
                return any(i["id"] == message_id and i["status"] == "ready" for i in items)

            await wait_for(ready, timeout=60)
            async with session.post(f"{base}/api/play") as response:
                assert response.status == 200
            await overlay.wait_for_selector(f"body[data-ended='{message_id}']", timeout=30_000)
            await screenshot(overlay, "overlay-after-restart")
            assert await overlay.locator("#caption-name").text_content() == "back"
            async with session.get(f"{base}/api/history") as response:
                history = (await response.json())["items"]
            assert history[0]["id"] == message_id and history[0]["outcome"] == "played"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
