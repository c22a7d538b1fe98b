"""Fixtures for the Twitch bot tests: a fake Twitch that the real twitchio client is pointed at."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import twitchio.eventsub.websockets
import twitchio.http
from aiohttp.test_utils import TestClient, TestServer

from bot.context import BOT_SCOPES, TWITCH_BOT, TwitchBotRunner
from bot.tokens import TokenFile, token_path
from core.settings import Settings, TwitchSettings
from tests.bot.fake_twitch import FakeTwitch, FakeUser
from tests.helpers import wait_for

#: Short waits so retries and state changes show up fast; confirmations never repeat within a test.
BOT_OPTIONS: dict[str, Any] = {"retry_delays": (0.1,), "poll_interval": 0.05, "confirm_interval": 3600.0,
                               "login_timeout": 10.0}
WAIT_S = 10.0


@dataclass
class Cast:
    """The people in the fake channel."""

    streamer: FakeUser
    bot: FakeUser
    viewer: FakeUser
    moderator: FakeUser
    lead: FakeUser
    other_streamer: FakeUser


@pytest.fixture
async def fake_twitch(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwitch]:
    """twitchio reads its hosts from these three module attributes on every request/connection."""
    fake = FakeTwitch()
    await fake.start()
    monkeypatch.setattr(twitchio.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(twitchio.http.Route, "ID_BASE", fake.id_base)
    monkeypatch.setattr(twitchio.eventsub.websockets, "WSS", fake.wss)
    yield fake
    await fake.close()


@pytest.fixture
def cast(fake_twitch: FakeTwitch) -> Cast:
    return Cast(
        streamer=fake_twitch.add_user("1001", "streamer", "Streamer"),
        bot=fake_twitch.add_user("2002", "streamvoicebot", "StreamVoiceBot"),
        viewer=fake_twitch.add_user("3003", "viewer_one", "Viewer_One"),
        moderator=fake_twitch.add_user("4004", "mod_person", "Mod_Person"),
        lead=fake_twitch.add_user("4005", "lead_mod", "Lead_Mod"),
        other_streamer=fake_twitch.add_user("5005", "otherstreamer", "OtherStreamer"),
    )


@pytest.fixture
def twitch_settings(make_settings: Callable[..., Settings], fake_twitch: FakeTwitch,
                    cast: Cast) -> Callable[..., Settings]:
    """Settings with the bot enabled; ``bot_user`` picks the bot account, ``twitch`` overrides keys."""

    def make(bot_user: FakeUser | None = None, **twitch: Any) -> Settings:
        section = TwitchSettings(client_id=fake_twitch.client_id, client_secret=fake_twitch.client_secret,
                                 bot_id=(bot_user or cast.bot).id, channel=cast.streamer.login,
                                 app_online_window=30.0)
        return make_settings(twitch=dataclasses.replace(section, **twitch))

    return make


def store_tokens(settings: Settings, fake: FakeTwitch, user_id: str,
                 scopes: tuple[str, ...] = BOT_SCOPES) -> tuple[str, str]:
    """Put a token pair in the token file, as a previous authorisation would have."""
    access, refresh = fake.grant(user_id, scopes)
    TokenFile(token_path(settings)).save({user_id: {"user_id": user_id, "token": access, "refresh": refresh,
                                                    "last_validated": "2024-01-01T00:00:00"}})
    return access, refresh


@pytest.fixture
async def start_bot(fake_twitch: FakeTwitch, engine_loader: Any) -> AsyncIterator[Callable[..., Any]]:
    """``client, runner = await start_bot(settings)``: the app as ``streamvoice`` assembles it (the bot task
    and its authorisation pages), with short bot delays, on a real server."""
    from assembly.app import build_app

    clients: list[TestClient[Any, Any]] = []

    async def start(settings: Settings, settings_path: Path | None = None
                    ) -> tuple[TestClient[Any, Any], TwitchBotRunner]:
        app = build_app(settings, settings_path, engine_loader=engine_loader, bot_options=BOT_OPTIONS)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client, app[TWITCH_BOT]

    yield start
    for client in reversed(clients):
        await client.close()


async def wait_connected(runner: TwitchBotRunner, fake: FakeTwitch) -> None:
    await wait_for(lambda: runner.state == "connected" and fake.chat_sessions(), timeout=WAIT_S)

