"""The synthesis worker's render threads with ``cpu_priority: low`` (a scripted engine that reports the nice
value of the thread each line renders on), and the memory-return step when the queue drains."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.captions import build_captions
from core.chat import QueueName, Source, Status
from service.database import AsyncStore
from service.synthesis import SynthesisWorker
from storage.database import create_database
from storage.messages import MessageStore, NewMessage
from tests.helpers import wait_for
from tts.cpu_priority import LOW_NICE, thread_nice
from tts.engine import Chunk, EngineConfig, Speech


class NiceEngine:
    """Records, per text, the nice value of the thread that rendered it; lines starting with "hold" wait."""

    device = "cpu"
    voice_spec = "scripted"
    lanes = 2
    max_batch = 1

    def __init__(self, cpu_priority: str) -> None:
        self.cpu_priority = cpu_priority
        self.release = threading.Event()
        self.nice: dict[str, int] = {}
        self.memory_returns = 0

    def plan(self, text: str) -> list[Chunk]:
        return [Chunk(text)]

    def speak(self, text: str, cancel: threading.Event | None = None, urgent: bool = False,
              on_chunk: Any = None, *, voice: str | None = None, plan: Any = None) -> Speech:
        self.nice[text] = thread_nice(threading.get_native_id())
        if text.startswith("hold"):
            self.release.wait(10)
        return Speech(np.full(2400, 0.1, dtype=np.float32), build_captions([], text))

    def release_memory(self) -> None:
        self.memory_returns += 1


async def start(tmp_path: Path, engine: NiceEngine) -> tuple[SynthesisWorker, AsyncStore]:
    db = AsyncStore(MessageStore(create_database(f"sqlite:///{tmp_path / 'test.db'}")))
    worker = SynthesisWorker(
        db, tmp_path / "audio", lambda: EngineConfig(), active_queue=lambda: QueueName.MENTIONS,
        mentions_cap_bytes=lambda: 10**9, on_change=lambda item, status: None,
        protect=lambda: None, engine_loader=lambda config: engine)  # type: ignore[arg-type, return-value]
    worker.start()
    return worker, db


@pytest.fixture
async def low(tmp_path: Path) -> AsyncIterator[tuple[SynthesisWorker, AsyncStore, NiceEngine]]:
    engine = NiceEngine("low")
    worker, db = await start(tmp_path, engine)
    yield worker, db, engine
    engine.release.set()
    await worker.stop()
    db.close()


async def add(db: AsyncStore, queue: QueueName, *texts: str) -> list[int]:
    return await db.call(db.store.insert_many, [
        NewMessage(queue=queue, source=Source.APP_HTTP, sent_by="v", text=t, spoken_text=t,
                   bits_amount=100 if queue is QueueName.BITS else None) for t in texts])


async def all_ready(db: AsyncStore, ids: list[int]) -> bool:
    items = [await db.call(db.store.get, i) for i in ids]
    return all(item is not None and item.status is Status.READY for item in items)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


@linux_only
async def test_the_next_item_renders_at_normal_priority_the_rest_low(low: Any) -> None:
    worker, db, engine = low
    base = thread_nice(threading.get_native_id())
    # "hold first" is the next to play and not ready: the normal-priority thread renders it, while the
    # other lane renders the line after it (the queue is ahead of playback there) at low priority
    ids = await add(db, QueueName.MENTIONS, "hold first", "second", "third")
    worker.wake(QueueName.MENTIONS)
    await wait_for(lambda: "second" in engine.nice and "third" in engine.nice)
    engine.release.set()
    await wait_for(lambda: all_ready(db, ids))
    assert engine.nice["hold first"] == base
    assert engine.nice["second"] >= LOW_NICE and engine.nice["third"] >= LOW_NICE
    # the other queue (not the one the streamer hears) renders low even when it is alone
    (bits,) = await add(db, QueueName.BITS, "a cheer")
    worker.wake(QueueName.BITS)
    await wait_for(lambda: all_ready(db, [bits]))
    assert engine.nice["a cheer"] >= LOW_NICE
    # once those have played, a lone mention is the next to play again: normal priority
    for message_id in ids:
        assert await db.call(db.store.transition, message_id, [Status.READY], Status.PLAYED)
    (alone,) = await add(db, QueueName.MENTIONS, "alone")
    worker.wake(QueueName.MENTIONS)
    await wait_for(lambda: all_ready(db, [alone]))
    assert engine.nice["alone"] == base
    # the HTTP/WebSocket side (the event loop's thread) was never lowered
    assert thread_nice(threading.get_native_id()) == base


@linux_only
async def test_normal_priority_renders_everything_at_normal(tmp_path: Path) -> None:
    engine = NiceEngine("normal")
    worker, db = await start(tmp_path, engine)
    try:
        base = thread_nice(threading.get_native_id())
        ids = await add(db, QueueName.MENTIONS, "one", "two", "three")
        await add(db, QueueName.BITS, "cheer")
        worker.wake(QueueName.MENTIONS)
        await wait_for(lambda: all_ready(db, ids) if len(engine.nice) == 4 else False)
        assert set(engine.nice.values()) == {base}
    finally:
        engine.release.set()
        await worker.stop()
        db.close()


async def test_memory_is_returned_once_each_time_the_queue_drains(low: Any) -> None:
    worker, db, engine = low
    ids = await add(db, QueueName.MENTIONS, "hold one", "two", "three")
    worker.wake(QueueName.MENTIONS)
    await wait_for(lambda: len(engine.nice) == 3)
    assert engine.memory_returns == 0  # not while a line renders
    engine.release.set()
    await wait_for(lambda: all_ready(db, ids))
    await wait_for(lambda: engine.memory_returns == 1)
    worker.wake(None)  # a wake-up with nothing to render is no new drain
    await asyncio.sleep(0.3)
    assert engine.memory_returns == 1
    (more,) = await add(db, QueueName.BITS, "four")
    worker.wake(QueueName.BITS)
    await wait_for(lambda: all_ready(db, [more]))
    await wait_for(lambda: engine.memory_returns == 2)
    worker.wake(None)
    await asyncio.sleep(0.3)  # the lanes looked, found nothing: still two drains
    assert engine.memory_returns == 2
