"""The background synthesis worker: pending rows -> WAV files, oldest first, never on the event loop.

The worker runs ``engine.lanes`` lanes (1 on CPU, ``tts.engine.CPU_LANES``, one message on its thread; 1 on CUDA,
rendering up to ``engine.max_batch`` messages per forward pass). Each lane claims the next pending rows
(the item a player waits for, then the active queue, then the other one), renders, writes the WAV and marks
the row ready only if it is still being synthesised (a Clear meanwhile wins). A failing message is marked
``error`` alone. Renders for the active queue (or the item a player waits for) are urgent: the others pause
between model blocks while they run. When a line for the active queue arrives while every lane renders the
*other* queue, the newest such render is cancelled and its row goes back to pending, so the line the
streamer is listening to starts at once instead of one backlog item later (bench/README.md, "latency").

With ``cpu_priority: low`` (settings; ``tts.cpu_priority``) each lane renders on a thread at a lower OS
priority, so a game on the same PC keeps its cores while the queue is ahead of playback; the item that plays
next, when it is not ready yet (a player waits for it, or nothing is before it in the active queue), renders on
one more thread kept at normal priority instead (an unprivileged thread can lower its priority, not raise it
back). Each time the queue drains, the engine returns the renders' freed memory to the OS
(``KokoroEngine.release_memory``).

A line of several chunks (a long line is cut at sentence ends) is streamed while it renders: each chunk's
audio goes to ``service.live_audio`` at once, and after the first one playback may start the item
(``QueueSignals.first_audio``); the WAV file and the row's duration are written when the whole line is done, as
for any other line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from core.chat import QueueName, Status
from core.settings import Settings, SettingsError
from service.daemon_thread import run_in_daemon_thread
from service.database import AsyncStore
from service.live_audio import AudioStream, LiveAudio
from service.live_settings import LiveSettings
from service.resilience import Backoff, LoopHealth, retry_transient
from service.signals import QueueSignals
from storage.messages import RemovedAudio, StoredMessage
from tts.cpu_priority import lower_current_thread
from tts.engine import SAMPLE_RATE, Chunk, EngineConfig, EngineUnavailable, KokoroEngine, RenderCancelled, Speech
from tts.wav import write_wav_atomic

log = logging.getLogger(__name__)

ENGINE_RETRY_S = 30.0
#: Waits between attempts while the audio folder refuses WAVs, and after an unexpected fault in a lane.
_AUDIO_BACKOFF = Backoff(initial=0.2, cap=10.0)
_LANE_BACKOFF = Backoff(initial=0.5, cap=30.0)
T = TypeVar("T")
#: Most lanes the worker runs, whatever the engine asks for.
MAX_LANES = 4


@dataclass
class _Render:
    """What one lane is rendering right now."""

    items: list[StoredMessage]
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)


def _speak_batch(engine: KokoroEngine, texts: list[str], voices: list[str | None] | None = None,
                  langs: list[str | None] | None = None) -> list[Speech | Exception]:
    """Phonemize each text (a failure stays that text's), then render the rest together, each in its voice."""
    if langs is None or all(lang is None for lang in langs):  # rows from before languages: the engine's own
        return engine.speak_batch(texts, voices)
    return engine.speak_batch(texts, voices, langs)


def engine_config(s: Settings) -> EngineConfig:
    """What the engine is built from (voice and speed change live, the rest needs a restart)."""
    return EngineConfig(lang_code=s.lang_code, device=s.device, model_dir=s.model_dir, voice=s.voice,
                        voices=dict(s.voices), speed=s.speed, precision=s.precision,
                        fused_vocoder=s.fused_vocoder, cpu_priority=s.cpu_priority, cpu_threads=s.cpu_threads)


def remove_files(paths: Iterable[str | None]) -> None:
    for path in paths:
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class SynthesisWorker:
    """Owns the engine (loading it off-loop, retrying when it is unavailable) and drains pending rows."""

    def __init__(self, db: AsyncStore, settings: LiveSettings, signals: QueueSignals,
                 engine_loader: Callable[[EngineConfig], KokoroEngine] = KokoroEngine.load,
                 health: LoopHealth | None = None, live: LiveAudio | None = None) -> None:
        self._db = db
        #: ``audio_dir`` (read once), the engine's settings and ``mentions_max_audio_bytes`` (read per use).
        self._settings = settings
        #: Long lines' audio while they render (``service.live_audio``); ``signals.first_audio`` when a first
        #: sentence of such a line is readable there (playback may start it).
        self.live = live or LiveAudio()
        self._signals = signals
        #: "synthesis": the lanes' database work; "audio": writing WAVs (a full disk, an unwritable folder).
        self._health = health or LoopHealth()
        self._health.register("synthesis")
        self._health.register("audio")
        self._audio_failures = 0
        self.audio_dir = Path(settings.current.audio_dir).resolve()
        self._engine_loader = engine_loader
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="synth")
        #: One thread per lane for its renders: torch's OpenMP team and oneDNN's buffers stay warm per thread.
        #: With ``cpu_priority: low`` these run at a lower OS priority, and ``_boost_thread`` (normal priority)
        #: renders the item that plays next when it is not ready yet (see ``_render_boosted``).
        self._render_threads: list[ThreadPoolExecutor] = []
        self._boost_thread: ThreadPoolExecutor | None = None
        self._boost_lane: int | None = None
        #: False while renders have run since the queue last drained (``_drained`` returns memory once per drain).
        self._memory_returned = True
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._renders: dict[int, _Render] = {}
        self._lanes = 1
        self.engine: KokoroEngine | None = None
        self.state = "loading"
        #: A row a player is waiting for jumps the queue.
        self.prefer: int | None = None
        #: Lanes looking for their next rows right now (``busy``).
        self._claiming = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="synthesis-worker")

    async def stop(self) -> None:
        """Stop promptly and leave no row claimed: renders stop at their next model block, a model load still
        running is abandoned (daemon thread), and every ``synthesizing`` row goes back to ``pending``."""
        for render in list(self._renders.values()):
            render.cancel.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        boost = [self._boost_thread] if self._boost_thread is not None else []
        for executor in (self._executor, *self._render_threads, *boost):
            executor.shutdown(wait=True, cancel_futures=True)
        try:  # a claim committed while its lane was being cancelled has no lane left to release it
            released = await self._db.call(self._db.store.release_all_claims)
        except Exception as exc:  # the next start's recovery puts them back instead
            log.warning("could not release claimed messages at stop (%s); the next start recovers them", exc)
        else:
            if released:
                log.info("stop: %d claimed message(s) back to pending", released)

    @property
    def busy(self) -> bool:
        """Chat work is rendering, or may be waiting (a wake-up not yet taken, a lane claiming rows): renders for
        the OpenAI-compatible API wait for this to clear before each sentence (chat comes first)."""
        return bool(self._renders) or self._claiming > 0 or self._wakeup.is_set()

    def _active_queue(self) -> QueueName:
        return self._signals.active_queue()

    def wake(self, queue: QueueName | None = None) -> None:
        """New work. ``queue``: a line was just stored there; if it is the active queue (or a player is
        waiting for an item) and every lane is busy with the other queue, that render yields its lane."""
        self._wakeup.set()
        if (queue is not None and queue is self._active_queue()) or self.prefer is not None:
            self._preempt_other_queue()

    def cancel(self, message_id: int) -> None:
        """Stop rendering ``message_id`` (it was stopped, skipped or removed while it streamed)."""
        for render in self._renders.values():
            if any(item.id == message_id for item in render.items):
                render.cancel.set()

    def _preempt_other_queue(self) -> None:
        if len(self._renders) < self._lanes:
            return  # a lane is free (or about to be): it takes the new work
        active = self._active_queue()
        if any(self.prefer == item.id or item.queue is active
               for render in self._renders.values() for item in render.items):
            return  # a lane already works for the active queue; it takes the new line next
        victim = max(self._renders.values(), key=lambda r: r.started)  # the newest has done the least
        if not victim.cancel.is_set():
            log.info("cancelling synthesis of %s (%s queue) for a new %s item",
                     [i.id for i in victim.items], victim.items[0].queue.value, active.value)
            victim.cancel.set()

    async def _in_thread(self, fn: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _on_lane(self, lane: int, fn: Callable[..., object], *args: object) -> object:
        thread = self._boost_thread if self._boost_lane == lane else self._render_threads[lane]
        assert thread is not None
        return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)

    async def _render_boosted(self, lane: int, items: list[StoredMessage], urgent: bool) -> bool:
        """``cpu_priority: low``: whether this lane's render goes to the normal-priority thread. Yes when the
        item is the one that plays next and is not ready (a player waits for it, or nothing is before it in
        the active queue) and no other lane holds that thread; otherwise the lane's low-priority thread
        renders it (the queue is ahead of playback: the game may have the cores)."""
        if self._boost_thread is None or self._boost_lane is not None or not urgent or len(items) != 1:
            return False
        item = items[0]
        if item.id != self.prefer:
            head = await self._retry(self._db.store.next_to_play, self._active_queue())
            if head is None or head.id != item.id:
                return False
        self._boost_lane = lane
        return True

    async def _drained(self) -> None:
        """The queue has drained (no lane renders, nothing pending): once per drain, the engine gives the
        memory the renders freed back to the OS (``KokoroEngine.release_memory``), off the event loop."""
        if self._memory_returned or self._renders:
            return
        self._memory_returned = True
        engine = self.engine
        release = getattr(engine, "release_memory", None)
        if release is not None:
            try:
                await self._in_thread(release)
            except Exception as exc:  # only memory stays high; the worker goes on
                log.warning("returning memory after the queue drained failed: %s", exc)

    async def apply_voice(self, config: EngineConfig) -> None:
        """Switch the loaded engine to a new voice/speed (raises on a bad voice; old voice stays)."""
        if self.engine is not None:
            engine = self.engine
            await self._in_thread(lambda: engine.set_voice(config.voice, config.voices or {}, config.speed))

    async def check_voices(self, specs: list[tuple[str, str]]) -> None:
        """Load each ``(settings key, voice spec)`` pack now (cached for synthesis); a missing pack raises
        ``SettingsError`` naming the key, so a live edit that needs it is refused. No engine yet: nothing to do."""
        engine = self.engine
        if engine is None:
            return
        for key, spec in specs:
            try:
                await self._in_thread(engine.check_voice, spec)
            except Exception as exc:
                raise SettingsError(key, f"{type(exc).__name__}: {exc}") from exc

    async def _load_engine(self) -> bool:
        self.state = "loading"
        config = engine_config(self._settings.current)
        try:
            # not on an executor: a stop must not wait for a load (or a first start's download) to finish
            self.engine = await run_in_daemon_thread(self._engine_loader, config, name="engine-load")
        except (EngineUnavailable, Exception) as exc:
            self.state = f"unavailable: {exc}"
            log.error("speech engine unavailable: %s (retrying every %.0fs)", exc, ENGINE_RETRY_S)
            return False
        assert self.engine is not None
        # The model, G2P lexicons and spaCy make ~0.5 M long-lived objects; every full collection walked them
        # all (~200 ms with the event loop stopped: the ingest latency spikes). Park them outside the GC.
        gc.collect()
        gc.freeze()
        self.state = f"ready on {self.engine.device}"
        return True

    async def _run(self) -> None:
        while self.engine is None and not await self._load_engine():
            self._wakeup.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(ENGINE_RETRY_S):  # not wait_for: it can lose a stop's cancel
                    await self._wakeup.wait()
        self._lanes = max(1, min(int(getattr(self.engine, "lanes", 1)), MAX_LANES))
        low = getattr(self.engine, "cpu_priority", "normal") == "low"
        self._render_threads = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"render-{lane}",
                                                   initializer=lower_current_thread if low else None)
                                for lane in range(self._lanes)]
        if low:
            self._boost_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-next")
        lanes = [asyncio.create_task(self._lane(lane), name=f"synthesis-lane-{lane}") for lane in range(self._lanes)]
        try:
            await asyncio.gather(*lanes)
        finally:
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def _retry(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """A repository call that waits out a locked/failing database (backoff, health) instead of raising."""
        return await retry_transient("synthesis", self._health, lambda: self._db.call(fn, *args, **kwargs))

    async def _lane(self, lane: int) -> None:
        """One lane, for good: a fault the steps below do not handle is logged, backed off and survived."""
        failures = 0
        while True:
            try:
                await self._lane_step(lane)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failures:
                    log.exception("synthesis lane %d failed; retrying with backoff", lane)
                self._health.failing("synthesis", exc)
                await asyncio.sleep(_LANE_BACKOFF.delay(failures))
                failures += 1

    async def _lane_step(self, lane: int) -> None:
        engine = self.engine
        assert engine is not None
        batch = max(1, int(getattr(engine, "max_batch", 1)))
        while True:
            self._claiming += 1
            try:
                self._wakeup.clear()
                items = await self._retry(self._db.store.claim_for_synthesis, self._active_queue(), batch,
                                          self.prefer)
            finally:
                self._claiming -= 1
            if not items:
                await self._drained()
                await self._wakeup.wait()
                continue
            self._wakeup.set()  # there may be more: let idle lanes look too
            render = _Render(items)
            self._renders[lane] = render
            self._memory_returned = False
            urgent = any(item.queue is self._active_queue() or item.id == self.prefer for item in items)
            try:
                await self._render_boosted(lane, items, urgent)
                if len(items) == 1:
                    await self._synthesize(items[0], lane, render.cancel, urgent)
                else:
                    await self._synthesize_batch(items, lane)
            finally:
                del self._renders[lane]
                if self._boost_lane == lane:
                    self._boost_lane = None

    async def _synthesize(self, item: StoredMessage, lane: int, cancel: threading.Event | None = None,
                          urgent: bool = False) -> None:
        engine = self.engine
        assert engine is not None
        text = item.spoken_text if item.spoken_text is not None else item.text
        stream: AudioStream | None = None
        rendered = False
        try:
            plan_of = engine.plan if item.lang is None else functools.partial(engine.plan, lang=item.lang)
            plan: list[Chunk] = await self._on_lane(lane, plan_of, text)  # type: ignore[assignment]
            on_chunk = None
            if len(plan) > 1:  # a long line: its first sentence may play while the rest renders
                stream = self.live.open(item.id, len(plan))
                on_chunk = self._stream_sink(item, stream)
            speech: Speech = await self._on_lane(  # type: ignore[assignment]
                lane, functools.partial(engine.speak, voice=item.voice, plan=plan), text, cancel, urgent, on_chunk)
            rendered = True
        except asyncio.CancelledError:
            await self._db.call(self._db.store.release_claims, [item.id])
            raise
        except RenderCancelled:  # preempted: back to pending, the lane takes the urgent line next
            await self._retry(self._db.store.release_claims, [item.id])
            self._wakeup.set()
            return
        except Exception as exc:
            await self._failed(item, exc)
            return
        finally:
            if stream is not None and not rendered:
                self.live.close(item.id, stream, ok=False)  # ended short: its readers end too
        stored = False
        try:
            stored = await self._store(item, speech)
        finally:
            if stream is not None:
                self.live.close(item.id, stream, ok=stored)
                if not stored:  # no WAV (cleared, or the disk refused it): a player may be streaming it
                    self._signals.synthesis_done(item, Status.PENDING)

    def _stream_sink(self, item: StoredMessage, stream: AudioStream) -> Callable[[np.ndarray], None]:
        """``on_chunk`` for a streamed render (runs on the render thread): each chunk's PCM into ``stream``;
        after the first one, ``signals.first_audio`` on the event loop."""
        first = True

        def sink(audio: np.ndarray) -> None:
            nonlocal first
            then = (lambda: self._signals.first_audio(item)) if first else None
            first = False
            stream.append_from_thread(audio, then)

        return sink

    async def _synthesize_batch(self, items: list[StoredMessage], lane: int) -> None:
        """Several rows in shared forward passes; each row still succeeds or fails on its own."""
        engine = self.engine
        assert engine is not None
        texts = [item.spoken_text if item.spoken_text is not None else item.text for item in items]
        try:
            results: list[Speech | Exception] = await self._on_lane(  # type: ignore[assignment]
                lane, _speak_batch, engine, texts, [item.voice for item in items], [item.lang for item in items])
        except asyncio.CancelledError:
            await self._db.call(self._db.store.release_claims, [i.id for i in items])
            raise
        for item, result in zip(items, results, strict=True):
            if isinstance(result, Exception):
                await self._failed(item, result)
            else:
                await self._store(item, result)

    async def _failed(self, item: StoredMessage, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("synthesis of message %d failed: %s", item.id, reason)
        await self._retry(self._db.store.end_synthesis, item.id, Status.ERROR, reason)
        self._signals.synthesis_done(item, Status.ERROR)

    async def _store(self, item: StoredMessage, speech: Speech) -> bool:
        """Write the WAV and mark the row ready (with its word timings), unless it was cleared meanwhile.
        True when the row has its WAV now."""
        engine = self.engine
        assert engine is not None
        audio = speech.audio
        try:
            if audio.size == 0:
                raise ValueError("the text produced no audio")
            path = self.audio_dir / f"{item.id}.wav"
            size: int = await self._in_thread(write_wav_atomic, path, audio)  # type: ignore[assignment]
        except asyncio.CancelledError:
            await self._db.call(self._db.store.release_claims, [item.id])
            raise
        except OSError as exc:  # the environment's fault (full disk, unwritable folder, EMFILE), not the message's
            await self._audio_write_failed(item, exc)
            return False
        except Exception as exc:
            await self._failed(item, exc)
            return False
        if self._audio_failures:
            self._audio_failures = 0
            self._health.ok("audio")
        stored = await self._retry(
            self._db.store.finish_synthesis, item.id, audio_path=str(path), audio_bytes=size,
            duration_s=audio.size / SAMPLE_RATE, voice=item.voice or engine.voice_spec,
            word_timings=speech.captions.to_json())
        if not stored:  # cleared while we were synthesising: it must not come back
            remove_files([str(path)])
            return False
        if item.queue is QueueName.MENTIONS:
            removed: list[RemovedAudio] = await self._retry(
                self._db.store.enforce_audio_cap, QueueName.MENTIONS, self._settings.current.mentions_max_audio_bytes,
                self._signals.playing_id())
            if removed:
                log.info("mentions audio over its cap: dropped %d oldest item(s)", len(removed))
                remove_files([r.audio_path for r in removed])
        self._signals.synthesis_done(item, Status.READY)
        return True

    async def _audio_write_failed(self, item: StoredMessage, exc: OSError) -> None:
        """The WAV could not be written: the row goes back to pending (retried after a backoff), never ``error``."""
        self._health.failing("audio", exc)
        await self._retry(self._db.store.release_claims, [item.id])
        delay = _AUDIO_BACKOFF.delay(self._audio_failures)
        self._audio_failures += 1
        await asyncio.sleep(delay)
        self._wakeup.set()
