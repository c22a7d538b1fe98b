"""A token revoked after a reconnect, against the fake Twitch with a real twitchio client.

twitchio 3.3 re-registers a socket that reconnected under its *old* session id; when the revocation closes
that socket it removes the new id, so the closed socket stayed in its registry: the bot kept reporting
``reconnecting`` and never asked for (or used) a new authorisation.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession

from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import FakeTwitch
from tests.helpers import health, wait_for


async def _authorise(client: Any, fake: FakeTwitch, user_id: str) -> int:
    """The streamer opens /twitch/oauth and consents on (fake) Twitch as ``user_id``."""
    fake.signed_in_as = user_id
    start = await client.get("/twitch/oauth", allow_redirects=False)
    assert start.status == 302
    async with ClientSession() as browser:
        answer = await browser.get(start.headers["Location"], allow_redirects=False)
        assert answer.status == 302
        back = urlsplit(answer.headers["Location"])
    done = await client.get(f"{back.path}?{back.query}")
    return done.status


async def test_revocation_after_a_dropped_socket_asks_for_and_uses_a_new_authorisation(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    store_tokens(settings, fake_twitch, cast.bot.id)
    client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)
    first_sessions = fake_twitch.chat_sessions()

    await fake_twitch.drop_connections()  # twitchio reconnects the socket and subscribes it again
    await wait_for(lambda: runner.state == "connected" and fake_twitch.chat_sessions()
                   and not fake_twitch.chat_sessions() & first_sessions, timeout=WAIT_S)
    await fake_twitch.chat(cast.viewer, "@streamer after the drop", broadcaster=cast.streamer)
    await wait_for(lambda: runner.component is not None and runner.component.outcomes["queued"] == 1,
                   timeout=WAIT_S)

    await fake_twitch.disconnect_app(cast.bot.id)  # tokens dead, every subscription revoked
    await wait_for(lambda: runner.state == "error: token rejected, authorise again", timeout=WAIT_S)
    assert (await health(client))["twitch"] == "error: token rejected, authorise again"

    assert await _authorise(client, fake_twitch, cast.bot.id) == 200
    await wait_connected(runner, fake_twitch)
    assert runner.bot is not None and all(s.connected for s in runner.bot.chat_sockets())
    await fake_twitch.chat(cast.viewer, "@streamer after the new authorisation", broadcaster=cast.streamer)
    await wait_for(lambda: runner.component is not None and runner.component.outcomes["queued"] == 2,
                   timeout=WAIT_S)
    assert (await health(client))["twitch"] == "connected"


async def test_watcher_survives_a_fault_and_says_so_in_health(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = twitch_settings()
    store_tokens(settings, fake_twitch, cast.bot.id)
    client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)
    bot = runner.bot
    assert bot is not None
    broken = True
    real_connected = bot.chat_connected

    def flaky_connected() -> bool:
        if broken:
            raise RuntimeError("twitchio's socket registry changed size during iteration")
        return real_connected()

    monkeypatch.setattr(bot, "chat_connected", flaky_connected)

    async def loop_state() -> str:
        return str((await health(client))["loops"]["twitch"])

    await wait_for(lambda: _startswith(loop_state(), "retrying: RuntimeError"), timeout=WAIT_S)
    broken = False
    await wait_for(lambda: _startswith(loop_state(), "ok"), timeout=WAIT_S)
    assert runner.bot is bot and runner.state == "connected"  # survived in place, no new login
    await fake_twitch.chat(cast.viewer, "@streamer after the fault", broadcaster=cast.streamer)
    await wait_for(lambda: runner.component is not None and runner.component.outcomes["queued"] == 1,
                   timeout=WAIT_S)


async def _startswith(value: Any, prefix: str) -> bool:
    return str(await value).startswith(prefix)
