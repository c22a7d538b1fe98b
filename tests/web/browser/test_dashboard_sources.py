"""The dashboard shows why each item is queued (an icon per source, its words in the tooltip) and tries a line
with roles and a first message, in real Chromium against a real server (tiny Kokoro model, real SQLite)."""

from __future__ import annotations

from typing import Any

from core.notifications import Notice
from core.settings import TriggerSettings
from tests.helpers import app_of
from tests.web.browser.conftest import screenshot
from tests.web.browser.test_dashboard import open_dashboard
from web.keys import STREAMVOICE


async def test_source_icons_in_the_queue_and_history_and_trying_roles(start_server: Any, make_settings: Any,
                                                                      browser: Any) -> None:
    settings = make_settings(triggers=TriggerSettings(mode="all", roles=("subscriber",), first_time_chatters=True))
    client = await start_server(settings)
    dashboard = await open_dashboard(browser, client)
    ids: dict[str, int] = {}
    for source, body in (("mention", {"sent_by": "fan_one", "text": "@streamer hello there"}),
                         ("command", {"sent_by": "fan_two", "text": "!tts read this please"}),
                         ("chat", {"sent_by": "fan_three", "text": "just chatting", "badges": ["subscriber"]})):
        response = await client.post("/api/messages", json=body)
        result = await response.json()
        assert response.status == 202 and result["source"] == ("chat" if source == "mention" else source)
        ids[source] = result["id"]
    await app_of(client)[STREAMVOICE].accept_notice(Notice("resub", "n-1", "big_fan", "Big_Fan", months=7,
                                                           text="seven months already"))
    notice_queue = await (await client.get("/api/queue", params={"queue": "bits"})).json()
    [notice] = notice_queue["items"]
    assert notice["source"] == "notification"

    for message_id in ids.values():
        await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{message_id}']")
    row = dashboard.locator(f"#queue-rows tr[data-id='{ids['command']}']")
    assert await row.locator("td.who .name").text_content() == "fan_two"
    assert await row.locator("td.who .src").get_attribute("title") == "command: the trigger command (e.g. !tts)"
    chat_row = dashboard.locator(f"#queue-rows tr[data-id='{ids['chat']}'] td.who .src")
    assert (await chat_row.get_attribute("title") or "").startswith("chat:")
    await dashboard.click("#tab-bits")
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{notice['id']}'] .src-notification")
    await dashboard.click("#tab-mentions")
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{ids['command']}']")

    # try a line: roles and a first message change the answer, and it says as what it would be read
    await dashboard.fill("#try-user", "newbie")
    await dashboard.fill("#try-text", "hello everyone")
    await dashboard.fill("#try-badges", "vip")
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-result .reason:text-is('not one of the roles subscriber')")
    await dashboard.check("#try-first")
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-result[data-kind='spoken']")
    assert "as chat" in (await dashboard.locator("#try-result").text_content() or "")
    await screenshot(dashboard, "dashboard-sources")

    # the history keeps the icon
    response = await client.delete(f"/api/messages/{ids['mention']}")
    assert response.status == 200
    await dashboard.wait_for_selector(f"#history-rows tr[data-id='{ids['mention']}'] td.who .src-chat")
