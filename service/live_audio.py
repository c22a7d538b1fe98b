"""Audio of items still being rendered, for players that start before the whole line exists.

A long line is rendered sentence by sentence (``core.speech_chunks``). While it renders, its 16-bit PCM is
kept here, one block per rendered chunk, so ``/audio/{id}.wav`` can send what exists and then each next
block as it arrives, and playback can start the item after its first sentence. When the WAV file is written
the stream is complete (every reader gets the rest and the end) and it leaves the registry: later requests
get the file, byte for byte the same samples (``tts.wav.pcm16`` for both).

Written from render threads (``append``), read on the event loop (``read``): blocks go through
``loop.call_soon_threadsafe``, so readers need no lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import numpy as np

from tts.engine import SAMPLE_RATE
from tts.wav import pcm16


class AudioStream:
    """One item's audio so far; ``complete`` or ``abort`` ends it for every reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop, chunks: int) -> None:
        self._loop = loop
        self.chunks = chunks
        self.blocks: list[bytes] = []
        #: (``time.monotonic()`` when readable, seconds of audio) per block: when a player could have played it.
        self.arrivals: list[tuple[float, float]] = []
        #: None while rendering; True once the WAV is written; False when the render stopped short.
        self.finished: bool | None = None
        self._changed = asyncio.Event()

    @property
    def has_audio(self) -> bool:
        return bool(self.blocks)

    @property
    def seconds(self) -> float:
        """Seconds of audio so far (16-bit mono at 24 kHz)."""
        return sum(len(b) for b in self.blocks) / 2 / SAMPLE_RATE

    def append_from_thread(self, audio: np.ndarray, then: Callable[[], None] | None = None) -> None:
        """A render thread's new chunk; ``then`` runs on the loop after the block is readable."""
        block = pcm16(audio).tobytes()
        self._loop.call_soon_threadsafe(self._append, block, then)

    def _append(self, block: bytes, then: Callable[[], None] | None) -> None:
        if self.finished is None and block:
            self.blocks.append(block)
            self.arrivals.append((time.monotonic(), len(block) / 2 / SAMPLE_RATE))
            self._changed.set()
        if then is not None:
            then()

    def complete(self) -> None:
        self._end(True)

    def abort(self) -> None:
        self._end(False)

    def _end(self, ok: bool) -> None:
        if self.finished is None:
            self.finished = ok
        self._changed.set()

    async def read(self) -> AsyncIterator[bytes]:
        """Every block from the first, waiting for new ones, until the stream ends."""
        sent = 0
        while True:
            while sent < len(self.blocks):
                yield self.blocks[sent]
                sent += 1
            if self.finished is not None:
                return
            self._changed.clear()
            if sent < len(self.blocks) or self.finished is not None:
                continue
            await self._changed.wait()


class LiveAudio:
    """The streams of the items rendering now, by message id."""

    def __init__(self) -> None:
        self._streams: dict[int, AudioStream] = {}

    def open(self, message_id: int, chunks: int) -> AudioStream:
        stream = AudioStream(asyncio.get_running_loop(), chunks)
        old = self._streams.get(message_id)
        if old is not None:
            old.abort()
        self._streams[message_id] = stream
        return stream

    def get(self, message_id: int) -> AudioStream | None:
        return self._streams.get(message_id)

    def playable(self, message_id: int) -> AudioStream | None:
        """The item's stream while it renders and has audio to play, else None."""
        stream = self._streams.get(message_id)
        return stream if stream is not None and stream.finished is None and stream.has_audio else None

    def close(self, message_id: int, stream: AudioStream, ok: bool) -> None:
        """End ``stream`` (complete when ``ok``) and forget it, unless a newer render replaced it."""
        (stream.complete if ok else stream.abort)()
        if self._streams.get(message_id) is stream:
            del self._streams[message_id]
