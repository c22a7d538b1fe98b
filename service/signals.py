"""The events between the queue's parts: ingest, synthesis, playback and the event hub.

Each part gets one ``QueueSignals`` and tells the others what happened through it; none holds a callback to
another part. ``StreamVoice`` builds the parts top to bottom (hub, playback, synthesis) and then connects
``ServiceSignals`` to the two that talk back to each other (``connect``): playback asks synthesis to prefer or
cancel a render, synthesis tells playback a render is done and asks which queue is active.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from core.chat import QueueName, Status
from service.events import Event, EventHub
from service.resilience import LoopHealth, retry_transient
from storage.messages import StoredMessage

if TYPE_CHECKING:
    from service.playback import PlaybackController
    from service.synthesis import SynthesisWorker

log = logging.getLogger(__name__)


class QueueSignals(Protocol):
    """What the queue's parts say to each other."""

    # --- to the App and the players (the event hub) -------------------------------------------------
    def publish(self, event: Event) -> None:
        """A frame for every player and dashboard (``play``, ``stop``, ``ended``...)."""

    def state_changed(self) -> None:
        """The state frame is out of date (coalesced: many calls, one frame)."""

    # --- to synthesis -------------------------------------------------------------------------------
    def wake(self, queue: QueueName | None = None) -> None:
        """Rows are pending (in ``queue``): an idle lane may claim them."""

    def prefer(self, message_id: int | None) -> None:
        """A player waits for this row: render it first (``None``: no one waits)."""

    def cancel_synthesis(self, message_id: int) -> None:
        """The row is gone (removed, skipped while streaming): stop rendering it."""

    # --- to playback --------------------------------------------------------------------------------
    def items_changed(self) -> None:
        """New ingest or a finished render: an autoplay run waiting for items may go on."""

    def synthesis_done(self, item: StoredMessage, status: Status) -> None:
        """A render ended: ``READY``, ``ERROR``, or ``PENDING`` (it was cancelled and goes back)."""

    def first_audio(self, item: StoredMessage) -> None:
        """A long line's first sentence is rendered: a player waiting for it may start streaming it."""

    # --- what synthesis asks of playback ------------------------------------------------------------
    def active_queue(self) -> QueueName:
        """The queue the streamer listens to now (its renders are urgent)."""

    def playing_id(self) -> int | None:
        """The row playing now (its WAV is never dropped by the mentions audio cap)."""


class ServiceSignals:
    """``QueueSignals`` for the running service: the hub's frames, and playback and synthesis once connected."""

    def __init__(self, events: EventHub, health: LoopHealth) -> None:
        self._events = events
        self._health = health
        self._playback: PlaybackController | None = None
        self._worker: SynthesisWorker | None = None
        self._pending: set[asyncio.Future[Any]] = set()

    def connect(self, playback: PlaybackController, worker: SynthesisWorker) -> None:
        """Called once, right after both parts are built (before anything runs)."""
        self._playback, self._worker = playback, worker

    @property
    def playback(self) -> PlaybackController:
        assert self._playback is not None, "ServiceSignals.connect was not called"
        return self._playback

    @property
    def worker(self) -> SynthesisWorker:
        assert self._worker is not None, "ServiceSignals.connect was not called"
        return self._worker

    def publish(self, event: Event) -> None:
        self._events.publish(event)

    def state_changed(self) -> None:
        self._events.state_changed()

    def wake(self, queue: QueueName | None = None) -> None:
        self.worker.wake(queue)

    def prefer(self, message_id: int | None) -> None:
        self.worker.prefer = message_id
        if message_id is not None:
            self.worker.wake()

    def cancel_synthesis(self, message_id: int) -> None:
        self.worker.cancel(message_id)

    def items_changed(self) -> None:
        self.playback.items_changed()

    def synthesis_done(self, item: StoredMessage, status: Status) -> None:
        self.state_changed()
        playback = self.playback
        self._spawn(retry_transient("playback", self._health, lambda: playback.on_synthesis_done(item, status)))

    def first_audio(self, item: StoredMessage) -> None:
        playback = self.playback
        self._spawn(retry_transient("playback", self._health, lambda: playback.on_first_audio(item.id)))

    def active_queue(self) -> QueueName:
        return self.playback.active_queue

    def playing_id(self) -> int | None:
        current = self.playback.current
        return current.item.id if current else None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
