"""The dashboard shows where a channel-point item's points stand: held while it waits, refunded or kept once it
ended. Real Chromium, a real server with the Twitch bot, and the fake Twitch (rewards and redemptions)."""

from __future__ import annotations

from typing import Any

from tests import dbutil
from tests.bot.conftest import cast, fake_twitch, start_bot, twitch_settings  # noqa: F401  (fixtures)
from tests.bot.fake_twitch import FakeTwitch
from tests.bot.test_channel_points import points_settings, queued, settled, start_with_reward, store_tokens
from tests.helpers import wait_for
from tests.web.browser.conftest import screenshot
from tests.web.browser.test_dashboard import open_dashboard


async def test_refund_states_next_to_the_items(start_bot: Any, twitch_settings: Any,  # noqa: F811
                                               fake_twitch: FakeTwitch, cast: Any, browser: Any) -> None:  # noqa: F811
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    await client.put("/api/mode", json={"mode": "bits"})
    refunded = await fake_twitch.points.redeem(cast.moderator, reward, "skip me, I want my points back")
    waiting = await fake_twitch.points.redeem(cast.viewer, reward, "channel points well spent, read this out")
    await client.post("/api/bits", json={"sent_by": "cheerful", "text": "a plain cheer beside it",
                                         "bits_amount": 100})
    row = await queued(settings, refunded)
    await queued(settings, waiting)
    assert (await client.delete(f"/api/messages/{row['id']}")).status == 200
    await settled(fake_twitch, settings, refunded, "CANCELED")
    await wait_for(lambda: all(r["status"] == "ready" for r in dbutil.rows(settings.database_url,
                                                                            "is_deleted = 0")))

    page = await open_dashboard(browser, client)
    waiting_id = dbutil.rows(settings.database_url, "redemption_id = ?", (waiting,))[0]["id"]
    badge = page.locator(f"#queue-rows tr[data-id='{waiting_id}'] .refund")
    assert (await badge.text_content() or "").endswith("points held")
    history = page.locator(f"#history-rows tr[data-id='{row['id']}'] .refund")
    await history.wait_for()
    assert (await history.text_content() or "").endswith("refunded")
    assert await page.locator("#queue-rows .refund").count() == 1  # the cheer has no refund state
    await page.set_viewport_size({"width": 1600, "height": 760})  # the history's Replay column in view
    await screenshot(page, "channel-points")  # docs/img/channel_points.png is this picture
