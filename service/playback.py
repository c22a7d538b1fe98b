"""What plays, when: PLAY / STOP / autoplay runs, player reports and the vanished-player timeout.

The server never makes sound itself; it marks rows and tells players (via ``publish``) what to play.
Decisions (see docs/queue-rules.md):
- PLAY while something plays -> refused (409 "already playing").
- STOP ends the current item as *played* (the streamer chose to skip it) and ends the autoplay run.
- A mode switch or Clear interrupts the current item: a switch puts it back to *ready* (it was never heard
  to the end and stays in its queue), Clear soft-deletes it with the rest of the queue.
- ``ended`` and ``stopped`` from any player finish the item as played; the first report wins.
- SKIP ends the current item as *skipped* (not played); an autoplay run goes on after the cooldown. A removal
  (one item, a chatter's lines, a Twitch delete/timeout) that hits the playing item stops it the same way.
- Held mentions (``hold_seconds``) and cheers awaiting approval are passed over until they may play; stale
  mentions (``mentions_max_age``) are dropped when their turn comes (rules in ``core.moderation``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from core.captions import Captions
from core.chat import WAITING_STATUSES, QueueName, Status
from core.errors import Conflict
from core.moderation import SKIP_REASON, hold_for, playable_at, stale_cutoff
from core.playback_clock import unplayed_seconds
from core.refunds import STOP_REASON
from service.database import AsyncStore
from service.events import Event
from service.live_audio import AudioStream, LiveAudio
from service.live_settings import LiveSettings
from service.resilience import Backoff, LoopHealth, is_transient, retry_transient
from service.signals import QueueSignals
from service.synthesis import remove_files
from storage.messages import StoredMessage, utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

_BACKOFF = Backoff(initial=0.2, cap=5.0)


def captions_of(item: StoredMessage) -> dict[str, Any] | None:
    """The item's word timings for the ``play`` frame (docs/captions.md); None when it has none."""
    return None if item.word_timings is None else Captions.from_json(item.word_timings).to_dict()


class PlaybackConflict(Conflict, RuntimeError):
    """PLAY cannot start now (queue empty, already playing); the message says why."""


@dataclass
class NowPlaying:
    item: StoredMessage
    waiting_for_audio: bool
    timeout: asyncio.TimerHandle | None = None
    #: Started from its first sentence while the rest still renders (``service.live_audio``).
    stream: AudioStream | None = None
    started: float = 0.0
    #: The latest ``progress`` report: (seconds heard, ``time.monotonic()`` when reported); None: none came.
    heard: tuple[float, float] | None = None


