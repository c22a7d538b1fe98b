"""The Twitch bot end to end: a real twitchio client in a real StreamVoice server, against a fake Twitch.

Every wait polls an observable (the database, /api/health, the fake's sessions, the component's outcome
counters) with a timeout; nothing relies on sleeping "long enough".
"""

from __future__ import annotations

import json
import socket
import stat
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import twitchio.http
from aiohttp import ClientSession

from bot.context import BOT_SCOPES, TwitchBotRunner
from bot.tokens import token_path
from tests import dbutil
from tests.bot.conftest import WAIT_S, Cast, store_tokens, wait_connected
from tests.bot.fake_twitch import FakeTwitch
from tests.helpers import health, wait_for


def _outcome(runner: TwitchBotRunner, name: str) -> int:
    assert runner.component is not None
    return runner.component.outcomes[name]


async def _queue_ids(client: Any) -> list[int]:
    body = await (await client.get("/api/queue")).json()
    return [item["id"] for item in body["items"]]


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _connected_bot(start_bot: Any, settings: Any, fake: FakeTwitch, user_id: str) -> tuple[Any, Any]:
    store_tokens(settings, fake, user_id)
    client, runner = await start_bot(settings)
    await wait_connected(runner, fake)
    return client, runner


async def test_mention_queues_and_plain_message_does_not(start_bot: Any, twitch_settings: Any,
                                                         fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)
    assert (await health(client))["twitch"] == "connected"

    await fake_twitch.chat(cast.viewer, "what a play", broadcaster=cast.streamer)
    mention_id = await fake_twitch.chat(cast.viewer, "@streamer nice one Kappa", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1 and _outcome(runner, "not queued") == 1, timeout=WAIT_S)

    rows = dbutil.rows(settings.database_url)
    assert len(rows) == 1, "the plain message must not be stored"
    row = rows[0]
    assert row["queue"] == "mentions" and row["source"] == "twitch" and row["external_id"] == mention_id
    assert row["sent_by"] == "Viewer_One" and row["text"] == "@streamer nice one Kappa"
    # "Kappa" is not in settings.emotes: it is dropped because Twitch marked it as an emote fragment
    assert row["spoken_text"] == "nice one"
    assert await _queue_ids(client) == [row["id"]]


async def test_cheer_queues_with_bits_and_without_cheermotes(start_bot: Any, twitch_settings: Any,
                                                             fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    _client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)

    await fake_twitch.chat(cast.viewer, "Cheer100 great stream BibleThump100 keep going", bits=200,
                           broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1, timeout=WAIT_S)

    [row] = dbutil.rows(settings.database_url)
    assert row["queue"] == "bits" and row["bits_amount"] == 200
    assert row["text"] == "great stream keep going"
    assert "cheer" not in row["spoken_text"].lower() and "biblethump" not in row["spoken_text"].lower()
    assert "great stream keep going" in row["spoken_text"]


async def test_ttsclear_only_for_moderators_and_the_broadcaster(start_bot: Any, twitch_settings: Any,
                                                                fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)

    async def queue_one(text: str) -> None:
        queued = _outcome(runner, "queued")
        await fake_twitch.chat(cast.viewer, text, broadcaster=cast.streamer)
        await wait_for(lambda: _outcome(runner, "queued") == queued + 1, timeout=WAIT_S)

    await queue_one("@streamer first")
    await fake_twitch.chat(cast.viewer, "!ttsclear", broadcaster=cast.streamer)
    await fake_twitch.chat(cast.viewer, "!ttsclear", broadcaster=cast.streamer, badges=["vip", "subscriber"])
    await wait_for(lambda: runner.refused == 2, timeout=WAIT_S)
    assert len(await _queue_ids(client)) == 1, "a viewer (or VIP) must not clear the queue"
    assert _outcome(runner, "cleared") == 0 and fake_twitch.sent_messages == []

    for who, badge in ((cast.moderator, "moderator"), (cast.lead, "lead_moderator"), (cast.streamer, "broadcaster")):
        cleared = _outcome(runner, "cleared")
        await queue_one(f"@streamer before {badge}")
        assert await _queue_ids(client)
        await fake_twitch.chat(who, "!TTSClear", broadcaster=cast.streamer, badges=[badge])
        await wait_for(lambda: _outcome(runner, "cleared") == cleared + 1, timeout=WAIT_S)  # noqa: B023
        assert await _queue_ids(client) == []

    # one confirmation, from the bot with its own token; later clears within the interval stay silent
    assert [(m["sender_id"], m["broadcaster_id"]) for m in fake_twitch.sent_messages] == [(cast.bot.id,
                                                                                            cast.streamer.id)]
    assert fake_twitch.sent_messages[0]["message"] == "TTS queue cleared (2 messages)."
    await wait_for(lambda: _outcome(runner, "ignored") == 1, timeout=WAIT_S)  # its echo in chat
    assert runner.refused == 2


