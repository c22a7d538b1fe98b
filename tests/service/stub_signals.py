"""A ``QueueSignals`` for a synthesis worker tested alone: the mentions queue is active, nothing plays, and each
finished render is recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.chat import QueueName, Status
from core.settings import Settings
from service.events import Event
from service.live_settings import LiveSettings
from storage.messages import StoredMessage


class RecordingSignals:
    def __init__(self) -> None:
        #: ``(message id, status)`` of every ``synthesis_done``, in order.
        self.changes: list[Any] = []

    def publish(self, event: Event) -> None: ...
    def state_changed(self) -> None: ...
    def wake(self, queue: QueueName | None = None) -> None: ...
    def prefer(self, message_id: int | None) -> None: ...
    def cancel_synthesis(self, message_id: int) -> None: ...
    def items_changed(self) -> None: ...
    def first_audio(self, item: StoredMessage) -> None: ...

    def synthesis_done(self, item: StoredMessage, status: Status) -> None:
        self.changes.append((item.id, status))

    def active_queue(self) -> QueueName:
        return QueueName.MENTIONS

    def playing_id(self) -> int | None:
        return None


def worker_settings(tmp_path: Path) -> LiveSettings:
    """Settings for a worker whose engine is scripted: WAVs under ``tmp_path/audio``, no mentions audio cap."""
    return LiveSettings(Settings(username="streamer", model_dir=str(tmp_path), audio_dir=str(tmp_path / "audio"),
                                 mentions_max_audio_mb=1000.0))
