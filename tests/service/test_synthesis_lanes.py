"""The synthesis worker's lanes with a scripted engine: failure isolation, preemption, Clear still wins."""

from __future__ import annotations

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
from tests.service.stub_signals import RecordingSignals, worker_settings
from tts.engine import Chunk, RenderCancelled, Speech


class ScriptedEngine:
    """Two lanes; "boom" fails, lines starting with "slow" block until released (or cancelled)."""

    device = "cpu"
    voice_spec = "scripted"
    lanes = 2
    max_batch = 1

    def __init__(self) -> None:
        self.release = threading.Event()
        self.cancelled: list[str] = []

    def synthesize(self, text: str, cancel: threading.Event | None = None, urgent: bool = False,
                   *, voice: str | None = None) -> np.ndarray:
        if text == "boom":
            raise ValueError("cannot say that")
        if text.startswith("slow"):
            while not self.release.wait(0.01):
                if cancel is not None and cancel.is_set():
                    self.cancelled.append(text)
                    raise RenderCancelled("cancelled")
        return np.full(2400, 0.1, dtype=np.float32)

    def plan(self, text: str) -> list[Chunk]:
        return [Chunk(text)]

    def speak(self, text: str, cancel: threading.Event | None = None, urgent: bool = False,
              on_chunk: Any = None, *, voice: str | None = None, plan: Any = None) -> Speech:
        audio = self.synthesize(text, cancel, urgent, voice=voice)
        return Speech(audio, build_captions([], text))


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[SynthesisWorker, AsyncStore, ScriptedEngine, list[Any]]]:
    db = AsyncStore(MessageStore(create_database(f"sqlite:///{tmp_path / 'test.db'}")))
    engine = ScriptedEngine()
    signals = RecordingSignals()
    changes = signals.changes
    worker = SynthesisWorker(db, worker_settings(tmp_path), signals,
                             engine_loader=lambda config: engine)  # type: ignore[arg-type, return-value]
    worker.start()
    yield worker, db, engine, changes
    engine.release.set()
    await worker.stop()
    db.close()


async def add(db: AsyncStore, queue: QueueName, *texts: str) -> list[int]:
    return await db.call(db.store.insert_many, [
        NewMessage(queue=queue, source=Source.APP_HTTP, sent_by="v", text=t, spoken_text=t,
                   bits_amount=100 if queue is QueueName.BITS else None) for t in texts])


async def status(db: AsyncStore, message_id: int) -> Status:
    item = await db.call(db.store.get, message_id)
    assert item is not None
    return item.status


async def test_one_failing_message_fails_alone(setup: Any) -> None:
    worker, db, _, _ = setup
    ids = await add(db, QueueName.MENTIONS, "first", "boom", "third")
    worker.wake(QueueName.MENTIONS)

    async def settled() -> bool:
        return all([await status(db, i) in {Status.READY, Status.ERROR} for i in ids])

    await wait_for(settled)
    assert [await status(db, i) for i in ids] == [Status.READY, Status.ERROR, Status.READY]


async def test_an_active_queue_line_preempts_the_other_queue(setup: Any) -> None:
    worker, db, engine, _ = setup
    bits = await add(db, QueueName.BITS, "slow one", "slow two")
    worker.wake(QueueName.BITS)

    async def both_rendering() -> bool:
        return all([await status(db, i) is Status.SYNTHESIZING for i in bits])

    await wait_for(both_rendering)
    (mention,) = await add(db, QueueName.MENTIONS, "hello streamer")
    worker.wake(QueueName.MENTIONS)

    async def mention_ready() -> bool:
        return await status(db, mention) is Status.READY

    await wait_for(mention_ready, timeout=10)
    assert engine.cancelled == ["slow two"]  # the newest render gave up its lane; the other kept going
    assert await status(db, bits[0]) is Status.SYNTHESIZING
    engine.release.set()

    async def all_ready() -> bool:
        return all([await status(db, i) is Status.READY for i in bits])

    await wait_for(all_ready)  # the cancelled one went back to pending and was rendered later


async def test_clear_while_rendering_never_comes_back(setup: Any) -> None:
    worker, db, engine, changes = setup
    (message_id,) = await add(db, QueueName.MENTIONS, "slow and doomed")
    worker.wake(QueueName.MENTIONS)

    async def rendering() -> bool:
        return await status(db, message_id) is Status.SYNTHESIZING

    await wait_for(rendering)
    await db.call(db.store.clear, QueueName.MENTIONS)
    engine.release.set()
    await wait_for(lambda: not worker._renders)  # the render ended and its result was handled
    item = await db.call(db.store.get, message_id)
    assert item is not None and item.is_deleted and item.status is not Status.READY
    assert (message_id, Status.READY) not in changes
    assert not (worker.audio_dir / f"{message_id}.wav").exists()
