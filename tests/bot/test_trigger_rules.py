"""Trigger rules for the bot's chat lines: each mode, the role gate from Twitch badges and first-time chatters
(Twitch's ``user_intro``), with a real twitchio client in a real StreamVoice server against the fake Twitch."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.context import TwitchBotRunner
from core.settings import TriggerSettings
from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import FakeTwitch
from tests.helpers import app_of, wait_for
from web.keys import SETTINGS


def _handled(runner: TwitchBotRunner) -> int:
    assert runner.component is not None
    return sum(runner.component.outcomes[k] for k in ("queued", "not queued"))


async def test_each_mode_and_the_role_gate_from_badges(start_bot: Any, twitch_settings: Any,
                                                       fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    store_tokens(settings, fake_twitch, cast.bot.id)
    client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)
    live = app_of(client)[SETTINGS]
    # (mode, roles, badges, message_type, text, expected origin or None, expected spoken text)
    cases: list[tuple[str, tuple[str, ...], list[str], str, str, str | None, str]] = [
        ("mention", (), [], "text", "@streamer mention mode", "mention", "mention mode"),
        ("mention", (), [], "text", "plain chat is not read", None, ""),
        ("command", (), [], "text", "!tts read by command", "command", "read by command"),
        ("command", (), [], "text", "@streamer not in command mode", None, ""),
        ("command", (), ["moderator"], "text", "!tts pause", None, ""),  # a moderator's command, never read
        ("all", (), [], "text", "@streamer all of it", "chat", "streamer all of it"),
        ("all", (), [], "text", "!lurk", None, ""),
        ("all", ("vip", "subscriber"), ["subscriber"], "text", "a subscriber speaks", "chat", "a subscriber speaks"),
        ("all", ("vip", "subscriber"), ["founder"], "text", "a founder speaks", "chat", "a founder speaks"),
        ("all", ("vip", "subscriber"), [], "text", "no badge no voice", None, ""),
        ("mention", ("vip",), ["moderator"], "text", "@streamer a mod but not a vip", None, ""),
    ]
    for n, (mode, roles, badges, kind, text, origin, spoken) in enumerate(cases):
        live.current = dataclasses.replace(settings, triggers=TriggerSettings(mode=mode, roles=roles))
        chatter = fake_twitch.add_user(f"77{n:02d}", f"chatter_{n}", f"Chatter_{n}")
        handled = _handled(runner)
        await fake_twitch.chat(chatter, text, broadcaster=cast.streamer, badges=badges, message_type=kind)
        if text == "!tts pause":
            await wait_for(lambda: runner.component is not None and runner.component.outcomes["mod pause"] == 1,
                           timeout=WAIT_S)
        else:
            await wait_for(lambda: _handled(runner) == handled + 1, timeout=WAIT_S)  # noqa: B023
        rows = dbutil.rows(settings.database_url, "sent_by = ?", (chatter.display_name,))
        if origin is None:
            assert rows == [], (mode, text)
        else:
            assert [(r["origin"], r["spoken_text"]) for r in rows] == [(origin, spoken)], (mode, text, rows)


async def test_first_time_chatters_whatever_the_mode(start_bot: Any, twitch_settings: Any,
                                                     fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = dataclasses.replace(
        twitch_settings(), triggers=TriggerSettings(mode="command", roles=("subscriber",), first_time_chatters=True))
    store_tokens(settings, fake_twitch, cast.bot.id)
    _client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)
    newbie = fake_twitch.add_user("8800", "new_here", "New_Here")
    await fake_twitch.chat(newbie, "hello everyone, found you today", broadcaster=cast.streamer,
                           message_type="user_intro")
    await fake_twitch.chat(newbie, "my second line is not read", broadcaster=cast.streamer)
    await wait_for(lambda: _handled(runner) == 2, timeout=WAIT_S)
    [row] = dbutil.rows(settings.database_url)
    assert row["origin"] == "chat" and row["spoken_text"] == "hello everyone, found you today"
