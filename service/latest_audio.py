"""The WAV of the item that played last, kept after playback deletes its file (``GET /audio/latest.wav``).

A played item's WAV is deleted when it ends (the queue keeps no audio it no longer needs), but tools that
download and play a file (Firebot's Play Sound, SAMMI) ask for "the latest" after the fact. So every ``play``
event's audio is copied into memory here (one WAV, the newest): read from its file, or, for a long line that
plays while it renders, gathered from its live stream and written with exact sizes once the render ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from service.events import EventHub
from service.live_audio import LiveAudio
from tts.audio_formats import encode

log = logging.getLogger(__name__)


class LatestAudio:
    def __init__(self, events: EventHub, live: LiveAudio, audio_dir: Path) -> None:
        self._events = events
        self._live = live
        self._audio_dir = audio_dir
        #: (item id, the WAV bytes) of the newest item whose audio is whole; None before the first play.
        self.latest: tuple[int, bytes] | None = None
        self._gathering: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._events.add_listener(self._on_event)

    async def stop(self) -> None:
        self._events.remove_listener(self._on_event)
        for task in list(self._gathering):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_event(self, event: dict[str, Any]) -> None:
        """Every ``play``: keep its audio (a listener of the hub, not a player: it never misses a frame)."""
        if event.get("type") == "play" and isinstance(event.get("id"), int):
            self._remember(event)

    def _remember(self, event: dict[str, Any]) -> None:
        message_id: int = event["id"]
        if event.get("streaming"):
            stream = self._live.get(message_id)
            if stream is not None:
                task = asyncio.create_task(self._gather(message_id, stream))
                self._gathering.add(task)
                task.add_done_callback(self._gathering.discard)
            return
        task = asyncio.create_task(self._read(message_id, self._audio_dir / f"{message_id}.wav"))
        self._gathering.add(task)
        task.add_done_callback(self._gathering.discard)

    async def _read(self, message_id: int, path: Path) -> None:
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:  # gone already (stopped at once): the previous one stays the latest
            log.debug("could not keep the WAV of message %d: %s", message_id, exc)
            return
        self.latest = (message_id, data)

    async def _gather(self, message_id: int, stream: Any) -> None:
        blocks = [block async for block in stream.read()]
        if stream.finished:
            samples = np.frombuffer(b"".join(blocks), dtype="<i2").astype(np.float32) / 32767.0
            self.latest = (message_id, await asyncio.to_thread(encode, samples, "wav"))
