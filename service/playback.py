"""What plays, when: PLAY / STOP / autoplay runs, player reports and the vanished-player timeout.

The server never makes sound itself; it marks rows and tells players (via ``publish``) what to play.
Decisions (see docs/queue-rules.md):
- PLAY while something plays -> refused (409 "already playing").
- STOP ends the current item as *played* (the streamer chose to skip it) and ends the autoplay run.
- A mode switch or Clear interrupts the current item: a switch puts it back to *ready* (it was never heard
  to the end and stays in its queue), Clear soft-deletes it with the rest of the queue.
- ``ended`` and ``stopped`` from any player finish the item as played; the first report wins.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from core.chat import QueueName, Status
from service.database import AsyncStore
from service.events import Event
from service.synthesis import remove_files
from storage.messages import StoredMessage

log = logging.getLogger(__name__)


class PlaybackConflict(RuntimeError):
    """PLAY cannot start now (queue empty, already playing); the message says why (HTTP 409)."""


@dataclass
class NowPlaying:
    item: StoredMessage
    waiting_for_audio: bool
    timeout: asyncio.TimerHandle | None = None


class PlaybackController:
    def __init__(
        self,
        db: AsyncStore,
        publish: Callable[[Event], None],
        state_changed: Callable[[], None],
        describe: Callable[[StoredMessage], Event],
        cooldown: Callable[[], float],
        grace: Callable[[], float],
        prefer_synthesis: Callable[[int | None], None],
    ) -> None:
        self._db = db
        self._publish = publish
        self._state_changed = state_changed
        self._describe = describe
        self._cooldown = cooldown
        self._grace = grace
        self._prefer = prefer_synthesis
        self.active_queue = QueueName.MENTIONS
        self.autoplay = False
        self.autoplay_running = False
        self.current: NowPlaying | None = None
        self._autoplay_task: asyncio.Task[None] | None = None
        self._items_changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Future[bool]] = set()

    # --- inputs from the rest of the server ---------------------------------------------------------
    def items_changed(self) -> None:
        """New ingest or a finished synthesis: an autoplay run waiting for items may go on."""
        self._items_changed.set()

    async def on_synthesis_done(self, item: StoredMessage, status: Status) -> None:
        """The worker finished ``item``; if a player waits for it, start it (or skip it when it failed)."""
        self.items_changed()
        async with self._lock:
            current = self.current
            if current is None or current.item.id != item.id or not current.waiting_for_audio:
                return
            if status is Status.READY:
                fresh = await self._db.call(self._db.store.get, item.id)
                if fresh is not None and fresh.status is Status.READY:
                    await self._begin(fresh)
                    return
            self._finish_current_locked()
        self._continue_autoplay()

    # --- the App's buttons --------------------------------------------------------------------------
    async def play(self) -> StoredMessage:
        """Start the oldest item of the active queue; with the autoplay toggle on, start a run."""
        async with self._lock:
            if self.current is not None:
                raise PlaybackConflict("already playing")
            item = await self._db.call(self._db.store.next_to_play, self.active_queue)
            if item is None:
                raise PlaybackConflict(f"the {self.active_queue.value} queue is empty")
            self.autoplay_running = self.autoplay
            await self._start_locked(item)
            return item

    async def stop(self) -> StoredMessage | None:
        """Stop the current item (it counts as played) and end the autoplay run; the toggle keeps its value."""
        self._cancel_autoplay()
        async with self._lock:
            current = self.current
            if current is None:
                self._state_changed()
                return None
            await self._finish_locked(current, Status.PLAYED)
            self._publish({"type": "stop", "id": current.item.id})
            return current.item

    async def interrupt(self, to: Status) -> StoredMessage | None:
        """Stop for a mode switch (item back to ready) or a Clear (caller deletes it)."""
        self._cancel_autoplay()
        async with self._lock:
            current = self.current
            if current is None:
                return None
            if to is Status.READY and not current.waiting_for_audio:
                await self._db.call(self._db.store.transition, current.item.id, [Status.PLAYING], Status.READY)
            self._finish_current_locked()
            self._publish({"type": "stop", "id": current.item.id})
            return current.item

    async def set_autoplay(self, enabled: bool) -> None:
        self.autoplay = enabled
        await self._db.call(self._db.store.save_state, autoplay=enabled)
        if not enabled:
            self._cancel_autoplay()
        self._state_changed()

    async def set_active_queue(self, queue: QueueName) -> None:
        self.active_queue = queue
        await self._db.call(self._db.store.save_state, active_queue=queue)
        self._state_changed()

    async def player_finished(self, message_id: int) -> bool:
        """A player reports ``ended``/``stopped``; False when that item is not the one playing."""
        async with self._lock:
            current = self.current
            if current is None or current.item.id != message_id or current.waiting_for_audio:
                return False
            await self._finish_locked(current, Status.PLAYED)
        self._continue_autoplay()
        return True

    # --- internals ----------------------------------------------------------------------------------
    async def _start_locked(self, item: StoredMessage) -> None:
        if item.status is Status.READY:
            await self._begin(item)
        else:
            self.current = NowPlaying(item, waiting_for_audio=True)
            self._prefer(item.id)
            self._state_changed()

    async def _begin(self, item: StoredMessage) -> None:
        if not await self._db.call(self._db.store.transition, item.id, [Status.READY], Status.PLAYING):
            self._finish_current_locked()
            return
        self._prefer(None)
        playing = dataclasses.replace(item, status=Status.PLAYING)
        loop = asyncio.get_running_loop()
        timeout = loop.call_later((item.duration_s or 0) + self._grace(), self._timed_out, item.id)
        self.current = NowPlaying(playing, waiting_for_audio=False, timeout=timeout)
        self._publish({"type": "play", **self._describe(playing)})
        self._state_changed()

    def _timed_out(self, message_id: int) -> None:
        log.info("no player reported the end of message %d; marking it played", message_id)
        task = asyncio.ensure_future(self.player_finished(message_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish_locked(self, current: NowPlaying, status: Status) -> None:
        if not current.waiting_for_audio:
            await self._db.call(self._db.store.transition, current.item.id, [Status.PLAYING], status)
            path = await self._db.call(self._db.store.forget_audio, current.item.id)
            remove_files([path])
        self._finish_current_locked()

    def _finish_current_locked(self) -> None:
        if self.current is not None and self.current.timeout is not None:
            self.current.timeout.cancel()
        self.current = None
        self._prefer(None)
        self._state_changed()

    def _continue_autoplay(self) -> None:
        if self.autoplay_running and self.autoplay and self._autoplay_task is None:
            self._autoplay_task = asyncio.create_task(self._autoplay_next(), name="autoplay")
        elif not self.autoplay:
            self.autoplay_running = False
            self._state_changed()

    def _cancel_autoplay(self) -> None:
        self.autoplay_running = False
        task, self._autoplay_task = self._autoplay_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._state_changed()

    async def _autoplay_next(self) -> None:
        try:
            await asyncio.sleep(self._cooldown())
            while self.autoplay_running and self.autoplay:
                self._items_changed.clear()
                async with self._lock:
                    if self.current is not None:
                        return
                    item = await self._db.call(self._db.store.next_to_play, self.active_queue)
                    if item is not None:
                        await self._start_locked(item)
                        return
                self._state_changed()
                await self._items_changed.wait()  # queue empty: wait for new items while the toggle is on
        finally:
            if self._autoplay_task is asyncio.current_task():
                self._autoplay_task = None