async def test_ttsclear_from_the_bot_account_when_it_is_the_broadcaster(start_bot: Any, twitch_settings: Any,
                                                                        fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings(bot_user=cast.streamer)
    client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.streamer.id)

    await fake_twitch.chat(cast.viewer, "@streamer hello", broadcaster=cast.streamer)
    await fake_twitch.chat(cast.streamer, "@streamer talking to myself", broadcaster=cast.streamer,
                           badges=["broadcaster"])
    await wait_for(lambda: _outcome(runner, "queued") == 1 and _outcome(runner, "ignored") == 1, timeout=WAIT_S)
    assert len(await _queue_ids(client)) == 1, "the bot account's own lines are never spoken"

    await fake_twitch.chat(cast.streamer, "!ttsclear", broadcaster=cast.streamer, badges=["broadcaster"])
    await wait_for(lambda: _outcome(runner, "cleared") == 1, timeout=WAIT_S)
    assert await _queue_ids(client) == []
    assert [m["sender_id"] for m in fake_twitch.sent_messages] == [cast.streamer.id]
    # the confirmation comes back as the broadcaster's own chat line: ignored, and not a command
    await wait_for(lambda: _outcome(runner, "ignored") == 3, timeout=WAIT_S)
    assert _outcome(runner, "cleared") == 1 and len(fake_twitch.sent_messages) == 1


async def test_bot_is_quiet_while_the_app_is_online(start_bot: Any, twitch_settings: Any,
                                                    fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)
    assert (await health(client))["ingest_source"] == "twitch"

    app_socket = await client.ws_connect("/api/ws")
    await wait_for(lambda: runner.sv.ingest_source == "app", timeout=WAIT_S)
    assert (await health(client))["ingest_source"] == "app"
    await fake_twitch.chat(cast.viewer, "@streamer said while the App listens", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "app online") == 1, timeout=WAIT_S)

    await app_socket.close()
    await wait_for(lambda: runner.sv.ingest_source == "twitch", timeout=WAIT_S)
    await fake_twitch.chat(cast.viewer, "@streamer said after the App left", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1, timeout=WAIT_S)
    assert [r["text"] for r in dbutil.rows(settings.database_url)] == ["@streamer said after the App left"]


async def test_shared_chat_copies_from_other_channels_are_ignored(start_bot: Any, twitch_settings: Any,
                                                                  fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    _client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)

    await fake_twitch.chat(cast.viewer, "@streamer from the other channel", broadcaster=cast.streamer,
                           source_broadcaster=cast.other_streamer)
    await fake_twitch.chat(cast.moderator, "!ttsclear", broadcaster=cast.streamer, badges=["moderator"],
                           source_broadcaster=cast.other_streamer)
    await fake_twitch.chat(cast.viewer, "@streamer typed here during shared chat", broadcaster=cast.streamer,
                           source_broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1 and _outcome(runner, "ignored") == 2, timeout=WAIT_S)
    assert [r["text"] for r in dbutil.rows(settings.database_url)] == ["@streamer typed here during shared chat"]
    assert _outcome(runner, "cleared") == 0


async def test_chat_keeps_flowing_after_a_dropped_socket_and_a_session_reconnect(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)
    first_sessions = fake_twitch.chat_sessions()

    # a network drop; the new socket is slow to be welcomed, so the outage is visible in /api/health
    fake_twitch.welcome_gate.clear()
    await fake_twitch.drop_connections()

    async def twitch_health() -> str:
        return str((await health(client))["twitch"])

    await wait_for(lambda: _equals(twitch_health(), "reconnecting"), timeout=WAIT_S)
    fake_twitch.welcome_gate.set()
    await wait_for(lambda: runner.state == "connected" and fake_twitch.chat_sessions() - first_sessions,
                   timeout=WAIT_S)
    assert await twitch_health() == "connected"
    await fake_twitch.chat(cast.viewer, "@streamer after the drop", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1, timeout=WAIT_S)

    # Twitch's planned move to another server: subscriptions follow, the old socket is closed by the client
    before = fake_twitch.chat_sessions()
    await fake_twitch.request_reconnect()
    await wait_for(lambda: fake_twitch.chat_sessions() and not fake_twitch.chat_sessions() & before
                   and len(fake_twitch.sessions) == 1, timeout=WAIT_S)
    await fake_twitch.chat(cast.viewer, "@streamer after the reconnect", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 2, timeout=WAIT_S)
    assert runner.state == "connected"
    assert [r["text"] for r in dbutil.rows(settings.database_url)] == [
        "@streamer after the drop", "@streamer after the reconnect"]


