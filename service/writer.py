"""Group commit: many concurrent ingests share one transaction, and each is answered only once committed.

Committing per message costs a transaction each; under load, messages that arrive while one commit runs
are written together in the next. Durability is unchanged: no caller is answered before its row is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib

from service.database import AsyncStore
from storage.messages import NewMessage


class GroupCommitWriter:
    def __init__(self, db: AsyncStore, max_batch: int = 512) -> None:
        self._db = db
        self._max_batch = max_batch
        self._pending: list[tuple[NewMessage, asyncio.Future[int]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Write whatever is still pending, then stop."""
        if self._task is None:
            return
        await self.flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, message: NewMessage) -> int:
        """Store one message; returns its id once committed."""
        if self._task is None:
            raise RuntimeError("writer is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        self._wakeup.set()
        return await future

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        futures = [f for _, f in self._pending]
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
                try:
                    ids = await self._db.call(self._db.store.insert_many, [m for m, _ in batch])
                except Exception as exc:  # the callers get the error; the writer keeps running
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), row_id in zip(batch, ids, strict=True):
                    if not future.done():
                        future.set_result(row_id)
