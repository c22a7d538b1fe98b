"""Run repository calls on one dedicated thread, so SQLite I/O never blocks the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from storage.messages import MessageStore

P = ParamSpec("P")
T = TypeVar("T")


class AsyncStore:
    """``await db.call(store.method, ...)``: one writer thread matches SQLite's one-writer model."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.engine.dispose()
