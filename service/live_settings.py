"""settings.yaml, live: the file is watched and a valid edit takes effect without a restart.

An edit that fails validation (or that a listener refuses, e.g. a voice whose pack cannot be loaded) is
rejected with one log line naming the key; the previous settings stay in force and ``status`` says so,
which ``/api/health`` shows. Keys that only matter at startup (host, port, database_url, audio_dir,
model_dir, device, lang_code, twitch) keep their running values in ``current`` until a restart; an edit to
them is logged and listed in ``status["restart_pending"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.settings import Settings, SettingsError
from service.resilience import Backoff, LoopHealth
from service.settings_file import load_settings

log = logging.getLogger(__name__)

Listener = Callable[[Settings, Settings], Awaitable[None]]
_WATCH_BACKOFF = Backoff(initial=0.5, cap=30.0)
RESTART_KEYS = ("host", "port", "database_url", "audio_dir", "model_dir", "device", "precision", "fused_vocoder",
                "lang_code", "twitch", "cpu_priority", "cpu_threads")


class LiveSettings:
    def __init__(self, current: Settings, path: Path | None = None) -> None:
        self.current = current
        self.path = path
        self.status: dict[str, object] = {"file": str(path) if path else None, "rejected": None,
                                          "restart_pending": None}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        #: The watcher's state (``settings``: ok / retrying), merged into ``/api/health``'s loops.
        self.health = LoopHealth()
        if path is not None:
            self.health.register("settings")

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
        new = self._keep_restart_keys(new)
        if new == self.current:
            return True
        old = self.current
        try:
            for listener in list(self._listeners):
                await listener(old, new)
        except Exception as exc:
            key = "voice" if (old.voice, old.voices) != (new.voice, new.voices) else "settings"
            problem = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, SettingsError):  # a listener that knows which key it refused (user_voices.<login>)
                key, problem = exc.key, exc.problem
            for listener in list(self._listeners):  # put the old state back where it was applied
                try:
                    await listener(new, old)
                except Exception:
                    log.exception("could not restore the previous settings")
            return self._reject(key, problem)
        self.current = new
        self.status["rejected"] = None
        log.info("settings reloaded from %s", self.path)
        return True

    def _keep_restart_keys(self, loaded: Settings) -> Settings:
        """``loaded`` with every restart-only key at its running value; notes (and logs) what waits for a restart.

        Code that re-reads ``current`` later (the engine's load retry reads ``model_dir``) must keep seeing
        what the server started with, not a half-applied edit.
        """
        running = {key: getattr(self.current, key) for key in RESTART_KEYS}
        pending = [key for key, value in running.items() if getattr(loaded, key) != value]
        if pending != (self.status.get("restart_pending") or []):
            if pending:
                log.warning("settings.yaml changes %s: kept at the running values until a restart",
                            ", ".join(pending))
            else:
                log.info("settings.yaml matches the running restart-only settings again")
        self.status["restart_pending"] = pending or None
        return dataclasses.replace(loaded, **running)

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
        """Watch for good: when the watch itself fails (the folder vanished, no inotify handles left), retry
        with backoff, re-read the file once the watch is back (an edit may have been missed), say so in health."""
        failures = 0
        while not self._stop.is_set():
            try:
                if failures:
                    await self.reload()
                await self._watch_once(path)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failing("settings", exc)
                await asyncio.sleep(_WATCH_BACKOFF.delay(failures))
                failures += 1

    async def _watch_once(self, path: Path) -> None:
        from watchfiles import awatch

        logging.getLogger("watchfiles.main").setLevel(logging.WARNING)  # it logs every change at INFO
        # Watch the folder, not the file: many editors save by writing a temp file and renaming it over.
        # Only direct children named like the settings file count (the data folder may live beside it).
        # An empty set every second says the watch is alive; a folder that vanished would silently end it.
        async for changes in awatch(path.parent, stop_event=self._stop, debounce=200, step=50, recursive=False,
                                    yield_on_timeout=True, rust_timeout=1000,
                                    watch_filter=lambda _change, changed: Path(changed).name == path.name):
            if not path.parent.is_dir():
                raise FileNotFoundError(f"the settings folder {path.parent} is gone")
            self.health.ok("settings")
            if changes:
                await self.reload()
