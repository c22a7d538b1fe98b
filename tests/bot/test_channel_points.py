"""The channel-point TTS reward end to end: a real StreamVoice server and a real twitchio client against the
fake Twitch (rewards, redemptions, EventSub add/update), refunds through the outbox, restarts in between."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import ClientSession

from bot.context import BOT_SCOPES, BROADCASTER_SCOPES, TwitchBotRunner
from bot.tokens import TokenFile, token_path
from core.settings import ChannelPointsSettings, Settings
from service import redemptions
from service.redemptions import LOOP, MANAGE_SCOPE, NEEDS_SCOPE
from service.resilience import Backoff
from service.streamvoice import StreamVoice
from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, wait_connected
from tests.bot.fake_twitch import REDEMPTION_SUBSCRIPTIONS, FakeReward, FakeTwitch
from tests.helpers import app_of, health, wait_for
from tests.players import Player
from tests.service.test_live_settings import write_settings
from web.keys import STREAMVOICE

REDEMPTIONS_PATH = "/helix/channel_points/custom_rewards/redemptions"
REWARDS_PATH = "/helix/channel_points/custom_rewards"
BROADCASTER_WITH_POINTS = (*BROADCASTER_SCOPES, MANAGE_SCOPE)


def points_settings(twitch_settings: Any, **points: Any) -> Settings:
    settings: Settings = twitch_settings()
    section = dataclasses.replace(ChannelPointsSettings(enabled=True, cost=250), **points)
    return dataclasses.replace(settings, channel_points=section)


def store_tokens(settings: Settings, fake: FakeTwitch, cast: Cast,
                 broadcaster_scopes: tuple[str, ...] | None = BROADCASTER_WITH_POINTS) -> None:
    """The bot account's token, and the broadcaster's (as ``/twitch/oauth?account=broadcaster`` stores it)."""
    grants = {cast.bot.id: BOT_SCOPES}
    if broadcaster_scopes is not None:
        grants[cast.streamer.id] = broadcaster_scopes
    entries = {}
    for user_id, scopes in grants.items():
        access, refresh = fake.grant(user_id, scopes)
        entries[user_id] = {"user_id": user_id, "token": access, "refresh": refresh,
                            "last_validated": "2024-01-01T00:00:00"}
    TokenFile(token_path(settings)).save(entries)


async def start(start_bot: Any, settings: Settings, fake: FakeTwitch) -> tuple[Any, TwitchBotRunner, StreamVoice]:
    client, runner = await start_bot(settings)
    sv: StreamVoice = app_of(client)[STREAMVOICE]
    sv.channel_points.retry = Backoff(initial=0.05, cap=0.3)  # fast retries in tests
    await wait_connected(runner, fake)
    return client, runner, sv


async def start_with_reward(start_bot: Any, settings: Settings, fake: FakeTwitch
                            ) -> tuple[Any, TwitchBotRunner, StreamVoice, FakeReward]:
    client, runner, sv = await start(start_bot, settings, fake)
    await wait_for(lambda: sv.channel_points.state == "ok"
                   and fake.subscription_types() >= REDEMPTION_SUBSCRIPTIONS, timeout=WAIT_S)
    [reward] = fake.points.ours()
    return client, runner, sv, reward


def items(settings: Settings) -> list[dict[str, Any]]:
    return dbutil.rows(settings.database_url, "origin = 'channel_points'")


def item_of(settings: Settings, redemption_id: str) -> dict[str, Any]:
    [row] = dbutil.rows(settings.database_url, "redemption_id = ?", (redemption_id,))
    return row


async def queued(settings: Settings, redemption_id: str) -> dict[str, Any]:
    await wait_for(lambda: dbutil.rows(settings.database_url, "redemption_id = ?", (redemption_id,)), timeout=WAIT_S)
    return item_of(settings, redemption_id)


async def settled(fake: FakeTwitch, settings: Settings, redemption_id: str, status: str) -> None:
    await wait_for(lambda: fake.points.redemptions[redemption_id].status == status
                   and item_of(settings, redemption_id)["redemption_status"] == status.lower(), timeout=WAIT_S)


async def test_reward_created_once_and_a_redemption_played_is_fulfilled(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings, title="Say it", prompt="Type it")
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    assert (reward.title, reward.cost, reward.prompt) == ("Say it", 250, "Type it")
    assert reward.is_user_input_required and not reward.should_redemptions_skip_request_queue
    assert (await health(client))["channel_points"] == "ok"

    redemption = await fake_twitch.points.redeem(cast.viewer, reward, "what a play, no mention needed")
    row = await queued(settings, redemption)
    assert (row["queue"], row["origin"], row["redemption_status"]) == ("bits", "channel_points", "unfulfilled")
    view = await (await client.get("/api/queue?queue=bits")).json()
    [entry] = view["items"]
    assert (entry["source"], entry["redemption_status"]) == ("channel_points", "unfulfilled")

    player = await Player.connect(client)  # the App: WebSocket frames carry the refund state too
    assert (await client.put("/api/mode", json={"mode": "bits"})).status == 200
    await wait_for(lambda: item_of(settings, redemption)["status"] == "ready")
    playing = await (await client.post("/api/play")).json()
    assert playing["playing"]["id"] == row["id"]
    frame = await player.wait_type("play", id=row["id"])
    assert (frame["source"], frame["redemption_status"]) == ("channel_points", "unfulfilled")
    await player.close()
    assert (await client.post(f"/api/played/{row['id']}")).status == 200
    await settled(fake_twitch, settings, redemption, "FULFILLED")
    history = await (await client.get("/api/history")).json()
    assert history["items"][0]["redemption_status"] == "fulfilled"
    await client.close()

    # a restart reuses the reward: looked up among the manageable ones, never a second one
    client, _, _, again = await start_with_reward(start_bot, settings, fake_twitch)
    assert again.id == reward.id and len(fake_twitch.points.rewards) == 1
    assert fake_twitch.points.calls_to("POST", REWARDS_PATH) == [200]
    assert len(items(settings)) == 1  # the fulfilled one was not picked up again


async def test_removed_refused_and_empty_redemptions_are_refunded(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = dataclasses.replace(points_settings(twitch_settings), banned_words=("badword",))
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    removed = await fake_twitch.points.redeem(cast.viewer, reward, "remove me please")
    banned = await fake_twitch.points.redeem(cast.viewer, reward, "you badword")
    empty = await fake_twitch.points.redeem(cast.moderator, reward, "")
    row = await queued(settings, removed)
    assert (await client.delete(f"/api/messages/{row['id']}")).status == 200
    for redemption in (removed, banned, empty):
        await settled(fake_twitch, settings, redemption, "CANCELED")
    assert item_of(settings, empty)["reason"] == "empty"
    assert item_of(settings, banned)["reason"] == "banned word"
    assert fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [200, 200, 200]  # once each


async def test_an_item_that_leaves_the_queue_is_settled_at_once_not_at_the_next_idle_look(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast, monkeypatch: Any) -> None:
    """The loop wakes on every change of the queue: with its idle look an hour away, a removal is still refunded
    (it used to wait for the idle look, up to 5 s after the item left)."""
    monkeypatch.setattr(redemptions, "IDLE_S", 3600.0)
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    removed = await fake_twitch.points.redeem(cast.viewer, reward, "remove me please")
    row = await queued(settings, removed)
    assert (await client.delete(f"/api/messages/{row['id']}")).status == 200
    await settled(fake_twitch, settings, removed, "CANCELED")
    assert fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [200]


async def test_stop_skip_and_clear_refund(start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch,
                                         cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    ids = [await fake_twitch.points.redeem(cast.viewer, reward, f"line number {n}") for n in range(3)]
    for redemption in ids:
        await queued(settings, redemption)
    await client.put("/api/mode", json={"mode": "bits"})
    await wait_for(lambda: item_of(settings, ids[0])["status"] == "ready" and item_of(settings, ids[1])["status"]
                   == "ready")
    await client.post("/api/play")
    assert (await (await client.post("/api/stop")).json())["stopped"] == item_of(settings, ids[0])["id"]
    await client.post("/api/play")
    await client.post("/api/skip")
    await client.post("/api/clear")
    for redemption in ids:
        await settled(fake_twitch, settings, redemption, "CANCELED")
    assert item_of(settings, ids[0])["reason"] == "stopped"


async def test_redemptions_made_while_stopped_are_picked_up_once(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    await client.close()
    missed = [await fake_twitch.points.redeem(cast.viewer, reward, f"while you were away {n}", notify=False)
              for n in range(3)]

    client, *_ = await start_with_reward(start_bot, settings, fake_twitch)
    await wait_for(lambda: len(items(settings)) == 3, timeout=WAIT_S)
    assert [r["redemption_id"] for r in items(settings)] == missed  # oldest first
    await client.close()

    client, _, _, _ = await start_with_reward(start_bot, settings, fake_twitch)  # still unfulfilled on Twitch
    late = await fake_twitch.points.redeem(cast.viewer, reward, "after the restart")
    await queued(settings, late)
    assert [r["redemption_id"] for r in items(settings)] == [*missed, late]  # none twice


async def test_a_refund_that_fails_twice_lands_after_a_restart(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, sv, reward = await start_with_reward(start_bot, settings, fake_twitch)
    redemption = await fake_twitch.points.redeem(cast.viewer, reward, "refund me eventually")
    row = await queued(settings, redemption)
    sv.channel_points.retry = Backoff(initial=30.0, cap=30.0)  # the next try would be after the restart
    fake_twitch.points.fail_next("PATCH", REDEMPTIONS_PATH, 500)
    assert (await client.delete(f"/api/messages/{row['id']}")).status == 200
    await wait_for(lambda: fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [500], timeout=WAIT_S)
    await wait_for(lambda: sv.loops.state(LOOP).startswith("retrying"))
    assert (await health(client))["loops"][LOOP].startswith("retrying")
    assert item_of(settings, redemption)["redemption_status"] == "pending: canceled"
    await client.close()

    fake_twitch.points.fail_next("PATCH", REDEMPTIONS_PATH, 502)
    dbutil.execute(settings.database_url, "UPDATE redemptions SET next_attempt_at = NULL")  # due now
    client, _, sv, _ = await start_with_reward(start_bot, settings, fake_twitch)
    await settled(fake_twitch, settings, redemption, "CANCELED")
    assert fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [500, 502, 200]  # sent exactly once
    await wait_for(lambda: sv.loops.state(LOOP) == "ok")


async def test_a_4xx_is_dropped_with_the_reason_on_the_item(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, sv, reward = await start_with_reward(start_bot, settings, fake_twitch)
    redemption = await fake_twitch.points.redeem(cast.viewer, reward, "refused later")
    row = await queued(settings, redemption)
    fake_twitch.points.fail_next("PATCH", REDEMPTIONS_PATH, 400)
    await client.delete(f"/api/messages/{row['id']}")
    await wait_for(lambda: item_of(settings, redemption)["redemption_status"] == "failed: canceled", timeout=WAIT_S)
    assert "HTTP 400" in item_of(settings, redemption)["redemption_error"]
    assert fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [400]
    assert sv.loops.state(LOOP) == "ok"


async def test_a_twitch_side_refund_removes_the_item_and_a_timeout_keeps_the_points(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    _, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    refunded = await fake_twitch.points.redeem(cast.viewer, reward, "a moderator refunds this on Twitch")
    troll = fake_twitch.add_user("6006", "troll_99", "Troll_99")
    trolling = await fake_twitch.points.redeem(troll, reward, "something rude")
    for redemption in (refunded, trolling):
        await queued(settings, redemption)

    await fake_twitch.points.resolve_on_twitch(refunded, "CANCELED")
    await wait_for(lambda: item_of(settings, refunded)["is_deleted"] == 1, timeout=WAIT_S)
    assert item_of(settings, refunded)["redemption_status"] == "canceled"

    await fake_twitch.clear_user_messages(troll, broadcaster=cast.streamer)
    await settled(fake_twitch, settings, trolling, "FULFILLED")  # the points are kept
    assert item_of(settings, trolling)["is_deleted"] == 1
    assert fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [200]  # nothing sent for the Twitch refund


async def test_pause_and_live_edits_reach_the_reward(start_bot: Any, twitch_settings: Any,
                                                     fake_twitch: FakeTwitch, cast: Cast, tmp_path: Path) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    path = tmp_path / "settings.yaml"
    twitch = {f.name: getattr(settings.twitch, f.name) for f in dataclasses.fields(settings.twitch)}
    points = {f.name: getattr(settings.channel_points, f.name) for f in dataclasses.fields(settings.channel_points)}
    write_settings(path, settings, twitch=twitch, channel_points=points)

    async def start_from_file(_: Settings) -> tuple[Any, TwitchBotRunner]:
        client, runner = await start_bot(settings, path)
        return client, runner

    client, _, _, reward = await start_with_reward(start_from_file, settings, fake_twitch)
    assert (await client.post("/api/pause")).status == 200
    await wait_for(lambda: reward.is_paused, timeout=WAIT_S)
    assert (await client.post("/api/resume")).status == 200
    await wait_for(lambda: not reward.is_paused, timeout=WAIT_S)

    write_settings(path, settings, twitch=twitch, channel_points={**points, "title": "Speak up", "cost": 500,
                                                                 "global_cooldown": 30})
    await wait_for(lambda: (reward.title, reward.cost, reward.global_cooldown) == ("Speak up", 500, 30),
                   timeout=WAIT_S)


async def test_a_redemption_of_another_reward_is_ignored(start_bot: Any, twitch_settings: Any,
                                                         fake_twitch: FakeTwitch, cast: Cast, caplog: Any) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    _, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    hydrate = fake_twitch.points.made_by_hand(cast.streamer, "Hydrate")
    with caplog.at_level(logging.INFO, logger="service.redemptions"):
        await fake_twitch.points.redeem(cast.viewer, hydrate, "drink water")
        ours = await fake_twitch.points.redeem(cast.viewer, reward, "this one is ours")
        await queued(settings, ours)
    assert len(items(settings)) == 1
    assert "not the TTS reward StreamVoice manages" in caplog.text


async def test_fallback_reward_id_reads_chat_without_refunds(start_bot: Any, twitch_settings: Any,
                                                             fake_twitch: FakeTwitch, cast: Cast) -> None:
    hand_made = fake_twitch.points.made_by_hand(cast.streamer, "Read my message")
    settings = dataclasses.replace(twitch_settings(), channel_points=ChannelPointsSettings(reward_id=hand_made.id))
    store_tokens(settings, fake_twitch, cast, broadcaster_scopes=None)
    client, runner, _ = await start(start_bot, settings, fake_twitch)
    assert (await health(client))["channel_points"].startswith("fallback")
    await fake_twitch.points.redeem_in_chat(cast.viewer, hand_made, "hello through the fallback")
    await wait_for(lambda: len(items(settings)) == 1, timeout=WAIT_S)
    [row] = items(settings)
    assert (row["text"], row["queue"], row["redemption_status"]) == ("hello through the fallback", "bits", None)
    assert runner.component is not None and runner.component.outcomes["queued"] == 0  # not read as chat too
    assert fake_twitch.points.calls == []  # no Helix call without the scope


async def test_both_paths_see_one_redemption_and_queue_it_once(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, _, reward = await start_with_reward(start_bot, settings, fake_twitch)
    await client.close()
    both = dataclasses.replace(settings, channel_points=dataclasses.replace(settings.channel_points,
                                                                           reward_id=reward.id))
    client, runner, _, _ = await start_with_reward(start_bot, both, fake_twitch)
    redemption = await fake_twitch.points.redeem(cast.viewer, reward, "seen twice, read once", in_chat=True)
    await queued(settings, redemption)
    await fake_twitch.chat(cast.viewer, "@streamer a normal line after it", broadcaster=cast.streamer)
    await wait_for(lambda: runner.component is not None and runner.component.outcomes["queued"] == 1,
                   timeout=WAIT_S)
    assert len(items(settings)) == 1


async def test_a_token_without_the_scope_says_so_until_the_broadcaster_authorises(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast, caplog: Any) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast, broadcaster_scopes=BROADCASTER_SCOPES)
    with caplog.at_level(logging.ERROR, logger="bot.channel_points"):
        client, runner = await start_bot(settings)
        await wait_connected(runner, fake_twitch)
        await wait_for(lambda: app_of(client)[STREAMVOICE].channel_points.state == NEEDS_SCOPE, timeout=WAIT_S)
    body = await health(client)
    assert body["channel_points"] == "needs channel:manage:redemptions: authorise again at /twitch/oauth"
    assert body["twitch"] == "connected"  # chat is read all the same
    assert caplog.text.count("channel:manage:redemptions") == 1
    assert fake_twitch.points.rewards == {}

    fake_twitch.signed_in_as = cast.streamer.id
    start_page = await client.get("/twitch/oauth?account=broadcaster", allow_redirects=False)
    consent = start_page.headers["Location"]
    assert MANAGE_SCOPE in parse_qs(urlsplit(consent).query)["scope"][0].split()
    async with ClientSession() as browser:
        back = urlsplit((await browser.get(consent, allow_redirects=False)).headers["Location"])
    assert (await client.get(f"{back.path}?{back.query}")).status == 200
    await wait_for(lambda: app_of(client)[STREAMVOICE].channel_points.state == "ok", timeout=WAIT_S)
    assert len(fake_twitch.points.ours()) == 1


async def test_channel_points_without_the_bot_say_what_is_missing(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(channel_points=ChannelPointsSettings(enabled=True))
    client = await start_server(settings)
    body = await health(client)
    assert body["channel_points"].startswith("off: channel points need the Twitch bot")
    assert body["loops"][LOOP] == "ok"


async def test_a_change_that_landed_before_a_crash_is_not_sent_twice(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = points_settings(twitch_settings)
    store_tokens(settings, fake_twitch, cast)
    client, _, sv, reward = await start_with_reward(start_bot, settings, fake_twitch)
    redemption = await fake_twitch.points.redeem(cast.viewer, reward, "answer lost on the way back")
    row = await queued(settings, redemption)
    sv.channel_points.retry = Backoff(initial=30.0, cap=30.0)
    fake_twitch.points.fail_next("PATCH", REDEMPTIONS_PATH, 500)
    await client.delete(f"/api/messages/{row['id']}")
    await wait_for(lambda: fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [500], timeout=WAIT_S)
    await client.close()
    fake_twitch.points.redemptions[redemption].status = "CANCELED"  # it landed; only the answer was lost

    dbutil.execute(settings.database_url, "UPDATE redemptions SET next_attempt_at = NULL")
    await start_with_reward(start_bot, settings, fake_twitch)
    await settled(fake_twitch, settings, redemption, "CANCELED")
    assert fake_twitch.points.calls_to("PATCH", REDEMPTIONS_PATH) == [500, 404]  # refused, then seen as done
    assert item_of(settings, redemption)["redemption_error"] is None
