"""Group commit: many concurrent ingests share one transaction, and each is answered only once committed.

Committing per message costs a transaction each; under load, messages that arrive while one commit runs
are written together in the next. Durability is unchanged: no caller is answered before its row is on disk.

A batch that fails for one row's sake (a value the database refuses) is retried row by row, so one row can
never fail its neighbours. A batch that fails for the database's sake (locked, full) fails every caller at
once (HTTP answers 503/507: the client retries, nothing was acknowledged); the writer keeps running, backs
off before its next batch and shows ``writer: retrying: <reason>`` in ``/api/health`` until a batch commits.
"""

from __future__ import annotations

import asyncio
import contextlib

from service.database import AsyncStore
from service.resilience import Backoff, LoopHealth, is_transient
from storage.errors import classify
from storage.messages import NewMessage

_BACKOFF = Backoff(initial=0.05, cap=1.0)


class GroupCommitWriter:
    def __init__(self, db: AsyncStore, max_batch: int = 512, health: LoopHealth | None = None) -> None:
        self._db = db
        self._health = health or LoopHealth()
        self._health.register("writer")
        self._failures = 0
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
                if self._failures:
                    await asyncio.sleep(_BACKOFF.delay(self._failures - 1))
                try:
                    ids = await self._db.call(self._db.store.insert_many, [m for m, _ in batch])
                except Exception as exc:  # the callers get the error; the writer keeps running
                    if len(batch) > 1 and classify(exc) is None:
                        await self._one_by_one(batch)  # one row's fault: isolate it
                    else:
                        self._fail(batch, exc)
                    continue
                self._committed()
                for (_, future), row_id in zip(batch, ids, strict=True):
                    if not future.done():
                        future.set_result(row_id)

    async def _one_by_one(self, batch: list[tuple[NewMessage, asyncio.Future[int]]]) -> None:
        for message, future in batch:
            try:
                (row_id,) = await self._db.call(self._db.store.insert_many, [message])
            except Exception as exc:
                self._fail([(message, future)], exc)
                continue
            self._committed()
            if not future.done():
                future.set_result(row_id)

    def _fail(self, batch: list[tuple[NewMessage, asyncio.Future[int]]], exc: Exception) -> None:
        if is_transient(exc):
            self._failures += 1
            self._health.failing("writer", exc)
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)

    def _committed(self) -> None:
        self._failures = 0
        self._health.ok("writer")
