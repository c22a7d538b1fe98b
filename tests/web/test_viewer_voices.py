"""A voice for every viewer, on a real server with the tiny model and a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.viewer_voice import default_pool, per_user_mix
from tests import dbutil
from tests.helpers import wait_engine_ready, wait_for
from tests.service.test_live_settings import write_settings

pytestmark = pytest.mark.slow  # renders in several voices through a real server


async def say(client: Any, user: str, text: str) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"sent_by": user, "text": text})
    return {"status": response.status, **(await response.json())}


def viewer_voices(settings: Any) -> dict[str, str]:
    connection = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    try:
        return dict(connection.execute("SELECT login, voice FROM viewer_voices").fetchall())
    finally:
        connection.close()


async def test_per_user_voices_are_stable_across_a_restart_and_differ_between_chatters(
        start_server: Any, make_settings: Any) -> None:
    settings = make_settings(voice_mode="per_user")
    first = await start_server(settings)
    alice = (await say(first, "Alice", "@streamer hi from alice"))["id"]
    bob = (await say(first, "bob", "@streamer hi from bob"))["id"]
    await wait_for(lambda: dbutil.row(settings.database_url, alice)["status"] == "ready")
    alice_voice = dbutil.row(settings.database_url, alice)["voice"]
    assert alice_voice == per_user_mix("alice", default_pool(settings))
    assert dbutil.row(settings.database_url, bob)["voice"] == per_user_mix("bob", default_pool(settings))
    assert alice_voice != dbutil.row(settings.database_url, bob)["voice"]
    queue = await (await first.get("/api/queue")).json()
    assert {item["sent_by"]: item["voice"] for item in queue["items"]}["Alice"] == alice_voice
    await first.close()

    second = await start_server(settings)
    again = (await say(second, "alice", "@streamer back again"))["id"]
    assert dbutil.row(settings.database_url, again)["voice"] == alice_voice


async def test_voice_command_from_the_app(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(viewer_voice_command=True, voice_command_cooldown=60)
    client = await start_server(settings)

    chosen = await say(client, "Alice", "!voice bella")
    assert chosen == {"status": 200, "queued": False, "reason": "voice command: bella"}
    assert viewer_voices(settings) == {"alice": "bella"}
    line = (await say(client, "alice", "@streamer do I sound different?"))["id"]
    assert dbutil.row(settings.database_url, line)["voice"] == "bella100"

    too_soon = await say(client, "alice", "!voice emma")
    assert too_soon["queued"] is False and "cooldown" in too_soon["reason"]
    unknown = await say(client, "bob", "!voice darth_vader")
    assert unknown["queued"] is False and "unknown voice" in unknown["reason"] and "id" not in unknown
    assert viewer_voices(settings) == {"alice": "bella"}

    async with client.ws_connect("/api/ws") as socket:  # the same command through the WebSocket
        await socket.receive_json()  # the state snapshot
        await socket.send_json({"type": "message", "ref": 1, "sent_by": "bob", "text": "!voice george"})
        while (reply := await socket.receive_json(timeout=30)).get("ref") != 1:
            pass  # state events
        assert reply["type"] == "ack" and reply["result"] == {"queued": False, "reason": "voice command: george"}
    assert viewer_voices(settings) == {"alice": "bella", "bob": "george"}

    reset = await say(client, "bob", "!voice")  # a reset is a change too: inside bob's cooldown it waits
    assert reset["queued"] is False and "cooldown" in reset["reason"]
    reset = await say(client, "carol", "!voice")  # nothing to reset: fine, and silent
    assert reset == {"status": 200, "queued": False, "reason": "voice command: back to the default voice"}
    line = (await say(client, "carol", "@streamer default voice"))["id"]
    assert dbutil.row(settings.database_url, line)["voice"] == settings.voice
    assert len(dbutil.rows(settings.database_url)) == 2  # commands are never stored or spoken

    await client.close()  # the choice lives in the database: a restart keeps it
    restarted = await start_server(settings)
    line = (await say(restarted, "ALICE", "@streamer still me?"))["id"]
    assert dbutil.row(settings.database_url, line)["voice"] == "bella100"


async def test_voice_command_is_an_ignored_chat_command_when_off(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    assert (await say(client, "alice", "!voice bella")) == {"status": 200, "queued": False, "reason": "chat command"}
    assert viewer_voices(settings) == {} and dbutil.rows(settings.database_url) == []


async def test_user_voices_with_a_missing_pack_is_rejected_naming_the_key(
        start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)
    await wait_engine_ready(client)
    write_settings(path, settings, user_voices={"alice": "af_nicole"})

    async def rejected() -> Any:
        return (await (await client.get("/api/health")).json())["settings"]["rejected"]

    problem = await wait_for(rejected, timeout=15)
    assert problem["key"] == "user_voices.alice" and "af_nicole" in problem["problem"]
    line = (await say(client, "alice", "@streamer still the channel voice?"))["id"]
    assert dbutil.row(settings.database_url, line)["voice"] == settings.voice

    write_settings(path, settings, user_voices={"alice": "heart100"})  # a pack that exists: accepted

    async def applied() -> bool:
        line = (await say(client, "alice", "@streamer and now?"))["id"]
        return dbutil.row(settings.database_url, line)["voice"] == "heart100"

    await wait_for(applied, timeout=15)
    assert await rejected() is None
