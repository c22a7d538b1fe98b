"""``!voice`` typed in Twitch chat, through a real twitchio client against the fake Twitch."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import FakeTwitch
from tests.helpers import wait_for
from tests.web.test_viewer_voices import viewer_voices


async def test_voice_command_from_twitch_chat(start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch,
                                              cast: Cast) -> None:
    settings = dataclasses.replace(twitch_settings(), viewer_voice_command=True, voice_command_cooldown=0)
    store_tokens(settings, fake_twitch, cast.bot.id)
    _client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)
    login = cast.viewer.login.lower()

    await fake_twitch.chat(cast.viewer, "!voice bella", broadcaster=cast.streamer)
    await wait_for(lambda: viewer_voices(settings) == {login: "bella"}, timeout=WAIT_S)
    await fake_twitch.chat(cast.viewer, "!voice nobody_knows", broadcaster=cast.streamer)  # ignored
    await fake_twitch.chat(cast.viewer, "@streamer how do I sound?", broadcaster=cast.streamer)
    await wait_for(lambda: len(dbutil.rows(settings.database_url)) == 1, timeout=WAIT_S)
    [row] = dbutil.rows(settings.database_url)
    assert row["voice"] == "bella100" and row["spoken_text"] == "how do I sound?"
    assert viewer_voices(settings) == {login: "bella"}

    await fake_twitch.chat(cast.viewer, "!voice", broadcaster=cast.streamer)  # back to the default, silently
    await wait_for(lambda: viewer_voices(settings) == {}, timeout=WAIT_S)
    assert len(dbutil.rows(settings.database_url)) == 1  # no command was stored or spoken
    assert fake_twitch.sent_messages == []  # and nothing was said in chat
