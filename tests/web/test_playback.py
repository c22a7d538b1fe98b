"""Playback, queue control and the App's WebSocket, against a real server and real sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests import dbutil
from tests.helpers import mention, wait_engine_ready, wait_for
from tests.players import Player

pytestmark = pytest.mark.slow  # many items rendered and played through a real server


async def cheer(client: Any, text: str = "take my bits", bits: int = 100) -> int:
    response = await client.post("/api/bits", json={"sent_by": "cheerer", "text": text, "bits_amount": bits})
    assert response.status == 202, await response.text()
    return (await response.json())["id"]


async def all_ready(settings: Any, ids: list[int]) -> None:
    await wait_for(lambda: all(dbutil.row(settings.database_url, i)["status"] == "ready" for i in ids), timeout=120)


async def test_play_one_reaches_both_players(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    first, second = await Player.connect(client), await Player.connect(client)
    state = await first.wait_type("state")
    assert {"mode", "autoplay", "size", "ready", "now_playing", "engine", "ingest_source"} <= set(state)
    message_id = await mention(client)
    await all_ready(settings, [message_id])

    reply = await first.command("play")
    assert reply["type"] == "ack" and reply["result"]["playing"]["id"] == message_id
    for player in (first, second):
        play = await player.wait_type("play", id=message_id)
        assert play["audio_url"] == f"/audio/{message_id}.wav" and play["sent_by"] == "viewer"
        assert play["duration"] > 0 and play["text"] == "@streamer hello there"
    assert dbutil.row(settings.database_url, message_id)["status"] == "playing"
    wav = Path(dbutil.row(settings.database_url, message_id)["audio_path"])
    assert (await client.get(f"/audio/{message_id}.wav")).status == 200

    mark = len(second.events)
    assert (await second.command("ended", id=message_id))["type"] == "ack"
    await second.wait_for(lambda e: e.get("type") == "state" and e["now_playing"] is None and e["size"] == 0,
                          start=mark)
    row = dbutil.row(settings.database_url, message_id)
    assert row["status"] == "played" and row["played_at"] and row["audio_path"] is None
    assert not wav.exists()  # played WAVs are removed; the row keeps the metadata
    assert (await client.get(f"/audio/{message_id}.wav")).status == 404
    # a late or duplicate report is refused, not double-counted
    assert (await first.command("ended", id=message_id))["status"] == 409
    await first.close()
    await second.close()


async def test_http_play_when_empty_is_409_and_answers_the_item(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    empty = await client.post("/api/play")
    assert empty.status == 409 and "empty" in (await empty.json())["error"]
    message_id = await mention(client)
    await all_ready(settings, [message_id])
    started = await client.post("/api/play")
    assert started.status == 200
    body = await started.json()
    assert body["playing"]["id"] == message_id and body["playing"]["audio_url"] == f"/audio/{message_id}.wav"
    assert (await client.post("/api/play")).status == 409  # already playing
    assert (await client.post(f"/api/played/{message_id}")).status == 200
    assert dbutil.row(settings.database_url, message_id)["status"] == "played"


async def test_play_before_synthesis_starts_when_the_wav_exists(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    ids = [await mention(client, f"number {n} with a few more words to say") for n in range(3)]
    reply = await player.command("play")
    assert reply["result"]["playing"]["id"] == ids[0]
    play = await player.wait_type("play", id=ids[0])
    assert Path(dbutil.row(settings.database_url, ids[0])["audio_path"]).exists()
    assert play["audio_url"]
    await player.close()


async def test_autoplay_runs_through_three_items_with_cooldown(start_server: Any, make_settings: Any) -> None:
    cooldown = 0.6
    settings = make_settings(autoplay_cooldown=cooldown)
    client = await start_server(settings)
    player = await Player.connect(client)
    ids = [await mention(client, f"autoplay item {n}") for n in range(3)]
    await all_ready(settings, ids)
    assert (await player.command("autoplay", enabled=True))["result"] == {"autoplay": True}
    await player.command("play")
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    ended_at: float | None = None
    for message_id in ids:
        await player.wait_type("play", id=message_id)
        if ended_at is not None:
            gaps.append(loop.time() - ended_at)
        await player.command("ended", id=message_id)
        ended_at = loop.time()
    assert all(cooldown * 0.9 <= gap < cooldown + 5 for gap in gaps), gaps
    assert [dbutil.row(settings.database_url, i)["status"] for i in ids] == ["played"] * 3
    # the run keeps waiting for new items while the toggle is on
    late = await mention(client, "arriving late")
    await player.wait_type("play", id=late)
    await player.close()


async def test_stop_mid_autoplay_ends_the_run_and_keeps_the_toggle(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(autoplay_cooldown=0.3)
    client = await start_server(settings)
    player = await Player.connect(client)
    ids = [await mention(client, f"stop test {n}") for n in range(3)]
    await all_ready(settings, ids)
    await player.command("autoplay", enabled=True)
    await player.command("play")
    await player.wait_type("play", id=ids[0])
    await player.command("ended", id=ids[0])
    await player.wait_type("play", id=ids[1])
    reply = await player.command("stop")
    assert reply["result"] == {"stopped": ids[1]}
    await player.wait_type("stop", id=ids[1])
    await asyncio.sleep(1.0)  # three cooldowns: an autoplay run that survived STOP would have played by now
    assert [e["id"] for e in player.of_type("play")] == ids[:2]
    assert dbutil.row(settings.database_url, ids[1])["status"] == "played"
    assert dbutil.row(settings.database_url, ids[2])["status"] == "ready"
    health = await (await client.get("/api/queue")).json()
    assert health["size"] == 1
    state = player.of_type("state")[-1]
    assert state["autoplay"] is True and state["autoplay_running"] is False
    await player.close()


async def test_a_player_that_never_reports_ended(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(playback_grace=0.3, autoplay_cooldown=0.1)
    client = await start_server(settings)
    player = await Player.connect(client)
    ids = [await mention(client, "nobody listens"), await mention(client, "still nobody")]
    await all_ready(settings, ids)
    await player.command("autoplay", enabled=True)
    await player.command("play")
    await player.wait_type("play", id=ids[0])
    await player.wait_type("play", id=ids[1])  # the timeout finished the first; autoplay went on
    await wait_for(lambda: dbutil.row(settings.database_url, ids[1])["status"] == "played")
    assert dbutil.row(settings.database_url, ids[0])["status"] == "played"
    await player.close()


async def test_clear_while_synthesising(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(max_message_chars=2000)
    client = await start_server(settings)
    await wait_engine_ready(client)
    long_text = " ".join(f"sentence number {n} goes on for a while." for n in range(25))
    ids = [await mention(client, long_text) for _ in range(3)]
    await wait_for(lambda: dbutil.row(settings.database_url, ids[0])["status"] == "synthesizing", interval=0.005)
    response = await client.post("/api/clear")
    assert response.status == 200 and (await response.json())["cleared"] == 3
    await asyncio.sleep(0)
    # give the worker time to finish the item it was rendering
    await wait_for(lambda: not list(Path(settings.audio_dir).glob(".*.part")))
    await asyncio.sleep(2.0)
    for message_id in ids:
        row = dbutil.row(settings.database_url, message_id)
        assert row["is_deleted"] == 1 and row["deleted_reason"] == "cleared" and row["timestamp_deleted"]
        assert row["status"] != "ready"
    assert list(Path(settings.audio_dir).glob("*.wav")) == []
    assert (await (await client.get("/api/queue")).json())["size"] == 0


async def test_clear_leaves_played_and_error_rows_and_the_other_queue(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    played = await mention(client, "already heard")
    await all_ready(settings, [played])
    await client.post("/api/play")
    await client.post(f"/api/played/{played}")
    waiting = [await mention(client, "waiting one"), await mention(client, "waiting two")]
    bits = await cheer(client)
    await all_ready(settings, [*waiting, bits])
    wavs = [Path(dbutil.row(settings.database_url, i)["audio_path"]) for i in waiting]
    dbutil.execute(settings.database_url, "INSERT INTO messages (queue, source, sent_by, text, status, is_deleted, "
                   "received_at) VALUES ('mentions', 'app_http', 'x', '@streamer broken', 'error', 0, "
                   "'2026-01-01 00:00:00')")
    assert (await (await client.post("/api/clear")).json()) == {"cleared": 2}
    assert all(not w.exists() for w in wavs)
    assert dbutil.row(settings.database_url, played)["is_deleted"] == 0
    assert dbutil.rows(settings.database_url, "status = 'error'")[0]["is_deleted"] == 0
    assert dbutil.row(settings.database_url, bits)["is_deleted"] == 0
    assert Path(dbutil.row(settings.database_url, bits)["audio_path"]).exists()


async def test_mode_switch_moves_play_clear_and_size(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    mentions = [await mention(client, "m one"), await mention(client, "m two")]
    bits = await cheer(client)
    await all_ready(settings, [*mentions, bits])
    await player.command("play")
    await player.wait_type("play", id=mentions[0])

    mark = len(player.events)
    reply = await player.command("mode", mode="bits")
    assert reply["result"] == {"mode": "bits"}
    await player.wait_type("stop", id=mentions[0], start=mark)  # a switch stops current playback
    assert dbutil.row(settings.database_url, mentions[0])["status"] == "ready"  # not heard to the end
    await player.wait_for(lambda e: e.get("type") == "state" and e["mode"] == "bits" and e["size"] == 1, start=mark)
    queue = await (await client.get("/api/queue")).json()
    assert queue["mode"] == "bits" and [i["id"] for i in queue["items"]] == [bits]

    assert (await player.command("play"))["result"]["playing"]["id"] == bits
    await player.command("stop")
    assert (await player.command("clear"))["result"] == {"cleared": 0}
    await player.command("mode", mode="mentions")
    assert (await (await client.get("/api/queue")).json())["size"] == 2
    bad = await player.command("mode", mode="everything")
    assert bad["type"] == "error" and bad["status"] == 422
    await player.close()


async def test_mentions_audio_cap_drops_the_oldest(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(mentions_max_audio_mb=0.08)  # ~84 kB: about two short tiny-model WAVs
    client = await start_server(settings)
    ids = [await mention(client, f"cap test message number {n} here") for n in range(5)]
    bits_ids = [await cheer(client, f"bits message number {n} is longer than the others") for n in range(4)]

    def settled() -> bool:
        states = [dbutil.row(settings.database_url, i) for i in ids + bits_ids]
        return all(r["status"] == "ready" or r["is_deleted"] for r in states)

    # nine renders at low priority: on a machine busy with other work they get what the scheduler leaves
    await wait_for(settled, timeout=120)
    live = dbutil.rows(settings.database_url, "queue = 'mentions' AND is_deleted = 0")
    dropped = dbutil.rows(settings.database_url, "queue = 'mentions' AND is_deleted = 1")
    assert sum(r["audio_bytes"] for r in live) <= settings.mentions_max_audio_bytes
    assert dropped and all(r["deleted_reason"] == "overflow" and r["timestamp_deleted"] for r in dropped)
    assert max(r["id"] for r in dropped) < min(r["id"] for r in live)  # oldest first
    assert all(not Path(r["audio_path"]).exists() for r in dropped if r["audio_path"])
    bits_rows = dbutil.rows(settings.database_url, "queue = 'bits'")
    assert all(r["status"] == "ready" and r["is_deleted"] == 0 for r in bits_rows)  # bits are never dropped
    assert sum(r["audio_bytes"] for r in bits_rows) > settings.mentions_max_audio_bytes


async def test_restart_recovers_every_state(start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    first = await start_server(settings)
    ids = [await mention(first, f"recover {n}") for n in range(4)]
    await all_ready(settings, ids)
    await first.put("/api/autoplay", json={"enabled": True})
    await first.put("/api/mode", json={"mode": "bits"})
    await first.close()

    url = settings.database_url
    synthesizing, missing, playing, untouched = ids
    dbutil.execute(url, "UPDATE messages SET status='synthesizing', audio_path=NULL WHERE id=?", (synthesizing,))
    Path(dbutil.row(url, missing)["audio_path"]).unlink()
    dbutil.execute(url, "UPDATE messages SET status='playing' WHERE id=?", (playing,))
    orphan = Path(settings.audio_dir) / "999.wav"
    orphan.write_bytes(b"RIFF")
    half = Path(settings.audio_dir) / ".1000.wav.part"
    half.write_bytes(b"RIFF")

    second = await start_server(settings)
    state = await (await second.get("/api/queue")).json()
    assert state["mode"] == "bits"
    assert dbutil.row(url, playing)["status"] == "ready"  # never heard to the end: ready again
    assert not orphan.exists() and not half.exists()
    await all_ready(settings, ids)  # synthesizing and missing-WAV rows were re-synthesised
    assert Path(dbutil.row(url, untouched)["audio_path"]).exists()
    player = await Player.connect(second)
    first_state = await player.wait_type("state")
    assert first_state["autoplay"] is True and first_state["mode"] == "bits"
    await player.close()


async def test_bad_frames_get_errors_and_the_socket_stays_open(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    await player.wait_type("state")
    mark = len(player.events)
    await player.socket.send_str("{not json")
    await player.socket.send_str("[1, 2]")
    await player.socket.send_json({"type": "dance", "ref": "r1"})
    await player.socket.send_json({"type": "message", "ref": "r2", "text": "@streamer hi"})
    await player.socket.send_json({"type": "bits", "ref": "r3", "sent_by": "v", "text": "x", "bits_amount": -1})
    await player.socket.send_json({"type": "ended", "ref": "r4", "id": "abc"})
    await player.socket.send_bytes(b"\x00\x01")
    errors = []
    for _ in range(7):
        event = await player.wait_for(lambda e: e.get("type") == "error" and e not in errors, start=mark)
        errors.append(event)
    assert errors[0]["error"] == "frame is not valid JSON"
    assert errors[1]["error"] == "frame must be a JSON object"
    assert errors[2]["ref"] == "r1" and "unknown frame type" in errors[2]["error"]
    assert errors[3]["ref"] == "r2" and errors[3]["field"] == "sent_by"
    assert errors[4]["ref"] == "r3" and errors[4]["field"] == "bits_amount"
    assert errors[5]["ref"] == "r4" and errors[5]["field"] == "id"
    assert "binary" in errors[6]["error"]
    ok = await player.command("message", sent_by="v", text="@streamer still open?")
    assert ok["type"] == "ack" and ok["status"] == 202
    assert len(dbutil.rows(settings.database_url)) == 1
    await player.close()


async def test_websocket_token(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings(api_token="tok"))
    try:
        await client.ws_connect("/api/ws")
        raise AssertionError("connected without a token")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 401
    player = await Player.connect(client, token="tok")
    assert (await player.wait_type("state"))["mode"] == "mentions"
    await player.close()
