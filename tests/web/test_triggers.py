"""Trigger rules for the App's lines over HTTP and the WebSocket, the ``source`` each item gets, and trying a
line with ``source``, ``badges`` and ``first_message`` (a real server, the tiny Kokoro model, a real SQLite file)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from core.settings import TriggerSettings
from tests import dbutil
from tests.helpers import app_of, wait_for
from web.keys import SETTINGS


async def _say_http(client: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/messages", json=body)
    return response.status, dict(await response.json())


async def _say_ws(socket: Any, body: dict[str, Any], ref: int) -> tuple[int, dict[str, Any]]:
    await socket.send_json({"type": "message", "ref": ref, **body})
    while (reply := await socket.receive_json(timeout=30)).get("ref") != ref:
        pass  # state events
    if reply["type"] == "error":
        return int(reply["status"]), reply
    return int(reply["status"]), dict(reply["result"])


# (mode, roles, body, expected source or the reason it is not read)
CASES: list[tuple[str, tuple[str, ...], dict[str, Any], str]] = [
    ("mention", (), {"text": "@streamer hello"}, "mention"),
    ("mention", (), {"text": "hello chat"}, "not a mention"),
    ("command", (), {"text": "!tts read this"}, "command"),
    ("command", (), {"text": "@streamer read this"}, "not the !tts command"),
    ("command", (), {"text": "!tts skip"}, "moderation command"),
    ("all", (), {"text": "just chatting"}, "chat"),
    ("all", (), {"text": "!lurk"}, "chat command"),
    ("all", ("vip",), {"text": "no badges sent"}, "chat"),
    ("all", ("vip",), {"text": "not a vip", "badges": ["subscriber"]}, "not one of the roles vip"),
    ("all", ("vip", "moderator"), {"text": "a lead mod", "badges": ["lead_moderator"]}, "chat"),
    ("mention", ("subscriber",), {"text": "@streamer founder here", "badges": ["Founder"]}, "mention"),
]


@pytest.mark.parametrize("transport", ["http", "ws"])
async def test_trigger_modes_and_the_role_gate_for_the_app(start_server: Any, make_settings: Any,
                                                           transport: str) -> None:
    settings = make_settings()
    client = await start_server(settings)
    live = app_of(client)[SETTINGS]
    async with client.ws_connect("/api/ws") as socket:
        await socket.receive_json()  # the state snapshot
        for n, (mode, roles, body, expected) in enumerate(CASES):
            live.current = dataclasses.replace(settings, triggers=TriggerSettings(mode=mode, roles=roles))
            sender = f"viewer{n}"
            line = {"sent_by": sender, **body}
            if transport == "http":
                status, result = await _say_http(client, line)
            else:
                status, result = await _say_ws(socket, line, n + 1)
            rows = dbutil.rows(settings.database_url, "sent_by = ?", (sender,))
            if expected in {"mention", "chat", "command"}:
                assert status == 202 and result["queued"] is True and result["source"] == expected, (mode, body)
                assert [r["origin"] for r in rows] == [expected]
                queue = await (await client.get("/api/queue")).json()
                assert [i["source"] for i in queue["items"] if i["id"] == result["id"]] == [expected]
            else:
                assert status == 200 and result == {"queued": False, "reason": expected}, (mode, body, result)
                assert rows == []


async def test_all_mode_reads_the_streamers_name_and_cooldowns_still_apply(start_server: Any,
                                                                           make_settings: Any) -> None:
    settings = make_settings(triggers=TriggerSettings(mode="all"), per_user_cooldown=60.0)
    client = await start_server(settings)
    status, first = await _say_http(client, {"sent_by": "fan", "text": "@streamer, you are great"})
    assert status == 202
    assert dbutil.row(settings.database_url, first["id"])["spoken_text"] == "streamer, you are great"
    status, second = await _say_http(client, {"sent_by": "fan", "text": "and again"})
    assert status == 200 and second["status"] == "skipped" and second["reason"].startswith("per_user_cooldown")
    assert second["source"] == "chat"


async def test_first_time_chatters_over_http(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(triggers=TriggerSettings(mode="command", roles=("vip",), first_time_chatters=True))
    client = await start_server(settings)
    status, result = await _say_http(client, {"sent_by": "newbie", "text": "hi all, first time here",
                                              "badges": [], "first_message": True})
    assert status == 202 and result["source"] == "chat"
    status, result = await _say_http(client, {"sent_by": "newbie", "text": "my second line", "badges": []})
    assert status == 200 and result["reason"] == "not the !tts command"


@pytest.mark.parametrize(("extra", "field"), [
    ({"badges": "vip"}, "badges"),
    ({"badges": ["vip", 3]}, "badges"),
    ({"badges": [""]}, "badges"),
    ({"badges": ["x"] * 33}, "badges"),
    ({"first_message": "yes"}, "first_message"),
])
async def test_bad_badges_or_first_message_are_refused(start_server: Any, make_settings: Any,
                                                       extra: dict[str, Any], field: str) -> None:
    settings = make_settings()
    client = await start_server(settings)
    status, result = await _say_http(client, {"sent_by": "v", "text": "@streamer hi", **extra})
    assert status == 422 and result["field"] == field
    async with client.ws_connect("/api/ws") as socket:
        await socket.receive_json()
        status, reply = await _say_ws(socket, {"sent_by": "v", "text": "@streamer hi", **extra}, 7)
    assert status == 422 and reply["field"] == field
    assert dbutil.rows(settings.database_url) == []


async def test_try_a_line_with_source_badges_and_first_message(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(triggers=TriggerSettings(mode="command", roles=("subscriber",),
                                                      first_time_chatters=True))
    client = await start_server(settings)

    async def attempt(body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post("/api/try", json={"sent_by": "viewer", **body})
        assert response.status == 200, await response.text()
        return dict(await response.json())

    read = await attempt({"text": "!tts hello", "badges": ["subscriber"]})
    assert read["spoken"] and read["source"] == "command" and read["spoken_text"] == "hello"
    gated = await attempt({"text": "!tts hello", "badges": []})
    assert not gated["spoken"] and gated["reason"] == "not one of the roles subscriber" and gated["source"] is None
    assert (await attempt({"text": "!tts hello"}))["spoken"]  # no badges: as an App that sends none
    first = await attempt({"text": "hello all", "badges": [], "first_message": True})
    assert first["spoken"] and first["source"] == "chat"
    cheer = await attempt({"text": "take my bits", "source": "cheer", "bits_amount": 100, "badges": []})
    assert cheer["spoken"] and cheer["source"] == "cheer" and cheer["queue"] == "bits"

    for body, field in (({"text": "x", "source": "whisper"}, "source"), ({"text": "x", "source": "cheer"},
                                                                         "bits_amount")):
        response = await client.post("/api/try", json={"sent_by": "viewer", **body})
        assert response.status == 422 and (await response.json())["field"] == field
    assert dbutil.rows(settings.database_url) == []


async def test_the_play_frame_and_the_state_carry_the_source(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(triggers=TriggerSettings(mode="command"))
    client = await start_server(settings)
    status, result = await _say_http(client, {"sent_by": "fan", "text": "!tts play me"})
    assert status == 202
    await wait_for(lambda: dbutil.row(settings.database_url, result["id"])["status"] == "ready")
    async with client.ws_connect("/api/ws") as socket:
        await socket.receive_json()
        await socket.send_json({"type": "play", "ref": 1})
        frames = []
        while not any(f.get("type") == "play" for f in frames) or not any(
                f.get("type") == "state" and f.get("now_playing") for f in frames):
            frames.append(await socket.receive_json(timeout=30))
    play = next(f for f in frames if f.get("type") == "play")
    state = next(f for f in frames if f.get("type") == "state" and f.get("now_playing"))
    assert play["id"] == result["id"] and play["source"] == "command"
    assert state["now_playing"]["source"] == "command"
