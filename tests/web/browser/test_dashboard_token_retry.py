"""The dashboard's one answer to a 401 (api.js's hook): a button whose call the server refuses for the token
opens the token dialog once, and after a good token the refused call is sent again: the click is not lost."""

from __future__ import annotations

from typing import Any

from tests.web.browser.test_dashboard import base_url

TOKEN = "right-token"


async def test_a_call_refused_for_the_token_is_sent_again_after_the_dialog(start_server: Any, make_settings: Any,
                                                                          browser: Any) -> None:
    client = await start_server(make_settings(api_token=TOKEN))
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.add_init_script(f"localStorage.setItem('streamvoice.token', '{TOKEN}')")
    await page.goto(base_url(client) + "/")
    await page.wait_for_selector("body[data-ready='1']")
    await page.wait_for_selector("#st-connection[data-level='good']")
    assert not await page.locator("#token-dialog").evaluate("(d) => d.open")

    # the server refuses the next AUTOPLAY call as if the token had changed meanwhile (the rest goes through)
    seen: list[str] = []

    async def refuse_once(route: Any) -> None:
        seen.append(route.request.method)
        if len(seen) == 1:
            await route.fulfill(status=401, content_type="application/json",
                                body='{"error": "missing or wrong API token"}')
        else:
            await route.continue_()

    await page.route("**/api/autoplay", refuse_once)
    await page.click("#btn-autoplay")
    await page.wait_for_selector("#token-dialog[open]")
    assert "refused the saved API token" in (await page.locator("#auth-problem").text_content() or "")
    assert await page.locator("#btn-autoplay").is_disabled()  # its call waits for the token, not lost
    assert await page.locator("#control-error").is_hidden()  # a 401 is no error to show: the dialog answers it

    await page.fill("#token-input", TOKEN)
    await page.click("#token-save")
    await page.wait_for_selector("#btn-autoplay[aria-pressed='true']")  # the server's state frame: it was sent
    assert seen == ["PUT", "PUT"]
    assert not await page.locator("#token-dialog").evaluate("(d) => d.open")
    assert await page.locator("#auth-problem").is_hidden()
    assert await page.locator("#btn-autoplay").is_enabled()