class PlaybackController:
    def __init__(self, db: AsyncStore, settings: LiveSettings, signals: QueueSignals,
                 describe: Callable[[StoredMessage], Event], health: LoopHealth | None = None,
                 live: LiveAudio | None = None) -> None:
        self._db = db
        #: ``autoplay_cooldown``, ``playback_grace``, ``hold_seconds``, ``mentions_max_age``: read per use.
        self._settings = settings
        #: Long lines rendering now: one may start from its first sentence (``_begin_stream``).
        self._live = live or LiveAudio()
        #: "playback": the timers and autoplay runs (a locked database delays them, never ends them).
        self._health = health or LoopHealth()
        self._health.register("playback")
        self._signals = signals
        self._describe = describe
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
            if current is not None and current.item.id == item.id and current.stream is not None:
                if status is Status.READY:  # now with its WAV and exact duration (still playing)
                    fresh = await self._db.call(self._db.store.get, item.id)
                    if fresh is not None and fresh.status is Status.PLAYING:
                        current.item = fresh
                if self._stream_done_locked(current, status):
                    return
                self._finish_current_locked(cancel_render=False)
                self._signals.publish({"type": "stop", "id": item.id})
                self._continue_autoplay()
                return
            if current is None or current.item.id != item.id or not current.waiting_for_audio:
                return
            if status is Status.READY:
                fresh = await self._db.call(self._db.store.get, item.id)
                if fresh is not None and fresh.status is Status.READY:
                    await self._begin(fresh)
                    return
            self._finish_current_locked()
        self._continue_autoplay()

    async def on_first_audio(self, message_id: int) -> None:
        """A long line's first sentence is rendered; if a player waits for that item, start streaming it."""
        async with self._lock:
            current = self.current
            if current is not None and current.item.id == message_id and current.waiting_for_audio:
                await self._begin_stream(current.item)

    # --- the App's buttons --------------------------------------------------------------------------
    async def play(self) -> StoredMessage:
        """Start the oldest item of the active queue; with the autoplay toggle on, start a run."""
        async with self._lock:
            if self.current is not None:
                raise PlaybackConflict("already playing")
            item = await self._next_item()
            if item is None:
                held = await self._db.call(self._db.store.waiting, self.active_queue, 1)
                if held:
                    raise PlaybackConflict(f"nothing in the {self.active_queue.value} queue may play yet "
                                           "(held for moderation)")
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
                self._signals.state_changed()
                return None
            await self._finish_locked(current, Status.PLAYED, reason=STOP_REASON)  # ended early (refunds)
            self._signals.publish({"type": "stop", "id": current.item.id})
            return current.item

    async def interrupt(self, to: Status) -> StoredMessage | None:
        """Stop for a mode switch (item back to ready) or a Clear (caller deletes it)."""
        self._cancel_autoplay()
        async with self._lock:
            current = self.current
            if current is None:
                return None
            if to is Status.READY and not current.waiting_for_audio:  # a streamed item goes on rendering
                await self._db.call(self._db.store.unplay, current.item.id)
            self._finish_current_locked(cancel_render=to is not Status.READY)
            self._signals.publish({"type": "stop", "id": current.item.id})
            return current.item

    async def set_autoplay(self, enabled: bool) -> None:
        self.autoplay = enabled
        await self._db.call(self._db.store.save_state, autoplay=enabled)
        if not enabled:
            self._cancel_autoplay()
        self._signals.state_changed()

    async def set_active_queue(self, queue: QueueName) -> None:
        self.active_queue = queue
        await self._db.call(self._db.store.save_state, active_queue=queue)
        self._signals.state_changed()

    async def player_finished(self, message_id: int) -> bool:
        """A player reports ``ended``/``stopped``; False when that item is not the one playing."""
        async with self._lock:
            current = self.current
            if current is None or current.item.id != message_id or current.waiting_for_audio:
                return False
            await self._finish_locked(current, Status.PLAYED)
            self._signals.publish({"type": "ended", "id": message_id})
        self._continue_autoplay()
        return True

    async def player_progress(self, message_id: int, position: float) -> bool:
        """A player reports how far it has played the current item (seconds). The vanished-player timeout then
        counts from the end that report implies, so a player that keeps reporting is always waited for. False
        when that item is not the one playing."""
        async with self._lock:
            current = self.current
            if current is None or current.item.id != message_id or current.waiting_for_audio:
                return False
            current.heard = (position, time.monotonic())
            if current.stream is None:  # a whole file, or a stream whose render ended: its duration is known
                self._schedule_timeout(current, max(0.0, (current.item.duration_s or 0.0) - position))
            return True

    def _schedule_timeout(self, current: NowPlaying, remaining: float) -> None:
        if current.timeout is not None:
            current.timeout.cancel()
        current.timeout = asyncio.get_running_loop().call_later(
            remaining + self._settings.current.playback_grace, self._timed_out, current.item.id)

    # --- moderation ---------------------------------------------------------------------------------
    async def moderate(self, stops: Callable[[StoredMessage], bool],
                       work: Callable[[StoredMessage | None], Awaitable[T]]) -> tuple[T, StoredMessage | None]:
        """Run a moderation change atomically with playback; stop the current item when ``stops`` says so.

        ``work`` gets the item being stopped (or None) and does the database change while no item can start
        or finish. A stopped item gets ``stop`` to players and an autoplay run goes on after the cooldown.
        """
        async with self._lock:
            current = self.current
            hit = current if current is not None and stops(current.item) else None
            result = await work(hit.item if hit else None)
            if hit is not None:
                self._finish_current_locked()
                self._signals.publish({"type": "stop", "id": hit.item.id})
        if hit is not None:
            self._continue_autoplay()
        else:
            self._signals.state_changed()
        return result, hit.item if hit else None

    async def skip(self) -> StoredMessage | None:
        """End the current item as *skipped* (not played); an autoplay run goes on after the cooldown."""
        async def mark(item: StoredMessage | None) -> None:
            if item is not None:
                _, path = await self._db.call(self._db.store.mark_skipped, item.id, SKIP_REASON)
                remove_files([path])

        _, skipped = await self.moderate(lambda item: True, mark)
        if skipped is not None:
            log.info("message %d skipped", skipped.id)
        return skipped

    async def resume(self) -> None:
        """Autoplay toggle on and, when nothing plays, start a run (it waits for items when none may play)."""
        await self.set_autoplay(True)
        if self.current is not None:  # pause then resume inside one item: the run goes on after it
            self.autoplay_running = True
            self._signals.state_changed()
        elif self._autoplay_task is None:
            self.autoplay_running = True
            self._autoplay_task = asyncio.create_task(self._autoplay_next(first=True), name="autoplay")
            self._signals.state_changed()

    # --- internals ----------------------------------------------------------------------------------
    async def _next_item(self) -> StoredMessage | None:
        """The next item that may play: stale mentions are dropped first, held ones passed over."""
        queue = self.active_queue
        now = utcnow()
        cutoff = stale_cutoff(queue, now, self._settings.current.mentions_max_age)
        if cutoff is not None:
            dropped = await self._db.call(self._db.store.drop_stale, queue, cutoff)
            if dropped:
                remove_files([d.audio_path for d in dropped])
                log.info("dropped %d stale mention(s) (older than mentions_max_age)", len(dropped))
                self._signals.state_changed()
        hold = hold_for(queue, self._settings.current.hold_seconds)
        return await self._db.call(self._db.store.next_playable, queue, now - timedelta(seconds=hold))

    async def _next_hold_expiry(self) -> float | None:
        """Seconds until the oldest held item may play (None: nothing is held by time)."""
        item = await self._db.call(self._db.store.oldest_held, self.active_queue)
        if item is None:
            return None
        release = playable_at(item.queue, item.received_at, self._settings.current.hold_seconds)
        return max(0.01, (release - utcnow()).total_seconds())

    async def _start_locked(self, item: StoredMessage) -> None:
        if item.status is Status.READY:
            await self._begin(item)
        elif item.status is Status.SYNTHESIZING and self._live.playable(item.id):
            await self._begin_stream(item)
        else:
            self.current = NowPlaying(item, waiting_for_audio=True)
            self._signals.prefer(item.id)
            self._signals.state_changed()

    async def _begin(self, item: StoredMessage) -> None:
        if item.audio_path is None or not os.path.isfile(item.audio_path):
            await self._resynthesize_locked(item)
            return
        if not await self._to_playing(item.id, Status.READY):
            self._finish_current_locked()
            return
        self._signals.prefer(None)
        playing = dataclasses.replace(item, status=Status.PLAYING)
        loop = asyncio.get_running_loop()
        timeout = loop.call_later((item.duration_s or 0) + self._settings.current.playback_grace, self._timed_out,
                                  item.id)
        self.current = NowPlaying(playing, waiting_for_audio=False, timeout=timeout)
        self._signals.publish({"type": "play", **self._describe(playing), "streaming": False,
                       "captions": captions_of(playing)})
        self._signals.state_changed()

    async def _begin_stream(self, item: StoredMessage) -> None:
        """Play a long line from its first sentence on: players get ``/audio/{id}.wav`` as a stream that grows
        while the rest renders (``streaming: true``, no duration yet); the WAV file and the exact duration come
        when the render ends (``_stream_done_locked``)."""
        stream = self._live.playable(item.id)
        if stream is None:
            return  # done meanwhile: ``on_synthesis_done`` starts it from its file
        if not await self._to_playing(item.id, Status.SYNTHESIZING):
            fresh = await self._db.call(self._db.store.get, item.id)
            if fresh is not None and fresh.status is Status.READY:
                await self._begin(fresh)
            elif fresh is None or fresh.is_deleted or fresh.status not in WAITING_STATUSES:
                self._finish_current_locked()
            return
        self._signals.prefer(None)
        playing = dataclasses.replace(item, status=Status.PLAYING)
        self.current = NowPlaying(playing, waiting_for_audio=False, stream=stream, started=time.monotonic())
        self._signals.publish({"type": "play", **self._describe(playing), "audio_url": f"/audio/{item.id}.wav",
                       "duration": None, "streaming": True, "captions": None})
        log.info("message %d: playing from its first sentence while %d more render", item.id, stream.chunks - 1)
        self._signals.state_changed()

    async def _to_playing(self, message_id: int, from_status: Status) -> bool:
        """``from_status`` -> ``playing`` in the database, moving together with ``current``: when the caller is
        cancelled meanwhile (pause or STOP cancel an autoplay run that is starting an item) the committed
        transition is undone before the cancellation goes on, so no row is ever left ``playing`` while nothing
        is current (it would leave the queue and come back only after a restart)."""
        change = asyncio.ensure_future(
            self._db.call(self._db.store.transition, message_id, [from_status], Status.PLAYING))
        try:
            return await asyncio.shield(change)
        except asyncio.CancelledError:
            undo = asyncio.ensure_future(self._undo_playing(change, message_id))
            await asyncio.shield(undo)  # a second cancel here still lets the undo finish
            raise

    async def _undo_playing(self, change: asyncio.Future[bool], message_id: int) -> None:
        if await change:
            await self._db.call(self._db.store.unplay, message_id)
            log.info("message %d: start cancelled (pause or STOP); it stays in the queue", message_id)

    def _stream_done_locked(self, current: NowPlaying, status: Status) -> bool:
        """The streamed item's render ended. True: it plays on (the vanished-player timeout now counts from
        the audio's known end); False: it failed, the caller stops it."""
        stream = current.stream
        assert stream is not None
        if status is Status.ERROR:
            return False
        # from the end of the render: the audio a player cannot have played yet (it waited for slow sentences),
        # or what its own latest progress report leaves, whichever ends later
        now = time.monotonic()
        remaining = unplayed_seconds(current.started, stream.arrivals, now)
        if current.heard is not None:
            position, reported = current.heard
            remaining = max(remaining, stream.seconds - position - (now - reported))
        current.stream = None
        self._schedule_timeout(current, remaining)
        self._signals.state_changed()
        return True

    async def _resynthesize_locked(self, item: StoredMessage) -> None:
        """The item's WAV vanished (deleted by hand, a cleanup tool): never announce it, never count it played.
        It goes back to pending and this PLAY waits for its new WAV like any item not yet synthesised."""
        log.warning("message %d: its WAV %s is gone; synthesising it again before it plays", item.id, item.audio_path)
        if not await self._db.call(self._db.store.requeue_missing_audio, item.id):
            self._finish_current_locked()  # cleared or removed meanwhile
            return
        pending = dataclasses.replace(item, status=Status.PENDING, audio_path=None, audio_bytes=None,
                                      duration_s=None)
        self.current = NowPlaying(pending, waiting_for_audio=True)
        self._signals.prefer(item.id)
        self._signals.state_changed()

    def _timed_out(self, message_id: int) -> None:
        log.info("no player reported the end of message %d; marking it played", message_id)
        task = asyncio.ensure_future(
            retry_transient("playback", self._health, lambda: self.player_finished(message_id)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish_locked(self, current: NowPlaying, status: Status, reason: str | None = None) -> None:
        if not current.waiting_for_audio:
            await self._db.call(self._db.store.transition, current.item.id, [Status.PLAYING], status, reason)
            path = await self._db.call(self._db.store.forget_audio, current.item.id)
            remove_files([path])
        self._finish_current_locked()

    def _finish_current_locked(self, cancel_render: bool = True) -> None:
        """Forget the current item; one still streaming stops rendering too (nobody will hear the rest)."""
        if self.current is not None and self.current.timeout is not None:
            self.current.timeout.cancel()
        if cancel_render and self.current is not None and self.current.stream is not None:
            self._signals.cancel_synthesis(self.current.item.id)
        self.current = None
        self._signals.prefer(None)
        self._signals.state_changed()

    def _continue_autoplay(self) -> None:
        if self.autoplay_running and self.autoplay and self._autoplay_task is None:
            self._autoplay_task = asyncio.create_task(self._autoplay_next(), name="autoplay")
        elif not self.autoplay:
            self.autoplay_running = False
            self._signals.state_changed()

    def _cancel_autoplay(self) -> None:
        self.autoplay_running = False
        task, self._autoplay_task = self._autoplay_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._signals.state_changed()

    async def _autoplay_next(self, first: bool = False) -> None:
        try:
            if not first:
                await asyncio.sleep(self._settings.current.autoplay_cooldown)
            failures = 0
            while self.autoplay_running and self.autoplay:
                self._items_changed.clear()
                try:
                    async with self._lock:
                        if self.current is not None:
                            return
                        item = await self._next_item()
                        if item is not None:
                            await self._start_locked(item)
                            self._health.ok("playback")
                            return
                        wake_in = await self._next_hold_expiry()
                except Exception as exc:  # a locked database pauses the run; it goes on once the fault passes
                    if not is_transient(exc):
                        raise
                    self._health.failing("playback", exc)
                    await asyncio.sleep(_BACKOFF.delay(failures))
                    failures += 1
                    continue
                self._health.ok("playback")
                self._signals.state_changed()
                # queue empty (or all held): wait for new items, or for the next hold to expire
                try:
                    async with asyncio.timeout(wake_in):
                        await self._items_changed.wait()
                except TimeoutError:
                    pass
        finally:
            if self._autoplay_task is asyncio.current_task():
                self._autoplay_task = None
