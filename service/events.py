"""Fan-out of server events to connected players (WebSocket clients)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core.chat import Origin
from service.resilience import Backoff, LoopHealth
from storage.messages import NewMessage

log = logging.getLogger(__name__)

Event = dict[str, Any]


def queued_event(message_id: int, message: NewMessage) -> Event:
    """``queued``: a line was accepted and will be spoken (docs/websocket.md)."""
    origin = message.origin or Origin.default_for(message.bits_amount)
    return {"type": "queued", "id": message_id, "queue": message.queue.value, "sent_by": message.sent_by,
            "text": message.text, "spoken_text": message.spoken_text, "bits_amount": message.bits_amount,
            "voice": message.voice, "source": origin.value}

_BACKOFF = Backoff(initial=0.1, cap=5.0)


class EventHub:
    """Every subscriber gets every event, in order. A slow subscriber is dropped rather than grow memory.

    ``state`` events are coalesced: ``state_changed()`` may be called thousands of times a second under
    ingest load, but a fresh snapshot is built and sent at most every ``state_interval`` seconds.
    """

    def __init__(self, snapshot: Callable[[], Awaitable[Event]], state_interval: float = 0.05,
                 max_backlog: int = 1000, health: LoopHealth | None = None) -> None:
        self._snapshot = snapshot
        self._health = health or LoopHealth()
        self._health.register("events")
        self._interval = state_interval
        self._max_backlog = max_backlog
        self._subscribers: set[asyncio.Queue[Event | None]] = set()
        #: In-process listeners (``GET /audio/latest.wav`` keeps the newest WAV): every published event, called
        #: on the event loop; not players, so they neither count as subscribers nor make state snapshots.
        self._listeners: list[Callable[[Event], None]] = []
        #: In-process callbacks on every ``state_changed()``, with or without players (the channel-point loop
        #: settles an item that left the queue at once). Called synchronously: they must only set a flag.
        self._state_listeners: list[Callable[[], None]] = []
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._state_loop(), name="state-events")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()

    def subscribe(self) -> asyncio.Queue[Event | None]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def add_state_listener(self, listener: Callable[[], None]) -> None:
        self._state_listeners.append(listener)

    def remove_state_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._state_listeners.remove(listener)

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's fault never stops the players' events
                log.exception("an event listener failed")
        for queue in list(self._subscribers):
            if queue.qsize() >= self._max_backlog:
                log.warning("dropping a player that stopped reading events")
                self._subscribers.discard(queue)
                queue.put_nowait(None)
                continue
            queue.put_nowait(event)

    def state_changed(self) -> None:
        self._dirty.set()
        for listener in list(self._state_listeners):
            listener()

    async def _state_loop(self) -> None:
        """Coalesced snapshots; a failing snapshot (a locked database) is retried with backoff, logged once."""
        failures = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._subscribers:
                try:
                    self.publish(await self._snapshot())
                except Exception as exc:
                    if not failures:
                        log.exception("could not build the state snapshot")
                    self._health.failing("events", exc)
                    self._dirty.set()  # the players still need this state: try again after the backoff
                    await asyncio.sleep(_BACKOFF.delay(failures))
                    failures += 1
                    continue
                if failures:
                    failures = 0
                    self._health.ok("events")
            await asyncio.sleep(self._interval)
