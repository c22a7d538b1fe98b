"""The OBS overlay reports how far it has played (``progress`` frames, docs/websocket.md) while it plays, in real
Chromium against a real server with the real tiny Kokoro pipeline."""

from __future__ import annotations

from typing import Any

from tests import dbutil
from tests.helpers import app_of, wait_for
from tests.web.browser.test_dashboard import open_overlay, post, wait_ready
from web.keys import STREAMVOICE

#: About four seconds of tiny-model audio (25 ms per phoneme): several reports at one a second.
LINE = ("@streamer thanks for hosting the raid last night and for reading every single message in chat while the "
        "whole squad was cheering from the back row")


async def test_the_overlay_reports_its_position_while_it_plays(start_server: Any, make_settings: Any,
                                                              browser: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    overlay = await open_overlay(browser, client)
    message_id = await post(client, "raider", LINE)
    await wait_ready(client, settings, message_id)
    assert (await client.post("/api/play")).status == 200
    playback = app_of(client)[STREAMVOICE].playback

    def heard() -> tuple[float, float] | None:
        current = playback.current
        return current.heard if current is not None and current.item.id == message_id else None

    first = await wait_for(heard, timeout=30)
    later = await wait_for(lambda: (h := heard()) is not None and h[1] > first[1] and h, timeout=30)
    duration = float(dbutil.row(settings.database_url, message_id)["duration_s"])
    assert 0 <= first[0] <= later[0] <= duration + 0.5  # seconds heard, growing, within the audio
    await overlay.wait_for_selector(f"body[data-ended='{message_id}']", timeout=60_000)
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "played")
