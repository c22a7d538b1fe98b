"""StreamVoice: the one object the web handlers and the Twitch bot talk to.

It owns the database thread, the group-commit writer, the synthesis worker, playback and the event hub,
and applies the pure queue rules from ``core`` to every chat line, whichever way it arrived.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.chat import WAITING_STATUSES, IncomingChat, Origin, QueueName, Source, Status
from core.errors import Conflict
from core.language_rules import language_voice_specs, voice_for_language
from core.moderation import hold_view
from core.notifications import UNKNOWN_TYPE, Notice, decide_notice
from core.queue_rules import ChatMemory, decide
from core.settings import Settings
from core.viewer_voice import changed_voice_specs, resolve_voice
from core.voice_command import VoiceCommand, VoiceCommandMemory, voice_command
from service.database import AsyncStore
from service.events import Event, EventHub, queued_event
from service.languages import ViewerLanguages, scorer_for
from service.live_audio import LiveAudio
from service.live_settings import LiveSettings
from service.moderation import Moderator
from service.playback import PlaybackController
from service.presence import AppPresence
from service.redemptions import ChannelPointsService
from service.resilience import LoopHealth
from service.signals import ServiceSignals
from service.synthesis import SynthesisWorker, engine_config, remove_files
from service.viewer_choices import ViewerChoices
from service.views import item_fields, queue_sizes
from service.writer import GroupCommitWriter
from storage.database import create_database
from storage.errors import classify
from storage.messages import MessageStore, NewMessage, StoredMessage, utcnow
from storage.viewer_voices import ViewerVoiceStore
from storage.write_probe import probe_write_lock
from tts.engine import EngineConfig, KokoroEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """What happened to one chat line: stored with ``id`` (queued or skipped), or not stored."""

    queued: bool
    id: int | None = None
    queue: QueueName | None = None
    status: Status | None = None
    reason: str | None = None
    #: Why it is in a queue (shown as ``source``); ``None`` when not stored.
    origin: Origin | None = None


class QueueMismatch(Conflict, RuntimeError):
    """Clear named a queue that is not the active one; nothing was cleared."""


class StreamVoice:
    def __init__(self, settings: LiveSettings,
                 engine_loader: Callable[[EngineConfig], KokoroEngine] = KokoroEngine.load) -> None:
        self.settings = settings
        current = settings.current
        self.audio_dir = Path(current.audio_dir).resolve()
        self.db = AsyncStore(MessageStore(create_database(current.database_url)))
        self._database_url = current.database_url
        #: Every background loop's state (``ok`` / ``retrying: ...``), shown by ``/api/health``.
        self.loops = LoopHealth()
        self.writer = GroupCommitWriter(self.db, health=self.loops)
        self.events = EventHub(self.snapshot, health=self.loops)
        #: The events between ingest, synthesis and playback (``service.signals``); connected below.
        self.signals = ServiceSignals(self.events, self.loops)
        self.presence = AppPresence(settings)
        self.memory = ChatMemory()
        #: Viewers' ``!voice`` choices (``service.viewer_choices``).
        self.voices = ViewerChoices(self.db, ViewerVoiceStore(self.db.store.engine), "!voice", "voice",
                                    "the default voice")
        self.voice_commands = VoiceCommandMemory()
        #: Viewers' ``!lang`` choices (``service.languages``).
        self.languages = ViewerLanguages(self.db)
        #: Reported by the Twitch bot when it runs (``set_twitch_state``): "connected", "reconnecting", "error: ...".
        self.twitch_state = "disabled"
        #: Long lines' audio while they render: playback starts them from their first sentence.
        self.live_audio = LiveAudio()
        self.playback = PlaybackController(self.db, settings, self.signals, self.describe, health=self.loops,
                                           live=self.live_audio)
        self.worker = SynthesisWorker(self.db, settings, self.signals, engine_loader=engine_loader,
                                      health=self.loops, live=self.live_audio)
        self.signals.connect(self.playback, self.worker)
        self.moderation = Moderator(self.db, self.writer, self.playback, self.signals)
        #: Channel-point redemptions: items in, refunds out (service/redemptions.py).
        self.channel_points = ChannelPointsService(self)

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        await self.recover()
        await self.voices.load()
        await self.languages.start(self.settings.current)
        active, autoplay = await self.db.call(self.db.store.load_state)
        self.playback.active_queue, self.playback.autoplay = active, autoplay
        self.writer.start()
        self.events.start()
        self.worker.start()
        self.channel_points.start()
        self.settings.subscribe(self._settings_changed)

    async def close(self) -> None:
        self.settings.unsubscribe(self._settings_changed)
        await self.channel_points.stop()
        await self.worker.stop()
        await self.writer.stop()
        await self.events.stop()
        self.db.close()

    async def recover(self) -> None:
        """Repair what a crash left mid-flight, then delete WAVs no live row points to."""
        report = await self.db.call(self.db.store.recover, os.path.isfile)
        live = await self.db.call(self.db.store.live_audio_paths)
        orphans = [str(p) for p in self.audio_dir.glob("*.wav") if str(p) not in live]
        orphans += [str(p) for p in self.audio_dir.glob(".*.part")]
        remove_files(orphans)
        log.info("startup recovery: %d synthesizing->pending, %d ready without WAV->pending, "
                 "%d playing->ready, %d orphan file(s) deleted", report.synthesizing_to_pending,
                 report.missing_wav_to_pending, report.playing_to_ready, len(orphans))

    def engine_config(self, settings: Settings | None = None) -> EngineConfig:
        return engine_config(settings or self.settings.current)

    # --- ingest -------------------------------------------------------------------------------------
    async def accept(self, chat: IncomingChat) -> AcceptResult:
        """Apply the queue rules and, when stored, return only after the row is committed."""
        command = voice_command(chat, self.settings.current, self.voice_commands, time.monotonic())
        if command is not None:  # before the queue rules: ``ignored_prefixes`` would drop it
            return await self._voice_command(command)
        command = self.languages.command(chat, self.settings.current, time.monotonic())
        if command is not None:
            await self.languages.apply(command)
            return AcceptResult(queued=False, reason=command.reason)
        decision = decide(chat, self.settings.current, self.memory, time.monotonic(),
                          viewer_lang=self.languages.choice(chat.sent_by), scorer=scorer_for(self.settings.current))
        if not decision.stored:
            return AcceptResult(queued=False, reason=decision.reason)
        assert decision.queue is not None
        origin = chat.origin or decision.origin or Origin.default_for(chat.bits_amount)
        message = NewMessage(
            queue=decision.queue, source=chat.source, sent_by=chat.sent_by, text=chat.text,
            spoken_text=decision.spoken_text, bits_amount=chat.bits_amount, external_id=chat.external_id,
            status=decision.status, reason=decision.reason,
            origin=origin,
            voice=voice_for_language(chat.sent_by, self.settings.current, decision.lang,
                                     self.voices.get(chat.sent_by)),
            lang=decision.lang,
            awaiting_approval=(decision.will_speak and decision.queue is QueueName.BITS
                               and self.settings.current.bits_need_approval))
        row_id = await self.writer.submit(message)
        if decision.will_speak:
            self.worker.wake(decision.queue)
            self.playback.items_changed()
            self.events.state_changed()
            self.events.publish(queued_event(row_id, message))
        return AcceptResult(queued=decision.will_speak, id=row_id, queue=decision.queue,
                            status=decision.status, reason=decision.reason, origin=origin)

    async def accept_notice(self, notice: Notice) -> AcceptResult:
        """A Twitch chat notification (sub, resub, gift, raid...): read by its template, or not stored.

        Read whether the App is online or not (the App never sends notices). Like a cheer, a notice joining
        the bits queue waits for a moderator's approval while ``bits_need_approval`` is on.
        """
        settings = self.settings.current
        decided = decide_notice(notice, settings, self.memory, time.monotonic())
        decision = decided.decision
        if not decision.stored:
            if decision.reason == UNKNOWN_TYPE:
                log.info("Twitch chat notification of unknown type %r ignored", notice.notice_type)
            else:
                log.debug("Twitch chat notification %s (%s) not read: %s", notice.message_id, notice.notice_type,
                          decision.reason)
            return AcceptResult(queued=False, reason=decision.reason)
        assert decision.queue is not None
        sent_by = notice.sent_by or notice.user_login
        row_id = await self.writer.submit(NewMessage(
            queue=decision.queue, source=Source.TWITCH, sent_by=sent_by, text=decided.text,
            spoken_text=decision.spoken_text, external_id=notice.message_id or None, status=decision.status,
            reason=decision.reason, origin=Origin.NOTIFICATION,
            voice=resolve_voice(sent_by, settings, self.voices.get(sent_by)),
            awaiting_approval=(decision.will_speak and decision.queue is QueueName.BITS
                               and settings.bits_need_approval)))
        log.info("Twitch %s notice from %s -> %s queue (%s)", notice.notice_type, sent_by, decision.queue.value,
                 "queued" if decision.will_speak else decision.reason)
        if decision.will_speak:
            self.worker.wake(decision.queue)
            self.playback.items_changed()
            self.events.state_changed()
        return AcceptResult(queued=decision.will_speak, id=row_id, queue=decision.queue, status=decision.status,
                            reason=decision.reason, origin=Origin.NOTIFICATION)

    async def _voice_command(self, command: VoiceCommand) -> AcceptResult:
        """``!voice <name>`` / ``!voice``: store or forget the viewer's choice; never spoken, never answered."""
        await self.voices.apply(command)
        return AcceptResult(queued=False, reason=command.reason)

    # --- controls -----------------------------------------------------------------------------------
    async def clear(self, expected: QueueName | None = None) -> int:
        """Soft-delete the active queue's waiting items (and the one playing); returns how many.

        ``expected``: the queue the streamer confirmed clearing; when the active queue is another one (a mode
        switch while the dialog was open) nothing is cleared and ``QueueMismatch`` says why (HTTP 409). The item
        playing is stopped like SKIP stops it: an autoplay run goes on with whatever arrives next."""
        queue = self.playback.active_queue
        if expected is not None and expected is not queue:
            raise QueueMismatch(f"the active queue is {queue.value}, not {expected.value}: nothing was cleared")
        await self.writer.flush()

        async def work(_: StoredMessage | None) -> int:
            removed = await self.db.call(self.db.store.clear, queue)
            remove_files([r.audio_path for r in removed])
            return len(removed)

        count, _ = await self.playback.moderate(lambda item: item.queue is queue, work)
        log.info("cleared %d item(s) from the %s queue", count, queue.value)
        return count

    async def switch_queue(self, queue: QueueName) -> None:
        if queue is self.playback.active_queue:
            return
        await self.playback.interrupt(Status.READY)
        await self.writer.flush()  # nothing accepted for the outgoing queue stays only in memory
        await self.playback.set_active_queue(queue)
        self.worker.wake()

    # --- views --------------------------------------------------------------------------------------
    def describe(self, item: StoredMessage) -> Event:
        ready = item.status in {Status.READY, Status.PLAYING} and item.audio_path is not None
        return {**item_fields(item), "audio_url": f"/audio/{item.id}.wav" if ready else None, "voice": item.voice,
                "lang": item.lang or self.settings.current.lang_code, **self._hold_fields(item)}

    def _hold_fields(self, item: StoredMessage) -> Event:
        """Moderation fields of a queue item: held (with the time left), awaiting approval, Twitch message id."""
        hold_seconds = 0.0 if item.replay_of is not None else self.settings.current.hold_seconds  # replays: never
        hold = hold_view(item.queue, item.received_at, item.awaiting_approval, utcnow(), hold_seconds)
        waiting = item.status in WAITING_STATUSES and not item.is_deleted
        return {
            "held": waiting and hold.held, "awaiting_approval": waiting and hold.awaiting_approval,
            "held_seconds_left": hold.seconds_left if waiting else 0.0,
            "playable_at": hold.playable_at.isoformat(timespec="milliseconds") + "Z",
            "message_id": item.external_id,
        }

    async def queue_view(self, limit: int = 200) -> dict[str, Any]:
        queue = self.playback.active_queue
        items = await self.db.call(self.db.store.waiting, queue, limit)
        counts = await self.db.call(self.db.store.counts)
        return {"mode": queue.value, **queue_sizes(counts, queue), "items": [self.describe(i) for i in items]}

    @property
    def ingest_source(self) -> str:
        """Who feeds chat right now: ``app``, the Twitch bot (``twitch``) while the App is away, or ``none``."""
        if self.presence.online:
            return "app"
        return "twitch" if self.twitch_state == "connected" else "none"

    async def snapshot(self) -> Event:
        counts = await self.db.call(self.db.store.counts)
        queue = self.playback.active_queue
        current = self.playback.current
        return {
            "type": "state", "mode": queue.value, "autoplay": self.playback.autoplay,
            "autoplay_running": self.playback.autoplay_running,
            "autoplay_cooldown": self.settings.current.autoplay_cooldown, **queue_sizes(counts, queue),
            "now_playing": self.describe(current.item) if current else None,
            "waiting_for_audio": bool(current and current.waiting_for_audio),
            "engine": self.worker.state, "ingest_source": self.ingest_source, "twitch": self.twitch_state,
        }

    async def health(self) -> dict[str, Any]:
        """What works right now. Off the database thread: it answers at once even while that thread waits."""
        try:
            counts = await asyncio.to_thread(self.db.store.counts)
            fault = await asyncio.to_thread(probe_write_lock, self._database_url) or self.loops.db_fault()
            db = fault.describe() if fault else "ok"
        except Exception as exc:  # the health endpoint reports, never raises
            counts = {}
            read_fault = classify(exc)
            db = read_fault.describe() if read_fault else f"error: {type(exc).__name__}: {exc}"
            log.error("health check: database error: %s", exc)
        loops = {**self.loops.snapshot(), **self.settings.health.snapshot()}
        degraded = (db != "ok" or any(state != "ok" for state in loops.values())
                    or self.worker.state.startswith("unavailable"))
        return {
            "status": "degraded" if degraded else "ok", "loops": loops,
            "db": db, "engine": self.worker.state, "queues": counts,
            "mode": self.playback.active_queue.value, "ingest_source": self.ingest_source,
            "twitch": self.twitch_state, "settings": self.settings.status,
            "channel_points": self.channel_points.state,
        }

    # --- reports from the Twitch bot ---------------------------------------------------------------
    def set_twitch_state(self, state: str) -> None:
        """The bot's connection state ("connected", "reconnecting", "error: ..."), shown in state and health."""
        if state != self.twitch_state:
            self.twitch_state = state
            self.signals.state_changed()

    async def _settings_changed(self, old: Settings, new: Settings) -> None:
        """Apply a live edit of settings.yaml: voice/speed go to the engine, the rest is read per use."""
        if (old.voice, dict(old.voices), old.speed) != (new.voice, dict(new.voices), new.speed):
            await self.worker.apply_voice(self.engine_config(new))
        await self.worker.check_voices(changed_voice_specs(old, new) + language_voice_specs(old, new))
        self.events.state_changed()
