"""The OBS overlay plays a long line from its first sentence while the rest still renders (long lines speak sooner),
in real Chromium against a real server with the real tiny Kokoro pipeline (held after its first sentence)."""

from __future__ import annotations

from typing import Any

from tests import dbutil
from tests.helpers import SharedEngineLoader, wait_for
from tests.web.browser.conftest import screenshot
from tests.web.browser.test_dashboard import open_overlay, post
from tests.web.test_long_lines import LONG, start_gated


async def test_the_overlay_speaks_a_long_line_before_it_is_rendered(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader, browser: Any) -> None:
    client, settings, engine = await start_gated(start_server, make_settings, engine_loader)
    overlay = await open_overlay(browser, client)
    message_id = await post(client, "longwinded", f"@streamer {LONG}")
    assert (await client.post("/api/play")).status == 200

    # heard while the second and third sentences are not rendered yet
    await overlay.wait_for_selector(f"body[data-streaming='{message_id}']", timeout=30_000)
    await overlay.wait_for_selector(".word.current", timeout=10_000)
    assert not engine.gate.is_set() and dbutil.row(settings.database_url, message_id)["audio_path"] is None
    words = await overlay.eval_on_selector_all(".word", "spans => spans.map(s => s.textContent)")
    assert words[:4] == ["I", "just", "wanted", "to"] and words[-1] == "okay?"
    await screenshot(overlay, "overlay-streaming")

    engine.gate.set()
    await overlay.wait_for_selector(f"body[data-ended='{message_id}']", timeout=60_000)
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "played")
    spoken = await overlay.eval_on_selector_all(".word.spoken", "spans => spans.length")
    assert spoken == len(words)  # every word was highlighted through to the end
