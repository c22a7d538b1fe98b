"""``!lang`` typed in Twitch chat, through a real twitchio client against the fake Twitch."""

from __future__ import annotations

import dataclasses
from typing import Any

from core.language_settings import LanguageSettings
from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import FakeTwitch
from tests.helpers import wait_for
from tests.web.test_languages import viewer_languages


async def test_lang_command_from_twitch_chat(start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch,
                                             cast: Cast) -> None:
    settings = dataclasses.replace(twitch_settings(), voice_command_cooldown=0,
                                   languages=LanguageSettings(detect=True, viewer_command=True))
    store_tokens(settings, fake_twitch, cast.bot.id)
    _client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)
    login = cast.viewer.login.lower()

    await fake_twitch.chat(cast.viewer, "!lang pt", broadcaster=cast.streamer)
    await wait_for(lambda: viewer_languages(settings) == {login: "p"}, timeout=WAIT_S)
    await fake_twitch.chat(cast.viewer, "!lang klingon", broadcaster=cast.streamer)  # ignored
    await fake_twitch.chat(cast.viewer, "@streamer gg", broadcaster=cast.streamer)
    await wait_for(lambda: len(dbutil.rows(settings.database_url)) == 1, timeout=WAIT_S)
    [row] = dbutil.rows(settings.database_url)
    assert (row["lang"], row["voice"]) == ("p", "pf_dora")  # the viewer's language and its voice
    assert viewer_languages(settings) == {login: "p"}

    await fake_twitch.chat(cast.viewer, "!lang", broadcaster=cast.streamer)  # back to automatic, silently
    await wait_for(lambda: viewer_languages(settings) == {}, timeout=WAIT_S)
    assert len(dbutil.rows(settings.database_url)) == 1  # no command was stored or spoken
    assert fake_twitch.sent_messages == []  # and nothing was said in chat