async def test_bad_credentials_show_in_health_and_the_api_keeps_working(start_bot: Any, twitch_settings: Any,
                                                                        fake_twitch: FakeTwitch, cast: Cast,
                                                                        caplog: Any) -> None:
    settings = twitch_settings(client_secret="not-the-secret")
    store_tokens(settings, fake_twitch, cast.bot.id)
    client, runner = await start_bot(settings)

    await wait_for(lambda: runner.state == "error: bad credentials", timeout=WAIT_S)
    assert (await health(client))["twitch"] == "error: bad credentials"
    assert (await health(client))["ingest_source"] == "none"  # App offline and the bot cannot read chat
    assert "not-the-secret" not in caplog.text
    assert any("client_id/client_secret" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")

    response = await client.post("/api/messages", json={"sent_by": "viewer", "text": "@streamer via the App"})
    assert response.status == 202
    assert len(await _queue_ids(client)) == 1


async def test_twitch_unreachable_at_start_is_retried(start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch,
                                                      cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        dead_id_host = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    monkeypatch.setattr(twitchio.http.Route, "ID_BASE", dead_id_host)
    settings = twitch_settings()
    store_tokens(settings, fake_twitch, cast.bot.id)
    client, runner = await start_bot(settings)

    await wait_for(lambda: runner.state == "error: cannot reach Twitch", timeout=WAIT_S)
    assert (await health(client))["twitch"] == "error: cannot reach Twitch"
    monkeypatch.setattr(twitchio.http.Route, "ID_BASE", fake_twitch.id_base)  # the network is back
    await wait_connected(runner, fake_twitch)
    await fake_twitch.chat(cast.viewer, "@streamer we are back", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1, timeout=WAIT_S)


async def test_expired_token_is_refreshed_and_saved(start_bot: Any, twitch_settings: Any,
                                                    fake_twitch: FakeTwitch, cast: Cast, caplog: Any) -> None:
    settings = twitch_settings()
    old_access, old_refresh = store_tokens(settings, fake_twitch, cast.bot.id)
    fake_twitch.expire(old_access)
    _client, runner = await start_bot(settings)
    await wait_connected(runner, fake_twitch)

    def saved() -> dict[str, Any]:
        return dict(json.loads(token_path(settings).read_text())[cast.bot.id])

    await wait_for(lambda: saved()["token"] != old_access, timeout=WAIT_S)
    entry = saved()
    assert entry["refresh"] != old_refresh and entry["token"] in fake_twitch.user_tokens
    assert old_access not in caplog.text and entry["token"] not in caplog.text


async def test_revoked_token_asks_for_a_new_authorisation(start_bot: Any, twitch_settings: Any,
                                                          fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    access, _ = store_tokens(settings, fake_twitch, cast.bot.id)
    fake_twitch.revoke(cast.bot.id)
    client, runner = await start_bot(settings)

    await wait_for(lambda: runner.state == "error: token rejected, authorise again", timeout=WAIT_S)
    assert (await health(client))["twitch"] == "error: token rejected, authorise again"
    assert access not in token_path(settings).read_text(), "a dead token is dropped from the file"


async def test_access_revoked_while_running_asks_for_a_new_authorisation(
        start_bot: Any, twitch_settings: Any, fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await _connected_bot(start_bot, settings, fake_twitch, cast.bot.id)

    await fake_twitch.disconnect_app(cast.bot.id)
    await wait_for(lambda: runner.state == "error: token rejected, authorise again", timeout=WAIT_S)
    assert (await health(client))["twitch"] == "error: token rejected, authorise again"
    assert cast.bot.id not in json.loads(token_path(settings).read_text())
    response = await client.post("/api/messages", json={"sent_by": "viewer", "text": "@streamer still here"})
    assert response.status == 202


async def test_first_run_authorisation_through_our_server(start_bot: Any, twitch_settings: Any,
                                                          fake_twitch: FakeTwitch, cast: Cast) -> None:
    settings = twitch_settings()
    client, runner = await start_bot(settings)
    await wait_for(lambda: runner.state == "waiting for authorisation", timeout=WAIT_S)
    assert not token_path(settings).exists()

    async def authorise(signed_in_as: str) -> tuple[int, str]:
        fake_twitch.signed_in_as = signed_in_as
        start = await client.get("/twitch/oauth", allow_redirects=False)
        assert start.status == 302
        consent = start.headers["Location"]
        assert consent.startswith(fake_twitch.id_base + "oauth2/authorize?")
        assert set(parse_qs(urlsplit(consent).query)["scope"][0].split()) == set(BOT_SCOPES)
        async with ClientSession() as browser:  # the streamer's browser on Twitch's consent page
            answer = await browser.get(consent, allow_redirects=False)
            assert answer.status == 302
            back = urlsplit(answer.headers["Location"])
        assert back.path == "/twitch/oauth/callback"
        done = await client.get(f"{back.path}?{back.query}")
        return done.status, await done.text()

    status, page = await authorise(cast.viewer.id)  # signed in with the wrong account
    assert status == 400 and "viewer_one" in page and cast.bot.id in page
    assert runner.state == "waiting for authorisation" and not token_path(settings).exists()

    status, page = await authorise(cast.bot.id)
    assert status == 200 and "streamvoicebot" in page
    await wait_connected(runner, fake_twitch)
    path = token_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == {cast.bot.id}

    replay = await client.get("/twitch/oauth/callback?code=whatever&state=used-or-made-up")
    assert replay.status == 400
    await fake_twitch.chat(cast.viewer, "@streamer hello new bot", broadcaster=cast.streamer)
    await wait_for(lambda: _outcome(runner, "queued") == 1, timeout=WAIT_S)
