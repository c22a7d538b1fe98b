"""Speech for the OpenAI-compatible API (``POST /v1/audio/speech``), sharing the engine with chat.

Chat comes first. An API request renders sentence by sentence (the same cuts as a long chat line,
``core.speech_chunks`` through ``KokoroEngine.plan``), on its own thread, never on the event loop or a synthesis
lane, and before each sentence it waits until the synthesis worker has no chat work (``SynthesisWorker.busy``).
So a chat line queued while an API request renders waits at most for the sentence being rendered, and even that
sentence pauses between model blocks while an urgent chat render runs (the engine's ``urgent`` rule).

At most ``api_speech_concurrency`` requests render at once; up to ``api_speech_queue`` more wait their turn in
arrival order; beyond that ``SpeechBusy`` (HTTP 429 with ``Retry-After``). A request whose client went away is
cancelled: it leaves the line, or its render stops at the next model block (``RenderCancelled``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from core.spoken_text import pronounce
from service.live_settings import LiveSettings
from service.synthesis import SynthesisWorker
from tts.engine import Chunk, KokoroEngine

log = logging.getLogger(__name__)

#: Most API renders at once, whatever the setting says (threads are made only when used).
MAX_CONCURRENCY = 8
#: How often a waiting render looks whether chat work is done.
CHAT_POLL_S = 0.02


class SpeechBusy(Exception):
    """Every render slot and every place in line is taken; ``retry_after`` is a guess in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many speech requests at once; retry later")
        self.retry_after = retry_after


class SpeechUnavailable(Exception):
    """The engine is not loaded (yet)."""


class VoiceUnavailable(Exception):
    """The voice spec names a voice whose pack cannot be loaded."""


class SpeechSlots:
    """A FIFO of at most ``limit()`` holders and ``queue()`` waiters (both read live from settings)."""

    def __init__(self, limit: Callable[[], int], queue: Callable[[], int]) -> None:
        self._limit = limit
        self._queue = queue
        self.running = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        #: Seconds an API render took, smoothed (for ``Retry-After``).
        self.typical_s = 2.0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> None:
        if self.running < self._limit() and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self._queue():
            ahead = self.running + len(self._waiters)
            raise SpeechBusy(max(1, min(3600, math.ceil(self.typical_s * ahead / max(1, self._limit())))))
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # the slot came as we were cancelled: hand it on
                self.release()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.running -= 1
        while self._waiters and self.running < self._limit():
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.running += 1
                waiter.set_result(None)

    def took(self, seconds: float) -> None:
        self.typical_s = 0.7 * self.typical_s + 0.3 * seconds


class SpeechApi:
    def __init__(self, settings: LiveSettings, worker: SynthesisWorker) -> None:
        self._settings = settings
        self._worker = worker
        self.slots = SpeechSlots(lambda: min(MAX_CONCURRENCY, settings.current.api_speech_concurrency),
                                 lambda: settings.current.api_speech_queue)
        self._threads = ThreadPoolExecutor(max_workers=MAX_CONCURRENCY, thread_name_prefix="api-speech")

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    def engine(self) -> KokoroEngine:
        engine = self._worker.engine
        if engine is None:
            raise SpeechUnavailable(f"the speech engine is not ready ({self._worker.state})")
        return engine

    async def check_voice(self, spec: str) -> None:
        """Build the voice's pack now (cached for the render); ``VoiceUnavailable`` when a voice is missing."""
        engine = self.engine()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._threads, engine.check_voice, spec)
        except Exception as exc:
            raise VoiceUnavailable(str(exc)) from exc

    def spoken(self, text: str) -> str:
        """The text as the engine gets it: the streamer's ``pronunciations`` applied (numbers are read by the
        G2P, as for chat), none of the chat hygiene."""
        pairs = tuple(sorted(self._settings.current.pronunciations.items()))
        return pronounce(text, pairs)

    async def _chat_done(self, cancel: threading.Event) -> None:
        while self._worker.busy and not cancel.is_set():
            await asyncio.sleep(CHAT_POLL_S)

    async def render(self, text: str, voice: str, speed: float, cancel: threading.Event
                     ) -> AsyncGenerator[np.ndarray, None]:
        """Each sentence's audio as it is rendered. The caller holds a slot (``slots``) around the iteration."""
        engine = self.engine()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        plan: list[Chunk] = await loop.run_in_executor(self._threads, engine.plan, self.spoken(text))
        for chunk in plan:
            await self._chat_done(cancel)
            if cancel.is_set():
                return
            render = functools.partial(engine.render, [chunk.phonemes], cancel, False, voice=voice, speed=speed)
            audio: np.ndarray = await loop.run_in_executor(self._threads, render)
            if audio.size:
                yield audio
        self.slots.took(time.monotonic() - started)
