"""Moderation from Twitch: EventSub message deletes, timeouts/bans, chat clears, and the
moderators' ``!tts`` commands, with a real twitchio client in a real StreamVoice server against the fake Twitch."""

from __future__ import annotations

import uuid
from typing import Any

from bot.context import TwitchBotRunner
from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import (
    CHAT_SUBSCRIPTIONS,
    FakeTwitch,
)
from tests.helpers import wait_for
from tests.players import Player


def _outcome(runner: TwitchBotRunner, name: str) -> int:
    assert runner.component is not None
    return runner.component.outcomes[name]


async def _connected(start_bot: Any, settings: Any, fake: FakeTwitch, cast: Cast) -> tuple[Any, TwitchBotRunner]:
    store_tokens(settings, fake, cast.bot.id)
    client, runner = await start_bot(settings)
    await wait_connected(runner, fake)
    await wait_for(lambda: fake.subscription_types() == CHAT_SUBSCRIPTIONS, timeout=WAIT_S)
    return client, runner


async def _queue_from_chat(fake: FakeTwitch, runner: TwitchBotRunner, lines: list[tuple[Any, str]],
                           broadcaster: Any) -> list[str]:
    before = _outcome(runner, "queued")
    message_ids = [await fake.chat(who, text, broadcaster=broadcaster) for who, text in lines]
    await wait_for(lambda: _outcome(runner, "queued") == before + len(lines), timeout=WAIT_S)
    return message_ids


def _row_of(settings: Any, message_id: str) -> dict[str, Any]:
    [row] = dbutil.rows(settings.database_url, "external_id = ?", (message_id,))
    return row


async def _all_ready(settings: Any) -> None:
    await wait_for(lambda: all(r["status"] == "ready" for r in dbutil.rows(settings.database_url)))


async def test_deletes_timeouts_and_clears_reach_the_queue(start_bot: Any, twitch_settings: Any,
                                                           fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await _connected(start_bot, settings, fake_twitch, cast)
    troll = fake_twitch.add_user("6006", "troll_99", "Troll_99")
    a1, a2, b1, b2 = await _queue_from_chat(fake_twitch, runner, [
        (troll, "@streamer first troll line"), (troll, "@streamer second troll line"),
        (cast.viewer, "@streamer a kind line"), (cast.viewer, "@streamer another kind line")],
        cast.streamer)
    assert [_row_of(settings, m)["external_id"] for m in (a1, a2, b1, b2)] == [a1, a2, b1, b2]
    await _all_ready(settings)
    player = await Player.connect(client)  # the App (a player) is online now; moderation still applies

    # a moderator deletes the message that is playing: it stops, and is removed
    assert (await player.command("play"))["result"]["playing"]["id"] == _row_of(settings, a1)["id"]
    await fake_twitch.delete_message(a1, chatter=troll, broadcaster=cast.streamer)
    await player.wait_type("stop", id=_row_of(settings, a1)["id"])
    assert _row_of(settings, a1)["is_deleted"] == 1 and _row_of(settings, a1)["deleted_reason"] == "removed"

    # a delete for a message that never reached the queue changes nothing
    await fake_twitch.delete_message(str(uuid.uuid4()), chatter=cast.viewer, broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "message deleted") == 2, timeout=WAIT_S)
    assert _outcome(runner, "removed") == 1
    assert [_row_of(settings, m)["is_deleted"] for m in (a2, b1, b2)] == [0, 0, 0]

    # the troll is timed out: only their items go
    await fake_twitch.clear_user_messages(troll, broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "user cleared") == 1, timeout=WAIT_S)
    assert (_row_of(settings, a2)["is_deleted"], _row_of(settings, a2)["deleted_reason"]) == (1, "removed")
    assert [_row_of(settings, m)["is_deleted"] for m in (b1, b2)] == [0, 0]

    # the chat is cleared: the active queue is cleared, the item playing stops
    assert (await player.command("play"))["result"]["playing"]["id"] == _row_of(settings, b1)["id"]
    await fake_twitch.clear_chat(broadcaster=cast.streamer)
    await player.wait_type("stop", id=_row_of(settings, b1)["id"])
    await wait_for(lambda: _outcome(runner, "chat cleared") == 1, timeout=WAIT_S)
    assert [_row_of(settings, m)["deleted_reason"] for m in (b1, b2)] == ["cleared", "cleared"]
    await player.close()


async def test_moderator_chat_commands(start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch,
                                       cast: Cast) -> None:
    settings = twitch_settings()
    _client, runner = await _connected(start_bot, settings, fake_twitch, cast)
    sv = runner.sv
    other = fake_twitch.add_user("7007", "viewer_two", "Viewer_Two")
    first, second, theirs = await _queue_from_chat(fake_twitch, runner, [
        (cast.viewer, "@streamer one"), (cast.viewer, "@streamer two"), (other, "@streamer three")], cast.streamer)
    await _all_ready(settings)

    # a viewer (or a VIP) is ignored silently
    await fake_twitch.chat(cast.viewer, "!tts remove viewer_two", broadcaster=cast.streamer)
    await fake_twitch.chat(cast.viewer, "!tts skip", broadcaster=cast.streamer, badges=["vip"])
    await wait_for(lambda: _outcome(runner, "refused") == 2, timeout=WAIT_S)
    assert _row_of(settings, theirs)["is_deleted"] == 0 and fake_twitch.sent_messages == []

    # remove <user>: by login, with @ and any case; one confirmation per kind in the interval
    for _ in range(2):
        await fake_twitch.chat(cast.moderator, "!TTS remove @Viewer_Two", broadcaster=cast.streamer,
                               badges=["moderator"])
    await wait_for(lambda: _outcome(runner, "mod remove") == 2, timeout=WAIT_S)
    assert (_row_of(settings, theirs)["is_deleted"], _row_of(settings, theirs)["deleted_reason"]) == (1, "removed")
    assert [m["message"] for m in fake_twitch.sent_messages] == ["TTS: removed 1 message from viewer_two."]

    await fake_twitch.chat(cast.lead, "!tts pause", broadcaster=cast.streamer, badges=["lead_moderator"])
    await wait_for(lambda: _outcome(runner, "mod pause") == 1, timeout=WAIT_S)
    assert sv.playback.autoplay is False

    # resume: the toggle goes on and a run starts; skip ends the item as skipped and the run goes on
    await fake_twitch.chat(cast.streamer, "!tts resume", broadcaster=cast.streamer, badges=["broadcaster"])
    first_id, second_id = _row_of(settings, first)["id"], _row_of(settings, second)["id"]
    await wait_for(lambda: sv.playback.current is not None and sv.playback.current.item.id == first_id,
                   timeout=WAIT_S)
    assert sv.playback.autoplay is True
    await fake_twitch.chat(cast.moderator, "!tts skip", broadcaster=cast.streamer, badges=["moderator"])
    await wait_for(lambda: _outcome(runner, "mod skip") == 1, timeout=WAIT_S)
    skipped = _row_of(settings, first)
    assert skipped["status"] == "skipped" and skipped["is_deleted"] == 0 and skipped["played_at"] is None
    await wait_for(lambda: sv.playback.current is not None and sv.playback.current.item.id == second_id,
                   timeout=WAIT_S)
    await wait_for(lambda: len(fake_twitch.sent_messages) == 4, timeout=WAIT_S)
    assert [m["message"] for m in fake_twitch.sent_messages][1:] == [
        "TTS autoplay paused.", "TTS autoplay resumed.", "TTS: skipped."]
    assert all(m["sender_id"] == cast.bot.id for m in fake_twitch.sent_messages)
