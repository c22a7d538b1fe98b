"""Queue moderation against a real server, a real SQLite file and real sockets: remove one item,
skip, purge a chatter, Twitch message ids, hold, approval and stale mentions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests import dbutil
from tests.helpers import mention, wait_for
from tests.players import Player

pytestmark = pytest.mark.slow  # many items rendered and moderated through a real server


async def cheer(client: Any, text: str = "take my bits", user: str = "cheerer", **extra: Any) -> int:
    response = await client.post("/api/bits", json={"sent_by": user, "text": text, "bits_amount": 100, **extra})
    assert response.status == 202, await response.text()
    return int((await response.json())["id"])


def row(settings: Any, message_id: int) -> dict[str, Any]:
    return dbutil.row(settings.database_url, message_id)


async def ready(settings: Any, *ids: int) -> None:
    await wait_for(lambda: all(row(settings, i)["status"] == "ready" for i in ids))


async def test_delete_pending_and_synthesising_items(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    long = " ".join(f"word{n}" for n in range(30))
    first = await mention(client, f"first {long}")
    await wait_for(lambda: row(settings, first)["status"] == "synthesizing", interval=0.002)
    second = await mention(client, "second, still pending behind the first")
    keep = await mention(client, "this one stays")

    for message_id in (first, second):  # first is being synthesised, second waits for its turn
        response = await client.delete(f"/api/messages/{message_id}")
        assert response.status == 200, await response.text()
        assert await response.json() == {"id": message_id, "removed": 1, "stopped": None}
    await ready(settings, keep)
    for message_id in (first, second):
        gone = row(settings, message_id)
        assert gone["is_deleted"] == 1 and gone["deleted_reason"] == "removed" and gone["timestamp_deleted"]
        assert gone["audio_path"] is None  # the WAV finished after the delete was dropped, not attached
    assert sorted(p.name for p in Path(settings.audio_dir).glob("*.wav")) == [f"{keep}.wav"]
    queue = await (await client.get("/api/queue")).json()
    assert [item["id"] for item in queue["items"]] == [keep] and queue["size"] == 1

    again = await client.delete(f"/api/messages/{first}")
    assert again.status == 409 and "already removed (removed)" in (await again.json())["error"]
    unknown = await client.delete("/api/messages/987654")
    assert unknown.status == 404 and "987654" in (await unknown.json())["error"]
    bad = await client.delete("/api/messages/abc")
    assert bad.status == 422 and (await bad.json())["field"] == "id"


async def test_delete_while_playing_stops_it_and_played_is_409(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    playing, after = await mention(client, "playing now"), await mention(client, "played later")
    await ready(settings, playing, after)
    wav = Path(row(settings, playing)["audio_path"])
    await player.command("play")
    await player.wait_type("play", id=playing)

    reply = await player.command("remove", id=playing)  # the WebSocket frame, same command as the route
    assert reply["type"] == "ack" and reply["result"] == {"id": playing, "removed": 1, "stopped": playing}
    await player.wait_type("stop", id=playing)
    gone = row(settings, playing)
    assert gone["is_deleted"] == 1 and gone["deleted_reason"] == "removed" and gone["status"] == "playing"
    assert not wav.exists()
    assert (await client.get(f"/audio/{playing}.wav")).status == 404
    assert (await player.command("ended", id=playing))["status"] == 409  # no longer the item playing

    assert (await client.post("/api/play")).status == 200
    await player.wait_type("play", id=after)
    assert (await client.post(f"/api/played/{after}")).status == 200
    played = await client.delete(f"/api/messages/{after}")
    assert played.status == 409 and "already played" in (await played.json())["error"]
    assert row(settings, after)["is_deleted"] == 0
    missing = await player.command("remove", id=424242)
    assert missing["type"] == "error" and missing["status"] == 404
    await player.close()


async def test_skip_and_remove_in_an_autoplay_run_go_on_after_the_cooldown(start_server: Any,
                                                                          make_settings: Any) -> None:
    cooldown = 0.5
    settings = make_settings(autoplay_cooldown=cooldown)
    client = await start_server(settings)
    player = await Player.connect(client)
    first, second = await mention(client, "skip me"), await mention(client, "remove me")
    third = await mention(client, "play me")
    await ready(settings, first, second, third)
    assert await (await client.post("/api/pause")).json() == {"autoplay": False}
    mark = len(player.events)
    assert await (await client.post("/api/resume")).json() == {"autoplay": True}  # toggle on, and a run starts
    await player.wait_type("play", id=first, start=mark)

    loop = asyncio.get_running_loop()
    assert await (await client.post("/api/skip")).json() == {"skipped": first}
    skipped_at = loop.time()
    await player.wait_type("stop", id=first)
    await player.wait_type("play", id=second)
    assert loop.time() - skipped_at >= cooldown * 0.9
    skipped = row(settings, first)
    assert skipped["status"] == "skipped" and skipped["played_at"] is None and skipped["is_deleted"] == 0
    assert skipped["audio_path"] is None
    state = await player.wait_for(lambda e: e.get("type") == "state" and e["now_playing"] is not None
                                  and e["now_playing"]["id"] == second)
    assert state["autoplay_running"] is True

    # removing the item that plays goes on like SKIP: the run plays the next one after the cooldown
    assert (await (await client.delete(f"/api/messages/{second}")).json())["stopped"] == second
    removed_at = loop.time()
    await player.wait_type("stop", id=second)
    await player.wait_type("play", id=third)
    assert loop.time() - removed_at >= cooldown * 0.9
    assert (await client.post("/api/stop")).status == 200
    assert await (await client.post("/api/skip")).json() == {"skipped": None}  # nothing plays: nothing to skip
    await player.close()


async def test_hold_lets_a_moderator_remove_a_line_before_it_plays(start_server: Any, make_settings: Any) -> None:
    hold = 1.0
    settings = make_settings(hold_seconds=hold, autoplay_cooldown=0.1)
    client = await start_server(settings)
    player = await Player.connect(client)
    loop = asyncio.get_running_loop()
    posted_at = loop.time()
    troll = await mention(client, "something awful", user="troll")
    kind = await mention(client, "something kind", user="viewer")
    queue = await (await client.get("/api/queue")).json()
    held = {item["id"]: item for item in queue["items"]}
    assert held[troll]["held"] is True and 0 < held[troll]["held_seconds_left"] <= hold
    assert held[troll]["playable_at"].endswith("Z") and held[troll]["awaiting_approval"] is False
    refused = await client.post("/api/play")
    assert refused.status == 409 and "held" in (await refused.json())["error"]

    assert (await client.delete(f"/api/messages/{troll}")).status == 200  # inside the hold window
    await client.put("/api/autoplay", json={"enabled": True})
    assert (await client.post("/api/resume")).status == 200  # the run waits for the hold to end
    play = await player.wait_type("play", id=kind)
    assert loop.time() - posted_at >= hold * 0.95
    assert play["held"] is False and play["held_seconds_left"] == 0
    assert not [e for e in player.of_type("play") if e["id"] == troll]

    # a dashboard replay is the streamer's own choice: never held
    await player.command("pause")
    assert (await player.command("ended", id=kind))["type"] == "ack"
    replay = await client.post(f"/api/messages/{kind}/replay")
    assert replay.status == 202, await replay.text()
    copy = (await replay.json())["id"]
    [item] = [i for i in (await (await client.get("/api/queue")).json())["items"] if i["id"] == copy]
    assert item["held"] is False and item["held_seconds_left"] == 0
    assert (await player.command("play"))["result"]["playing"]["id"] == copy
    await player.close()


async def test_stale_mentions_are_dropped_when_their_turn_comes(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(mentions_max_age=1.0)
    client = await start_server(settings)
    old = await mention(client, "said long ago")
    bits = await cheer(client, "old cheer, never stale")
    await ready(settings, old, bits)
    await asyncio.sleep(1.2)
    fresh = await mention(client, "said just now")
    started = await client.post("/api/play")  # at once: the fresh one is not stale (it may still be synthesising)
    assert (await started.json())["playing"]["id"] == fresh
    stale = row(settings, old)
    assert (stale["is_deleted"], stale["deleted_reason"]) == (1, "stale")
    assert not Path(stale["audio_path"]).exists()
    await client.post("/api/stop")
    await client.put("/api/mode", json={"mode": "bits"})
    assert (await (await client.post("/api/play")).json())["playing"]["id"] == bits


async def test_purge_a_chatter_in_both_queues(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    trolls = [await mention(client, "troll mention", user="Troll"), await cheer(client, "troll cheer", user="troll")]
    kind = await mention(client, "kind words", user="viewer")
    await ready(settings, *trolls, kind)
    await player.command("play")
    await player.wait_type("play", id=trolls[0])

    response = await client.post("/api/moderation/purge_user", json={"login": "@TROLL"})
    assert await response.json() == {"login": "troll", "removed": 2, "stopped": trolls[0]}
    await player.wait_type("stop", id=trolls[0])
    assert [(row(settings, i)["is_deleted"], row(settings, i)["deleted_reason"]) for i in trolls] == \
        [(1, "removed")] * 2
    assert row(settings, kind)["is_deleted"] == 0
    again = await player.command("purge_user", login="troll")
    assert again["result"] == {"login": "troll", "removed": 0, "stopped": None}
    bad = await client.post("/api/moderation/purge_user", json={"login": "two words"})
    assert bad.status == 422 and (await bad.json())["field"] == "login"
    assert (await client.post("/api/moderation/purge_user", json={})).status == 422
    await player.close()


async def test_message_id_and_delete_message(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    by_http = await mention(client, "from the app", message_id="twitch-msg-1")
    reply = await player.command("bits", sent_by="cheerer", text="cheer from the app", bits_amount=5,
                                 message_id="twitch-msg-2")
    by_ws = reply["result"]["id"]
    assert (row(settings, by_http)["external_id"], row(settings, by_ws)["external_id"]) == \
        ("twitch-msg-1", "twitch-msg-2")
    queue = await (await client.get("/api/queue")).json()
    assert queue["items"][0]["message_id"] == "twitch-msg-1"

    removed = await client.post("/api/moderation/delete_message", json={"message_id": "twitch-msg-1"})
    assert await removed.json() == {"message_id": "twitch-msg-1", "removed": 1, "stopped": None}
    frame = await player.command("delete_message", message_id="twitch-msg-2")
    assert frame["result"]["removed"] == 1
    for message_id in ("twitch-msg-1", "never-seen"):  # already removed, or unknown: a no-op
        noop = await client.post("/api/moderation/delete_message", json={"message_id": message_id})
        assert noop.status == 200 and (await noop.json())["removed"] == 0
    assert (await client.post("/api/moderation/delete_message", json={})).status == 422
    too_long = await client.post("/api/messages", json={"sent_by": "a", "text": "@streamer x", "message_id": "x" * 65})
    assert too_long.status == 422 and (await too_long.json())["field"] == "message_id"
    assert [row(settings, i)["deleted_reason"] for i in (by_http, by_ws)] == ["removed", "removed"]
    await player.close()


async def test_bits_wait_for_approval(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(bits_need_approval=True)
    client = await start_server(settings)
    player = await Player.connect(client)
    approved, rejected = await cheer(client, "approve me"), await cheer(client, "reject me")
    plain = await mention(client, "mentions need no approval")
    await ready(settings, approved, rejected, plain)
    await client.put("/api/mode", json={"mode": "bits"})
    items = {i["id"]: i for i in (await (await client.get("/api/queue")).json())["items"]}
    assert items[approved]["held"] is True and items[approved]["awaiting_approval"] is True
    assert (await client.post("/api/play")).status == 409

    assert await (await client.post(f"/api/messages/{approved}/approve")).json() == {"approved": approved}
    assert (await client.post(f"/api/messages/{approved}/approve")).status == 409
    assert (await player.command("reject", id=rejected))["result"] == {"rejected": rejected}
    assert (await client.post(f"/api/messages/{rejected}/reject")).status == 409
    assert (row(settings, rejected)["is_deleted"], row(settings, rejected)["deleted_reason"]) == (1, "rejected")
    assert (await client.post(f"/api/messages/{plain}/approve")).status == 409
    assert (await client.post("/api/messages/55555/approve")).status == 404
    assert (await client.post("/api/messages/55555/reject")).status == 404

    assert (await (await client.post("/api/play")).json())["playing"]["id"] == approved
    await player.wait_type("play", id=approved)
    await player.close()
