"""Queue and moderation rules a hostile tester broke, against a real server, a real SQLite file and real sockets:
matching chatters by one login key, exactly one of approve/reject, replay keeping the approval rule, CLEAR
and pause/resume inside an autoplay run, and the playing row moving with the current item."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests import dbutil
from tests.helpers import app_of, wait_for
from tests.players import Player
from tests.web.test_long_lines import play_long_line, start_gated
from tests.web.test_moderation import cheer, mention, ready, row
from web.keys import STREAMVOICE as SV


def current_id(client: Any) -> int | None:
    current = app_of(client)[SV].playback.current
    return None if current is None else current.item.id


async def test_purge_matches_at_signs_and_unicode_case_and_leaves_nothing_playing(start_server: Any,
                                                                                  make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    trolls = [await mention(client, f"troll line {n}", user="@Troll42") for n in range(3)]
    angry = [await mention(client, "grr", user="Ärger"), await cheer(client, "grr bits", user="ÄRGER")]
    kind = await mention(client, "kind words", user="viewer")
    await ready(settings, *trolls, *angry, kind)
    await player.command("play")
    await player.wait_type("play", id=trolls[0])

    response = await client.post("/api/moderation/purge_user", json={"login": "troll42"})
    assert await response.json() == {"login": "troll42", "removed": 3, "stopped": trolls[0]}
    await player.wait_type("stop", id=trolls[0])
    assert [row(settings, i)["deleted_reason"] for i in trolls] == ["removed"] * 3
    dbutil.check_playing_is_current(settings.database_url, current_id(client))
    assert dbutil.live_playing_ids(settings.database_url) == []  # nothing plays again after a restart

    frame = await player.command("purge_user", login="@ärger")
    assert frame["result"] == {"login": "ärger", "removed": 2, "stopped": None}
    assert [row(settings, i)["deleted_reason"] for i in angry] == ["removed"] * 2
    assert row(settings, kind)["is_deleted"] == 0 and row(settings, kind)["login_key"] == "viewer"
    await player.close()


async def test_approve_and_reject_at_the_same_instant_exactly_one_wins(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(bits_need_approval=True)
    client = await start_server(settings)
    cheers = [await cheer(client, f"cheer {n}") for n in range(12)]
    for n, cheer_id in enumerate(cheers):
        requests = [client.post(f"/api/messages/{cheer_id}/approve"), client.post(f"/api/messages/{cheer_id}/reject")]
        if n % 2:
            requests.reverse()
        statuses = sorted([r.status for r in await asyncio.gather(*requests)])
        assert statuses == [200, 409], f"cheer {cheer_id}: {statuses}"
        stored = row(settings, cheer_id)
        approved = stored["awaiting_approval"] == 0 and stored["is_deleted"] == 0
        rejected = stored["awaiting_approval"] == 1 and stored["deleted_reason"] == "rejected"
        assert approved != rejected, stored


async def test_replaying_a_rejected_cheer_waits_for_approval_again(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(bits_need_approval=True)
    client = await start_server(settings)
    await client.put("/api/mode", json={"mode": "bits"})
    rejected = await cheer(client, "no thanks")
    assert (await client.post(f"/api/messages/{rejected}/reject")).status == 200
    response = await client.post(f"/api/messages/{rejected}/replay")
    assert response.status == 202, await response.text()
    answer = await response.json()
    assert answer["awaiting_approval"] is True
    copy = answer["id"]
    assert row(settings, copy)["awaiting_approval"] == 1
    [item] = (await (await client.get("/api/queue")).json())["items"]
    assert item["id"] == copy and item["awaiting_approval"] is True
    await ready(settings, copy)
    refused = await client.post("/api/play")
    assert refused.status == 409, await refused.text()  # not played without a moderator's approval
    assert (await client.post(f"/api/messages/{copy}/approve")).status == 200
    assert (await (await client.post("/api/play")).json())["playing"]["id"] == copy


async def test_a_double_clicked_replay_queues_one_copy(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    said = await mention(client, "say it again")
    await ready(settings, said)
    assert (await client.post("/api/play")).status == 200
    assert (await client.post(f"/api/played/{said}")).status == 200

    clicks = await asyncio.gather(*(client.post(f"/api/messages/{said}/replay") for _ in range(2)))
    assert [c.status for c in clicks] == [202, 202]
    ids = {(await c.json())["id"] for c in clicks}
    assert len(ids) == 1
    assert [r["id"] for r in dbutil.rows(settings.database_url, "replay_of = ?", (said,))] == list(ids)
    await asyncio.sleep(1.1)  # a second replay later is a real second replay
    later = await client.post(f"/api/messages/{said}/replay")
    assert (await later.json())["id"] not in ids
    assert len(dbutil.rows(settings.database_url, "replay_of = ?", (said,))) == 2


async def test_clear_refuses_a_queue_that_is_not_the_active_one(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    said = await mention(client, "still here")
    bits = await cheer(client, "bits are never dropped by a stale dialog")
    await client.put("/api/mode", json={"mode": "bits"})  # the dialog said "from the mentions queue"
    refused = await client.post("/api/clear", json={"queue": "mentions"})
    assert refused.status == 409, await refused.text()
    assert "bits" in (await refused.json())["error"]
    frame = await player.command("clear", queue="mentions")
    assert frame["type"] == "error" and frame["status"] == 409
    assert row(settings, bits)["is_deleted"] == 0 and row(settings, said)["is_deleted"] == 0
    bad = await client.post("/api/clear", json={"queue": "everything"})
    assert bad.status == 422 and (await bad.json())["field"] == "queue"

    assert await (await client.post("/api/clear", json={"queue": "bits"})).json() == {"cleared": 1}
    assert row(settings, bits)["deleted_reason"] == "cleared" and row(settings, said)["is_deleted"] == 0
    assert (await client.post("/api/clear")).status == 200  # the App sends no body: the active queue
    await player.close()


async def test_clear_in_an_autoplay_run_goes_on_with_what_comes_next(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(autoplay_cooldown=0.2)
    client = await start_server(settings)
    player = await Player.connect(client)
    first, second = await mention(client, "first line"), await mention(client, "second line")
    await ready(settings, first, second)
    await client.put("/api/autoplay", json={"enabled": True})
    assert (await client.post("/api/play")).status == 200
    await player.wait_type("play", id=first)

    mark = len(player.events)
    assert await (await client.post("/api/clear", json={"queue": "mentions"})).json() == {"cleared": 2}
    await player.wait_type("stop", id=first, start=mark)
    dbutil.check_playing_is_current(settings.database_url, current_id(client))
    later = await mention(client, "after the raid")
    await player.wait_type("play", id=later, start=mark)  # the run went on: TTS is not silenced
    assert app_of(client)[SV].playback.autoplay_running is True
    await player.close()



async def test_pause_then_resume_inside_one_item_goes_on_after_it(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(autoplay_cooldown=0.2)
    client = await start_server(settings)
    player = await Player.connect(client)
    first, second = await mention(client, "first line"), await mention(client, "second line")
    await ready(settings, first, second)
    await client.put("/api/autoplay", json={"enabled": True})
    assert (await client.post("/api/play")).status == 200
    await player.wait_type("play", id=first)
    assert (await client.post("/api/pause")).status == 200
    assert (await client.post("/api/resume")).status == 200
    assert app_of(client)[SV].playback.autoplay_running is True  # what the toggle shows is what happens
    assert (await player.command("ended", id=first))["type"] == "ack"
    await player.wait_type("play", id=second, timeout=10)
    await player.close()


def slow_start(client: Any, seconds: float) -> None:
    """Make the database step READY/SYNTHESIZING -> PLAYING take ``seconds`` (a busy disk), on the real store."""
    store = app_of(client)[SV].db.store
    real = store.transition

    def transition(message_id: int, from_statuses: Any, to: Any, reason: str | None = None) -> bool:
        if to.value == "playing":
            time.sleep(seconds)
        return real(message_id, from_statuses, to, reason)

    store.transition = transition  # type: ignore[method-assign]


async def test_pause_or_stop_while_an_item_starts_leaves_no_ghost_playing_row(start_server: Any,
                                                                              make_settings: Any) -> None:
    settings = make_settings(autoplay_cooldown=0.1)
    client = await start_server(settings)
    items = [await mention(client, f"line {n}") for n in range(3)]
    await ready(settings, *items)
    slow_start(client, 0.3)
    for interrupt in ("/api/pause", "/api/stop", "/api/pause"):
        head = (await (await client.get("/api/queue")).json())["items"][0]["id"]
        assert (await client.post("/api/resume")).status == 200  # the run starts the first item...
        await asyncio.sleep(0.05)
        assert (await client.post(interrupt)).status == 200  # ...and is cancelled while the row changes
        await asyncio.sleep(0.4)
        dbutil.check_playing_is_current(settings.database_url, current_id(client))
        if current_id(client) is None:  # nothing plays: the item is still first in the queue, not lost
            queue = await (await client.get("/api/queue")).json()
            assert queue["items"][0]["id"] == head and row(settings, head)["status"] == "ready"
        else:
            await client.post("/api/stop")
    assert dbutil.live_playing_ids(settings.database_url) == []


async def test_a_streamed_line_on_a_slow_render_is_not_ended_before_the_player_can_finish(
        start_server: Any, make_settings: Any, engine_loader: Any) -> None:
    """The render stalls after the first sentence for longer than the whole line lasts (a busy CPU). No player
    reports ``ended``, so the server ends it by itself: never before a player could have spoken the rest."""
    client, settings, engine = await start_gated(
        start_server, lambda **kw: make_settings(playback_grace=0.1, **kw), engine_loader)
    player, message_id, play = await play_long_line(client)
    started = time.monotonic()
    stream = app_of(client)[SV].live_audio.get(message_id)
    assert stream is not None and play["streaming"] is True
    first = stream.seconds
    await asyncio.sleep(first + 2.0)  # the player has spoken the first sentence and now waits for the rest
    engine.gate.set()
    rendered = await wait_for(lambda: (r := row(settings, message_id))["audio_path"] and r, interval=0.01)
    rendered_at = time.monotonic()
    # the last sentence became playable only now: a player cannot finish before it has spoken all of it
    last = len(stream.blocks[-1]) / 2 / 24_000
    assert last > 0.5
    await wait_for(lambda: row(settings, message_id)["status"] == "played", timeout=60, interval=0.02)
    ended_at = time.monotonic()
    assert ended_at - rendered_at >= last * 0.9, (ended_at - started, last, rendered["duration_s"], first)
    await player.close()


async def test_a_player_that_reports_progress_is_waited_for(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(playback_grace=0.2)
    client = await start_server(settings)
    player = await Player.connect(client)
    said = await mention(client, "a player that buffers for a while")
    await ready(settings, said)
    await player.command("play")
    play = await player.wait_type("play", id=said)
    started, duration = time.monotonic(), float(play["duration"])
    await asyncio.sleep(duration * 0.5)
    reply = await player.command("progress", id=said, position=0.1)  # it stalled: only 0.1 s heard so far
    assert reply["type"] == "ack" and reply["result"] == {"id": said, "position": 0.1}
    await asyncio.sleep(max(0.0, started + duration + 0.2 + 0.3 - time.monotonic()))  # past the old deadline
    assert row(settings, said)["status"] == "playing"  # still waited for: it said where it is
    await wait_for(lambda: row(settings, said)["status"] == "played", timeout=duration + 5)
    late = await player.command("progress", id=said, position=1.0)
    assert late["type"] == "error" and late["status"] == 409
    bad = await player.command("progress", id=said, position=-1)
    assert bad["type"] == "error" and bad["field"] == "position"
    await player.close()
