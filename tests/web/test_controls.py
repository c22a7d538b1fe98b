"""GET controls for tools that can only open a URL, and ``/audio/latest.wav``, against the real server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests import dbutil
from tests.helpers import app_of, wait_for
from tests.players import Player
from web.keys import STREAMVOICE

TOKEN = "get-controls-token"
NO_TOKEN = {"error": "set api_token to use GET controls"}


def _count(settings: Any) -> int:
    return len(dbutil.rows(settings.database_url))


async def test_without_api_token_get_controls_are_refused_and_change_nothing(
        start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    for path in ("/api/speak?text=hello&user=viewer", "/api/control/play", "/api/control/clear",
                 "/api/control/replay_last"):
        response = await client.get(path)
        assert response.status == 403 and await response.json() == NO_TOKEN, path
    assert (await client.get("/api/control/dance")).status == 404
    assert _count(settings) == 0
    assert app_of(client)[STREAMVOICE].playback.autoplay is False


async def test_with_a_token_get_speak_queues_like_an_app_message(
        start_server: Any, make_settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    settings = make_settings(api_token=TOKEN)
    client = await start_server(settings)
    assert (await client.get("/api/speak?text=hello&user=viewer")).status == 401
    assert (await client.get("/api/speak?text=hello&user=viewer&token=wrong")).status == 401
    assert (await client.get("/api/control/play?token=wrong")).status == 401
    assert _count(settings) == 0
    # no @mention needed; the answer is POST /api/messages' answer
    response = await client.get(f"/api/speak?text=hello+from+the+deck&user=streamerbot&token={TOKEN}")
    assert response.status == 202
    body = await response.json()
    assert body == {"queued": True, "id": body["id"], "queue": "mentions", "source": "api"}
    row = dbutil.row(settings.database_url, body["id"])
    assert row["origin"] == "api" and row["text"] == "hello from the deck" and row["sent_by"] == "streamerbot"
    # the same rules as an App message: a chat bot is ignored, a command is not spoken, empty text is refused
    ignored = await client.get("/api/speak", params={"text": "hi", "user": "nightbot", "token": TOKEN})
    assert ignored.status == 200 and (await ignored.json()) == {"queued": False, "reason": "ignored user"}
    empty = await client.get("/api/speak", params={"text": " ", "user": "u"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert empty.status == 422 and (await empty.json())["field"] == "text"
    no_user = await client.get("/api/speak", params={"text": "hi", "token": TOKEN})
    assert no_user.status == 422 and (await no_user.json())["field"] == "user"
    assert not [r for r in caplog.records if TOKEN in r.getMessage() or "wrong" in r.getMessage()]


async def test_get_controls_drive_playback_and_latest_wav_keeps_the_last_one(
        start_server: Any, make_settings: Any) -> None:
    settings = make_settings(api_token=TOKEN)
    client = await start_server(settings)
    auth = {"token": TOKEN}
    assert (await client.get("/audio/latest.wav")).status == 404  # nothing has played
    first = await (await client.get("/api/speak", params={"text": "first line", "user": "a", **auth})).json()
    await wait_for(lambda: dbutil.row(settings.database_url, first["id"])["status"] == "ready", timeout=180)
    player = await Player.connect(client, token=TOKEN)  # a player reports the end, as the overlay does
    played = await client.get("/api/control/play", params=auth)
    assert played.status == 200 and (await played.json())["playing"]["id"] == first["id"]
    wav_now = await client.get("/audio/latest.wav")
    assert wav_now.status == 200 and wav_now.headers["X-Item-Id"] == str(first["id"])
    data = await wav_now.read()
    stored = Path(dbutil.row(settings.database_url, first["id"])["audio_path"]).read_bytes()
    assert data == stored
    stopped = await client.get("/api/control/stop", params=auth)
    assert stopped.status == 200 and (await stopped.json()) == {"stopped": first["id"]}
    await wait_for(lambda: dbutil.row(settings.database_url, first["id"])["audio_path"] is None)
    later = await client.get("/audio/latest.wav")  # its file is gone; the copy is still served
    assert later.status == 200 and await later.read() == stored
    replayed = await client.get("/api/control/replay_last", params=auth)
    assert replayed.status == 202
    again = await replayed.json()
    assert again["replay_of"] == first["id"] and again["queued"] is True
    assert (await client.get("/api/control/pause", params=auth)).status == 200
    resumed = await client.get("/api/control/resume", params=auth)
    assert resumed.status == 200 and (await resumed.json()) == {"autoplay": True}
    skipped = await client.get("/api/control/skip", params=auth)
    assert skipped.status == 200 and "skipped" in await skipped.json()
    cleared = await client.get("/api/control/clear", params=auth)
    assert cleared.status == 200 and "cleared" in await cleared.json()
    unknown = await client.get("/api/control/dance", params=auth)
    assert unknown.status == 404 and "replay_last" in (await unknown.json())["error"]
    await player.close()


async def test_latest_wav_of_a_long_line_that_plays_while_it_renders(
        start_server: Any, make_settings: Any, engine_loader: Any) -> None:
    from tests.web.test_long_lines import parse_stream, play_long_line, start_gated

    client, settings, engine = await start_gated(start_server, make_settings, engine_loader)
    player, message_id, play = await play_long_line(client)
    assert play["streaming"] is True
    live = await client.get("/audio/latest.wav")
    assert live.status == 200 and live.headers["X-Streaming"] == "1"
    head = await live.content.readexactly(44)
    assert parse_stream(head)[0][0] == 0xFFFFFFFF  # a growing WAV, as /audio/{id}.wav sends it
    engine.gate.set()
    streamed = head + await live.read()
    row = await wait_for(lambda: (r := dbutil.row(settings.database_url, message_id))["audio_path"] and r)
    stored = Path(row["audio_path"]).read_bytes()
    assert streamed[44:] == stored[44:]
    assert (await player.command("ended", id=message_id))["type"] == "ack"
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "played")
    kept = await client.get("/audio/latest.wav")  # gathered from the stream, written with exact sizes
    assert kept.status == 200 and kept.headers["X-Item-Id"] == str(message_id)
    assert await kept.read() == stored
    await player.close()
