"""settings.yaml, live: the file is watched and a valid edit takes effect without a restart.

An edit that fails validation (or that a listener refuses, e.g. a voice whose pack cannot be loaded) is
rejected with one log line naming the key; the previous settings stay in force and ``status`` says so,
which ``/api/health`` shows. Keys that only matter at startup (host, port, database_url, audio_dir,
model_dir, device, lang_code, twitch) are read once; changing them logs that a restart is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)

Listener = Callable[[Settings, Settings], Awaitable[None]]
RESTART_KEYS = ("host", "port", "database_url", "audio_dir", "model_dir", "device", "lang_code", "twitch")


class LiveSettings:
    def __init__(self, current: Settings, path: Path | None = None) -> None:
        self.current = current
        self.path = path
        self.status: dict[str, object] = {"file": str(path) if path else None, "rejected": None}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def reload(self) -> bool:
        """Re-read the file; True when the new settings are now in force."""
        try:
            new = load_settings(self.path)
        except SettingsError as exc:
            return self._reject(exc.key, exc.problem)
        except Exception as exc:  # YAML syntax errors and the like
            return self._reject("settings", f"{type(exc).__name__}: {exc}")
        if new == self.current:
            return True
        old = self.current
        try:
            for listener in list(self._listeners):
                await listener(old, new)
        except Exception as exc:
            key = "voice" if (old.voice, old.voices) != (new.voice, new.voices) else "settings"
            for listener in list(self._listeners):  # put the old state back where it was applied
                try:
                    await listener(new, old)
                except Exception:
                    log.exception("could not restore the previous settings")
            return self._reject(key, f"{type(exc).__name__}: {exc}")
        self.current = new
        self.status["rejected"] = None
        changed = [k for k in RESTART_KEYS if getattr(old, k) != getattr(new, k)]
        if changed:
            log.warning("settings reloaded; %s take effect after a restart", ", ".join(changed))
        else:
            log.info("settings reloaded from %s", self.path)
        return True

    def _reject(self, key: str, problem: str) -> bool:
        log.error("settings edit rejected: %r: %s (previous settings stay in force)", key, problem)
        self.status["rejected"] = {"key": key, "problem": problem}
        return False

    def start(self) -> None:
        if self.path is not None:
            self._task = asyncio.create_task(self._watch(self.path), name="settings-watch")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self, path: Path) -> None:
        from watchfiles import awatch

        logging.getLogger("watchfiles.main").setLevel(logging.WARNING)  # it logs every change at INFO
        # Watch the folder, not the file: many editors save by writing a temp file and renaming it over.
        # Only direct children named like the settings file count (the data folder may live beside it).
        async for _ in awatch(path.parent, stop_event=self._stop, debounce=200, step=50, recursive=False,
                              watch_filter=lambda _change, changed: Path(changed).name == path.name):
            await self.reload()
