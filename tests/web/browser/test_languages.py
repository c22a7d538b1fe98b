"""The dashboard shows each item's language (a small badge) and why a tried line gets its language."""

from __future__ import annotations

from typing import Any

from core.language_settings import LanguageSettings
from tests.web.browser.conftest import screenshot
from tests.web.browser.test_dashboard import open_dashboard, post

SPANISH = "@streamer hola, qué buena jugada hiciste, no lo puedo creer hermano"


async def test_language_badges_in_queue_and_try(start_server: Any, make_settings: Any, browser: Any) -> None:
    settings = make_settings(languages=LanguageSettings(detect=True))
    client = await start_server(settings)
    dashboard = await open_dashboard(browser, client)
    spanish = await post(client, "ana", SPANISH)
    english = await post(client, "bob", "@streamer hey, that was such a good play, i cannot believe it")
    badge = dashboard.locator(f"#queue-rows tr[data-id='{spanish}'] td.voice .badge.lang")
    await badge.wait_for()
    assert await badge.text_content() == "es" and await badge.get_attribute("title") == "spoken in es"
    assert await dashboard.locator(f"#queue-rows tr[data-id='{english}'] .badge.lang").text_content() == "en"
    assert await dashboard.locator(f"#queue-rows tr[data-id='{spanish}'] td.voice").text_content() == "esef_dora"

    await dashboard.fill("#try-user", "carl")
    await dashboard.fill("#try-text", SPANISH)
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-result[data-kind='spoken']")
    assert "es (detected)" in (await dashboard.locator("#try-result").text_content() or "")
    await screenshot(dashboard, "dashboard-languages")
