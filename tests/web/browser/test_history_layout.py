"""The history table fits its panel: every column, the Replay button included, is visible without scrolling
sideways at a common streaming-PC window width, whatever the chatters wrote."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser.conftest import screenshot
from tests.web.browser.test_dashboard import open_dashboard

LONG_NAME = "a_very_long_chatter_name_25"
LONG_TEXT = ("@streamer " + "supercalifragilisticexpialidocious " * 3 + "and a link https://example.com/"
             + "x" * 60 + " and then some more words to make it wrap over a few lines")


@pytest.mark.parametrize("width", [1400, 1100])
async def test_history_rows_fit_the_panel(start_server: Any, make_settings: Any, browser: Any, width: int) -> None:
    client = await start_server(make_settings())
    dashboard = await open_dashboard(browser, client)
    await dashboard.set_viewport_size({"width": width, "height": 900})
    ids = []
    for index in range(3):
        response = await client.post("/api/messages", json={"sent_by": f"{LONG_NAME}{index}", "text": LONG_TEXT})
        assert response.status == 202
        ids.append((await response.json())["id"])
    for message_id in ids[:2]:
        assert (await client.delete(f"/api/messages/{message_id}")).status == 200
    assert (await client.post("/api/clear", json={})).status == 200
    for message_id in ids:
        await dashboard.wait_for_selector(f"#history-rows tr[data-id='{message_id}']")
    await screenshot(dashboard, f"dashboard-history-{width}")

    wrap = await dashboard.evaluate("""() => {
        const w = document.querySelector('.history .table-wrap');
        return {scroll: w.scrollWidth, client: w.clientWidth};
    }""")
    assert wrap["scroll"] <= wrap["client"], wrap
    panel = await dashboard.locator(".panel.history").bounding_box()
    for message_id in ids:
        replay = await dashboard.locator(f"#history-rows tr[data-id='{message_id}'] td.actions button").bounding_box()
        outcome = await dashboard.locator(f"#history-rows tr[data-id='{message_id}'] .badge:not(.lang)").bounding_box()
        assert replay is not None and outcome is not None and panel is not None
        assert replay["x"] + replay["width"] <= panel["x"] + panel["width"]
        assert outcome["height"] < 30, "the outcome pill stays on one line"
