"""Chat notifications read aloud: a real twitchio client in a real StreamVoice server against the fake Twitch,
which sends complete ``channel.chat.notification`` events (every documented key, null where empty)."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

import pytest

from bot.context import TwitchBotRunner
from core.chat import QueueName
from core.settings import NotificationSettings
from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import (
    ANONYMOUS_GIFTER,
    CHAT_SUBSCRIPTIONS,
    FakeTwitch,
    community_sub_gift_object,
    raid_object,
    resub_object,
    sub_gift_object,
    sub_object,
)
from tests.helpers import wait_for


def _outcome(runner: TwitchBotRunner, name: str) -> int:
    assert runner.notifications is not None
    return runner.notifications.outcomes[name]


def _handled(runner: TwitchBotRunner) -> int:
    return sum(_outcome(runner, k) for k in ("queued", "skipped", "not read"))


async def _connected(start_bot: Any, settings: Any, fake: FakeTwitch, cast: Cast) -> tuple[Any, TwitchBotRunner]:
    store_tokens(settings, fake, cast.bot.id)
    client, runner = await start_bot(settings)
    await wait_connected(runner, fake)
    await wait_for(lambda: fake.subscription_types() == CHAT_SUBSCRIPTIONS, timeout=WAIT_S)
    return client, runner


def _notice_rows(settings: Any) -> list[dict[str, Any]]:
    return dbutil.rows(settings.database_url, "origin = 'notification'")


async def test_resub_gift_bomb_raids_and_anonymous_gifts(start_bot: Any, twitch_settings: Any,
                                                         fake_twitch: FakeTwitch, cast: Cast,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    settings = dataclasses.replace(
        twitch_settings(), banned_words=("darn",),
        notifications=dataclasses.replace(NotificationSettings(), min_raid_viewers=10))
    client, runner = await _connected(start_bot, settings, fake_twitch, cast)
    fan = fake_twitch.add_user("7007", "big_fan", "Big_Fan")
    gifted = [fake_twitch.add_user(f"80{n}", f"lucky_{n}", f"Lucky_{n}") for n in range(3)]
    raider = fake_twitch.add_user("9009", "raiding_pal", "Raiding_Pal")
    sent = 0

    async def send(*args: Any, **kwargs: Any) -> str:
        nonlocal sent
        message_id = await fake_twitch.chat_notification(*args, broadcaster=cast.streamer, **kwargs)
        sent += 1
        return message_id

    resub_id = await send(cast.viewer, "resub", resub_object(cumulative=14, streak=3),
                          text="sooooo good to be back Kappa")
    await send(fan, "resub", resub_object(cumulative=2), text="well darn it")  # banned: skipped like chat
    bomb = str(uuid.uuid4())
    await send(fan, "community_sub_gift", community_sub_gift_object(bomb, 3))
    for recipient in gifted:  # the bomb's own gifts: not read, the bomb was
        await send(fan, "sub_gift", sub_gift_object(recipient, community_gift_id=bomb))
    await send(ANONYMOUS_GIFTER, "sub_gift", sub_gift_object(cast.moderator), anonymous=True)
    await send(raider, "raid", raid_object(raider, 9))    # below min_raid_viewers
    await send(raider, "raid", raid_object(raider, 10))   # at the minimum
    await send(cast.viewer, "sub", sub_object())
    await send(fan, "shared_chat_resub", resub_object(cumulative=5), text="from elsewhere",
               source_broadcaster=cast.other_streamer)
    with caplog.at_level(logging.INFO, logger="service.streamvoice"):
        await send(fan, "hype_train_party", None)
        await wait_for(lambda: _handled(runner) == sent, timeout=WAIT_S)
    assert [r.getMessage() for r in caplog.records if "unknown type" in r.getMessage()] == [
        "Twitch chat notification of unknown type 'hype_train_party' ignored"]

    rows = _notice_rows(settings)
    spoken = {r["spoken_text"]: r for r in rows}
    assert sorted(spoken) == sorted([
        "Viewer One resubscribed for 14 months. sooo good to be back",
        "Big Fan resubscribed for 2 months. well darn it",
        "Big Fan gifted 3 subs",
        "An anonymous gifter gifted a sub to Mod Person",
        "Raiding Pal is raiding with 10 viewers",
        "Viewer One subscribed",
    ])
    resub = spoken["Viewer One resubscribed for 14 months. sooo good to be back"]
    assert resub["queue"] == "bits" and resub["external_id"] == resub_id and resub["sent_by"] == "Viewer_One"
    assert resub["text"] == "Viewer_One resubscribed for 14 months. sooooo good to be back Kappa"
    banned = spoken["Big Fan resubscribed for 2 months. well darn it"]
    assert banned["status"] == "skipped" and banned["reason"] == "banned word"
    assert all(r["status"] != "skipped" for r in rows if r is not banned)
    assert _outcome(runner, "queued") == 5 and _outcome(runner, "skipped") == 1
    assert _outcome(runner, "sub_gift: part of a gift bomb (the community_sub_gift is read)") == 3
    assert _outcome(runner, "raid: below min_raid_viewers (9 < 10)") == 1
    assert _outcome(runner, "shared_chat_resub: shared chat from another channel") == 1

    items = (await (await client.get("/api/queue", params={"queue": "bits"})).json())["items"]
    assert [i["source"] for i in items] == ["notification"] * 5


async def test_notices_are_read_while_the_app_is_online_and_follow_the_queue_setting(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = dataclasses.replace(twitch_settings(), notifications=NotificationSettings(queue=QueueName.MENTIONS))
    client, runner = await _connected(start_bot, settings, fake_twitch, cast)
    assert (await client.post("/api/messages", json={"sent_by": "app", "text": "hello"})).status == 200
    await fake_twitch.chat_notification(cast.viewer, "sub", sub_object(tier="2000"), broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1, timeout=WAIT_S)
    [row] = _notice_rows(settings)
    assert row["queue"] == "mentions" and row["spoken_text"] == "Viewer One subscribed"
    # a chat line from the bot is left to the App meanwhile
    await fake_twitch.chat(cast.viewer, "@streamer hi", broadcaster=cast.streamer)
    assert runner.component is not None
    await wait_for(lambda: runner.component is not None and runner.component.outcomes["app online"] == 1,
                   timeout=WAIT_S)
