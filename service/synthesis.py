"""The background synthesis worker: pending rows -> WAV files, oldest first, never on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.chat import QueueName, Status
from service.database import AsyncStore
from storage.messages import RemovedAudio, StoredMessage
from tts.engine import SAMPLE_RATE, EngineConfig, EngineUnavailable, KokoroEngine
from tts.wav import write_wav_atomic

log = logging.getLogger(__name__)

ENGINE_RETRY_S = 30.0


def remove_files(paths: Iterable[str | None]) -> None:
    for path in paths:
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class SynthesisWorker:
    """Owns the engine (loading it off-loop, retrying when it is unavailable) and drains pending rows."""

    def __init__(
        self,
        db: AsyncStore,
        audio_dir: Path,
        engine_config: Callable[[], EngineConfig],
        active_queue: Callable[[], QueueName],
        mentions_cap_bytes: Callable[[], int],
        on_change: Callable[[StoredMessage, Status], None],
        protect: Callable[[], int | None],
        engine_loader: Callable[[EngineConfig], KokoroEngine] = KokoroEngine.load,
    ) -> None:
        self._db = db
        self.audio_dir = audio_dir
        self._engine_config = engine_config
        self._active_queue = active_queue
        self._mentions_cap = mentions_cap_bytes
        self._on_change = on_change
        self._protect = protect
        self._engine_loader = engine_loader
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth")
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.engine: KokoroEngine | None = None
        self.state = "loading"
        #: A row a player is waiting for jumps the queue.
        self.prefer: int | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="synthesis-worker")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True, cancel_futures=True)

    def wake(self) -> None:
        self._wakeup.set()

    async def _in_thread(self, fn: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def apply_voice(self, config: EngineConfig) -> None:
        """Switch the loaded engine to a new voice/speed (raises on a bad voice; old voice stays)."""
        if self.engine is not None:
            engine = self.engine
            await self._in_thread(lambda: engine.set_voice(config.voice, config.voices or {}, config.speed))

    async def _load_engine(self) -> bool:
        self.state = "loading"
        config = self._engine_config()
        try:
            self.engine = await self._in_thread(self._engine_loader, config)  # type: ignore[assignment]
        except (EngineUnavailable, Exception) as exc:
            self.state = f"unavailable: {exc}"
            log.error("speech engine unavailable: %s (retrying every %.0fs)", exc, ENGINE_RETRY_S)
            return False
        assert self.engine is not None
        self.state = f"ready on {self.engine.device}"
        return True

    async def _run(self) -> None:
        while True:
            if self.engine is None and not await self._load_engine():
                self._wakeup.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), ENGINE_RETRY_S)
                continue
            self._wakeup.clear()
            items = await self._db.call(self._db.store.claim_for_synthesis, self._active_queue(), 1, self.prefer)
            if not items:
                await self._wakeup.wait()
                continue
            for item in items:
                await self._synthesize(item)

    async def _synthesize(self, item: StoredMessage) -> None:
        engine = self.engine
        assert engine is not None
        text = item.spoken_text if item.spoken_text is not None else item.text
        try:
            audio: np.ndarray = await self._in_thread(engine.synthesize, text)  # type: ignore[assignment]
            if audio.size == 0:
                raise ValueError("the text produced no audio")
            path = self.audio_dir / f"{item.id}.wav"
            size: int = await self._in_thread(write_wav_atomic, path, audio)  # type: ignore[assignment]
        except asyncio.CancelledError:
            await self._db.call(self._db.store.release_claims, [item.id])
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("synthesis of message %d failed: %s", item.id, reason)
            await self._db.call(self._db.store.end_synthesis, item.id, Status.ERROR, reason)
            self._on_change(item, Status.ERROR)
            return
        stored = await self._db.call(
            self._db.store.finish_synthesis, item.id, audio_path=str(path), audio_bytes=size,
            duration_s=audio.size / SAMPLE_RATE, voice=engine.voice_spec)
        if not stored:  # cleared while we were synthesising: it must not come back
            remove_files([str(path)])
            return
        if item.queue is QueueName.MENTIONS:
            removed: list[RemovedAudio] = await self._db.call(
                self._db.store.enforce_audio_cap, QueueName.MENTIONS, self._mentions_cap(), self._protect())
            if removed:
                log.info("mentions audio over its cap: dropped %d oldest item(s)", len(removed))
                remove_files([r.audio_path for r in removed])
        self._on_change(item, Status.READY)
