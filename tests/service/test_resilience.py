"""Backoff, loop health and the loops that use them, against real SQLite faults and a real watched folder."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from core.chat import QueueName, Source
from service.database import AsyncStore
from service.live_settings import LiveSettings
from service.resilience import Backoff, LoopHealth, retry_transient
from service.settings_file import load_settings
from service.writer import GroupCommitWriter
from storage.database import create_database
from storage.errors import DbFaultKind, classify
from storage.messages import MessageStore, NewMessage
from tests.helpers import wait_for


def _locked_error(path: Path) -> sqlite3.Error:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        writer = sqlite3.connect(path, timeout=0)
        try:
            writer.execute("CREATE TABLE t (x)")
        except sqlite3.Error as exc:
            return exc
        finally:
            writer.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    raise AssertionError("the write did not fail")


def _full_error(path: Path) -> sqlite3.Error:
    connection = sqlite3.connect(path)
    try:
        connection.execute("CREATE TABLE t (x)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: a full "disk"
        for _ in range(100):
            connection.execute("INSERT INTO t VALUES (?)", ("x" * 1000,))
        connection.commit()
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("the write did not fail")


def test_classify_real_sqlite_faults(tmp_path: Path) -> None:
    locked = classify(_locked_error(tmp_path / "a.db"))
    full = classify(_full_error(tmp_path / "b.db"))
    assert locked is not None and locked.kind is DbFaultKind.LOCKED and locked.describe() == "locked"
    assert full is not None and full.kind is DbFaultKind.FULL and "full" in full.describe()
    assert classify(ValueError("not a database error")) is None
    assert classify(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(initial=0.1, factor=2.0, cap=1.0)
    assert [backoff.delay(n) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(10_000) == 1.0


async def test_retry_waits_out_a_real_lock_and_logs_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "locked.db"
    sqlite3.connect(path).close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    health = LoopHealth()
    health.register("demo")
    attempts = 0

    def write() -> None:
        nonlocal attempts
        attempts += 1
        connection = sqlite3.connect(path, timeout=0)
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS t (x)")
            connection.commit()
        finally:
            connection.close()

    task = asyncio.create_task(retry_transient("demo", health, lambda: asyncio.to_thread(write),
                                               Backoff(initial=0.02, cap=0.1)))
    await wait_for(lambda: health.state("demo").startswith("retrying: database is locked"), timeout=5)
    assert health.degraded
    await wait_for(lambda: attempts > 3, timeout=5)  # it keeps trying while the lock is held
    holder.execute("ROLLBACK")
    await asyncio.wait_for(task, 5)
    assert health.state("demo") == "ok" and not health.degraded and attempts > 3
    lines = [r.getMessage() for r in caplog.records if r.name == "service.resilience"]
    assert lines[0] == "demo: database is locked; retrying with backoff" and lines[1].startswith("demo recovered")
    assert len(lines) == 2  # one line per episode and one on recovery, not one per attempt
    holder.close()


async def test_retry_raises_what_is_not_transient() -> None:
    health = LoopHealth()

    async def broken() -> None:
        raise ValueError("a bug, not the environment")

    with pytest.raises(ValueError):
        await retry_transient("demo", health, broken)
    assert health.state("demo") == "ok"


async def test_writer_isolates_a_row_the_database_refuses(tmp_path: Path) -> None:
    """A row SQLite cannot encode (a lone surrogate reaching the writer from any path) fails alone."""
    store = MessageStore(create_database(f"sqlite:///{tmp_path / 'writer.db'}"))
    db = AsyncStore(store)
    writer = GroupCommitWriter(db)
    writer.start()
    try:
        def message(n: int) -> NewMessage:
            text = "bad \ud800" if n == 7 else f"line {n}"
            return NewMessage(queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by=f"v{n}", text=text)

        results = await asyncio.gather(*(writer.submit(message(n)) for n in range(40)), return_exceptions=True)
        assert isinstance(results[7], UnicodeEncodeError)
        good = [r for n, r in enumerate(results) if n != 7]
        assert all(isinstance(r, int) for r in good) and len(set(good)) == 39
        stored = {m.text for m in await db.call(store.waiting, QueueName.MENTIONS)}
        assert stored == {f"line {n}" for n in range(40) if n != 7}
    finally:
        await writer.stop()
        db.close()


async def test_writer_refuses_on_a_full_database_then_recovers(tmp_path: Path) -> None:
    from sqlalchemy import event

    engine = create_database(f"sqlite:///{tmp_path / 'full.db'}")
    pages = {"max": 0}

    def cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        if pages["max"]:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages['max']}")

    event.listen(engine, "connect", cap)
    with engine.connect() as connection:
        pages["max"] = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())
    engine.dispose()  # new connections get the cap: the database file may not grow
    health = LoopHealth()
    db = AsyncStore(MessageStore(engine))
    writer = GroupCommitWriter(db, health=health)
    writer.start()
    try:
        big = "x" * 3000
        results = await asyncio.gather(*(writer.submit(NewMessage(
            queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by=f"v{n}", text=big)) for n in range(20)),
            return_exceptions=True)
        faults = [classify(r) for r in results if isinstance(r, BaseException)]
        assert faults and all(f is not None and f.kind is DbFaultKind.FULL for f in faults)
        assert health.state("writer").startswith("retrying: database or disk is full")
        fault = health.db_fault()
        assert fault is not None and fault.kind is DbFaultKind.FULL
        pages["max"] = 0
        engine.dispose()
        assert isinstance(await writer.submit(NewMessage(
            queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by="after", text="space again")), int)
        assert health.state("writer") == "ok" and health.db_fault() is None
    finally:
        await writer.stop()
        db.close()


async def test_settings_watcher_survives_its_folder_vanishing(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "settings.yaml"
    path.write_text(f"username: streamer\nmodel_dir: {tiny_model_dir}\nspeed: 1.0\n")
    live = LiveSettings(load_settings(path), path)
    live.start()
    try:
        await wait_for(lambda: live.health.state("settings") == "ok")
        folder.rename(tmp_path / "conf.away")  # a synced folder re-created, an unmounted drive...
        await wait_for(lambda: live.health.state("settings").startswith("retrying"), timeout=10)
        (tmp_path / "conf.away").rename(folder)
        path.write_text(f"username: streamer\nmodel_dir: {tiny_model_dir}\nspeed: 1.3\n")
        await wait_for(lambda: live.current.speed == 1.3, timeout=15)
        await wait_for(lambda: live.health.state("settings") == "ok", timeout=10)
    finally:
        await live.stop()


async def test_state_events_survive_an_unreadable_database(tmp_path: Path) -> None:
    from service.events import EventHub

    path = tmp_path / "state.db"
    path.mkdir()  # not a database file: every read fails with "unable to open database file"

    async def snapshot() -> dict[str, object]:
        def read() -> int:
            connection = sqlite3.connect(path)
            try:
                return int(connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0])
            finally:
                connection.close()

        return {"type": "state", "tables": await asyncio.to_thread(read)}

    health = LoopHealth()
    hub = EventHub(snapshot, state_interval=0.01, health=health)
    hub.start()
    events = hub.subscribe()
    try:
        hub.state_changed()
        await wait_for(lambda: health.state("events").startswith("retrying: unable to open database file"))
        assert events.empty()
        path.rmdir()
        sqlite3.connect(path).close()
        event = await asyncio.wait_for(events.get(), 10)  # the state the players missed, once readable
        assert event == {"type": "state", "tables": 0}
        assert health.state("events") == "ok"
    finally:
        await hub.stop()
