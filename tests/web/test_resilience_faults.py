"""Faults of the environment, injected for real against a real server: a locked database, a full disk,
an unwritable audio folder, a WAV that vanished before PLAY.

A second process holds SQLite's write lock (``BEGIN IMMEDIATE``) the way a DB browser or a backup does; the
audio folder refuses a write (the WAV's name is taken by a folder, so the atomic rename fails; the temp file
is a link to ``/dev/full``, so the write hits ENOSPC); a WAV vanishes before PLAY.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import dbutil
from tests.helpers import health, wait_engine_ready, wait_for
from tests.players import Player

pytestmark = pytest.mark.slow  # locks and disk faults held for seconds against a real server

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
sys.stdin.readline()  # started ahead; locks the moment the test says so
requeue = [int(i) for i in sys.argv[3:]]
if requeue:  # work the server does not know about yet (as a restore or a DB tool can leave), then lock
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(
        f"UPDATE messages SET status = 'pending', audio_path = NULL, audio_bytes = NULL, duration_s = NULL "
        f"WHERE id IN ({','.join('?' * len(requeue))})", requeue)
    connection.execute("COMMIT")
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
print("released", flush=True)
"""


class LockHolder:
    """Another process holding the database's write lock for ``seconds`` (as any DB browser can).

    ``requeue``: ids it first turns back to pending (committed), so there is work the lanes must claim.
    """

    def __init__(self, database_url: str, seconds: float, requeue: tuple[int, ...] = ()) -> None:
        path = database_url.removeprefix("sqlite:///")
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, path, str(seconds), *map(str, requeue)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    async def locked(self) -> LockHolder:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        line = await asyncio.to_thread(self.process.stdout.readline)
        assert line.strip() == "locked", line
        return self

    async def released(self) -> None:
        await asyncio.to_thread(self.process.wait, 30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def post_mention(client: Any, text: str, user: str = "viewer") -> Any:
    return await client.post("/api/messages", json={"sent_by": user, "text": f"@streamer {text}"})


async def ready_mentions(client: Any, settings: Any, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = await post_mention(client, f"hello number {n}", user=f"viewer{n}")
        assert response.status == 202, await response.text()
        ids.append((await response.json())["id"])
    await wait_for(lambda: statuses(settings.database_url, ids) == ["ready"] * count, timeout=60)
    return ids


def statuses(database_url: str, ids: list[int]) -> list[str]:
    return [dbutil.row(database_url, i)["status"] for i in ids]


async def loop_state(client: Any, loop: str, prefix: str, timeout: float = 20) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        state = await health(client)
        return state if state["loops"][loop].startswith(prefix) else None

    return await wait_for(reached, timeout=timeout, interval=0.1)  # type: ignore[no-any-return]


def episode_lines(caplog: pytest.LogCaptureFixture, loop: str) -> tuple[int, int]:
    """(warnings that start an episode, recovery lines) logged for ``loop``."""
    messages = [r.getMessage() for r in caplog.records]
    return (sum(m.startswith(f"{loop}: ") and "retrying with backoff" in m for m in messages),
            sum(m.startswith(f"{loop} recovered") for m in messages))


# --- 1: a transient lock must not kill synthesis -------------------------------------------------------------
async def test_synthesis_survives_a_ten_second_write_lock(start_server: Any, make_settings: Any,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings()
    client = await start_server(settings)
    await wait_engine_ready(client)
    ids = await ready_mentions(client, settings, 2)
    holder = await LockHolder(settings.database_url, 10, requeue=tuple(ids)).locked()
    try:
        # PLAY only reads; it waits for the first (now pending) item and wakes the lanes, which hit the lock
        response = await client.post("/api/play")
        assert response.status == 200 and (await response.json())["waiting_for_audio"] is True
        during = await loop_state(client, "synthesis", "retrying")
        assert "locked" in during["loops"]["synthesis"]
        assert during["status"] == "degraded" and during["db"] == "locked"
        await holder.released()
    finally:
        holder.kill()
    def synthesised() -> bool:  # both synthesised again; the waiting PLAY went on with the first
        first, second = statuses(settings.database_url, ids)
        return first in {"playing", "played"} and second == "ready"

    await wait_for(synthesised, timeout=60)
    after = await loop_state(client, "synthesis", "ok")
    assert after["status"] == "ok" and after["db"] == "ok"
    started, recovered = episode_lines(caplog, "synthesis")
    assert started == 1 and recovered == 1  # one line when it starts, one when it ends; not one per attempt


async def test_playback_timer_and_autoplay_survive_a_write_lock(start_server: Any, make_settings: Any,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings(playback_grace=0.5, autoplay_cooldown=0.1)
    client = await start_server(settings)
    await wait_engine_ready(client)
    ids = await ready_mentions(client, settings, 2)
    assert (await client.put("/api/autoplay", json={"enabled": True})).status == 200
    holder = LockHolder(settings.database_url, 7)
    try:
        # nobody reports the end: the vanished-player timer fires while the lock is held
        assert (await client.post("/api/play")).status == 200
        await holder.locked()
        during = await loop_state(client, "playback", "retrying")
        assert "locked" in during["loops"]["playback"] and during["status"] == "degraded"
        await holder.released()
    finally:
        holder.kill()
    # the timer's work is done after the lock, and the autoplay run goes on to the next item
    await wait_for(lambda: statuses(settings.database_url, ids) == ["played", "played"], timeout=30)
    assert (await loop_state(client, "playback", "ok"))["status"] == "ok"
    assert episode_lines(caplog, "playback") == (1, 1)


# --- 9: a locked database answers 503 + Retry-After, not a bare 500 --------------------------------------------
async def test_locked_database_answers_503_with_retry_after(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    await wait_engine_ready(client)
    holder = await LockHolder(settings.database_url, 6).locked()
    try:
        response = await post_mention(client, "are you there")
        assert response.status == 503, await response.text()
        assert response.headers["Retry-After"].isdigit()
        body = await response.json()
        assert "locked" in body["error"]
        state = await health(client)
        assert state["db"] == "locked" and state["status"] == "degraded"
        assert state["loops"]["writer"] == "retrying: database is locked"
        await holder.released()
    finally:
        holder.kill()
    response = await post_mention(client, "are you there now")
    assert response.status == 202
    assert dbutil.rows(settings.database_url, "text = ?", ("@streamer are you there",)) == []
    after = await health(client)
    assert after["db"] == "ok" and after["loops"]["writer"] == "ok" and after["status"] == "ok"


# --- 2: one bad row never fails its neighbours -----------------------------------------------------------------
async def test_a_lone_surrogate_never_fails_its_batch(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    for burst in range(3):
        async def send(n: int, burst: int = burst) -> tuple[int, Any]:
            bad = n == 17
            text = f"@streamer \ud800 bad {burst}" if bad else f"@streamer burst {burst} line {n}"
            response = await client.post("/api/messages", json={"sent_by": f"b{burst}v{n}", "text": text})
            return response.status, await response.json()

        answers = await asyncio.gather(*(send(n) for n in range(50)))
        assert [status for status, _ in answers] == [202] * 50, answers
        ids = [body["id"] for _, body in answers]
        assert len(set(ids)) == 50
        stored = {row["id"]: row for row in dbutil.rows(settings.database_url)}
        assert all(i in stored for i in ids)
        # the lone surrogate was replaced by U+FFFD (documented choice): the rest of the line is kept
        assert stored[ids[17]]["text"] == f"@streamer \ufffd bad {burst}"


# --- 5: a failed WAV write keeps the message ---------------------------------------------------------------------
async def test_wav_write_failures_keep_the_message_pending_and_retry(start_server: Any, make_settings: Any,
                                                                     tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings()
    audio = Path(settings.audio_dir)
    client = await start_server(settings)
    await wait_engine_ready(client)
    # ENOSPC: the temp file the writer opens is a link to /dev/full (root ignores permissions; a full device not)
    (audio / ".1.wav.part").symlink_to("/dev/full")
    # the atomic rename fails for good: the WAV's name is taken by a non-empty folder, until we remove it
    (audio / "2.wav").mkdir()
    (audio / "2.wav" / "keep").write_text("x")
    first = await post_mention(client, "the disk is full")
    during = await loop_state(client, "audio", "retrying")  # the episode opens on this fault (logged once)
    second = await post_mention(client, "the folder refuses")
    assert (await first.json())["id"] == 1 and (await second.json())["id"] == 2
    assert during["status"] == "degraded"
    await wait_for(lambda: dbutil.row(settings.database_url, 1)["status"] == "ready", timeout=60)
    assert any("No space left on device" in r.getMessage() for r in caplog.records)
    await asyncio.sleep(1.0)  # several attempts at message 2 meanwhile, each with a backoff
    assert dbutil.row(settings.database_url, 2)["status"] in {"pending", "synthesizing"}  # never "error"
    assert not list(audio.glob(".*.part"))  # a failed write leaves no temp file behind
    (audio / "2.wav" / "keep").unlink()
    (audio / "2.wav").rmdir()
    await wait_for(lambda: dbutil.row(settings.database_url, 2)["status"] == "ready", timeout=60)
    assert (await loop_state(client, "audio", "ok"))["status"] == "ok"
    assert episode_lines(caplog, "audio")[1] >= 1
    for message_id in (1, 2):
        assert (await client.get(f"/audio/{message_id}.wav")).status == 200


# --- 6: a WAV gone before PLAY is synthesised again, never silently "played" ---------------------------------
async def test_missing_wav_at_play_is_synthesised_again(start_server: Any, make_settings: Any,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings()
    client = await start_server(settings)
    await wait_engine_ready(client)
    (message_id,) = await ready_mentions(client, settings, 1)
    wav = Path(dbutil.row(settings.database_url, message_id)["audio_path"])
    wav.unlink()
    response = await client.post("/api/play")
    assert response.status == 200
    body = await response.json()
    assert body["waiting_for_audio"] is True and body["playing"]["audio_url"] is None
    assert any(f"message {message_id}: its WAV" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    # re-synthesised, then announced with a file the players can fetch
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "playing", timeout=60)
    assert wav.is_file()
    assert (await client.get(f"/audio/{message_id}.wav")).status == 200
    assert (await client.post(f"/api/played/{message_id}")).status == 200
    assert dbutil.row(settings.database_url, message_id)["status"] == "played"


async def test_full_database_answers_507_and_health_says_so(start_server: Any, make_settings: Any) -> None:
    from sqlalchemy import event

    from tests.helpers import app_of
    from web.keys import STREAMVOICE

    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    engine = app_of(client)[STREAMVOICE].db.store.engine
    cap = {"pages": 0}

    def limit(dbapi_connection: Any, _record: Any) -> None:
        if cap["pages"]:  # the file may not grow: SQLite answers SQLITE_FULL exactly as on a full disk
            dbapi_connection.execute(f"PRAGMA max_page_count = {cap['pages']}")

    event.listen(engine, "connect", limit)
    with engine.connect() as connection:
        cap["pages"] = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())
    engine.dispose()
    long_text = "spoken words " * 150
    for n in range(40):  # the free space left in the file's last pages goes first
        response = await post_mention(client, f"{n} {long_text}", user=f"filler{n}")
        if response.status != 202:
            break
    assert response.status == 507, await response.text()
    assert "full" in (await response.json())["error"]
    state = await health(client)
    assert state["db"].startswith("error: database or disk is full") and state["status"] == "degraded"
    assert state["loops"]["writer"].startswith("retrying")
    frame = await player.command("message", sent_by="socket", text=f"@streamer {long_text}")
    assert frame["type"] == "error" and frame["status"] == 507 and "full" in frame["error"]
    cap["pages"] = 0
    engine.dispose()
    assert (await post_mention(client, long_text)).status == 202
    assert (await player.command("message", sent_by="socket", text="@streamer again"))["type"] == "ack"
    await player.close()
    after = await health(client)
    assert after["db"] == "ok" and after["loops"]["writer"] == "ok"
