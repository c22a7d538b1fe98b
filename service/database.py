"""Run repository calls on one dedicated thread, so SQLite I/O never blocks the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from storage.errors import DbFault, classify
from storage.messages import MessageStore

P = ParamSpec("P")
T = TypeVar("T")

#: Repository calls that only read (their success says nothing about whether writes work again).
_READS = frozenset({"get", "waiting", "counts", "next_to_play", "live_audio_paths",
                    "next_playable", "oldest_held", "by_external_id"})  # the last three: moderation


class AsyncStore:
    """``await db.call(store.method, ...)``: one writer thread matches SQLite's one-writer model."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        #: The last operational failure (disk full, I/O error...), until a call that writes succeeds again.
        self.fault: DbFault | None = None

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))
        except Exception as exc:
            self.fault = classify(exc) or self.fault
            raise
        if self.fault is not None and getattr(fn, "__name__", "") not in _READS:
            self.fault = None  # reads work on a full disk: only a successful write clears a fault
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.engine.dispose()
