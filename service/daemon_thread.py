"""Run one blocking call on a daemon thread and await it: for work a shutdown must not wait for.

The model load (a download on a first start, 20-30 s from disk on a slow machine) cannot be interrupted.
On a ``ThreadPoolExecutor`` it would hold Ctrl-C: ``executor.shutdown`` and the interpreter's exit both join
its threads. A daemon thread is not joined: a stop cancels the await at once, the process exits, and the
abandoned load goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def run_in_daemon_thread(fn: Callable[..., T], *args: object, name: str = "daemon-call") -> T:
    """``await`` ``fn(*args)`` run on a new daemon thread; cancelling the await abandons the call."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting task, as an executor would
            error: BaseException | None = exc
            result = None
        else:
            error = None
        _threads.discard(threading.current_thread())
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits for this any more
            loop.call_soon_threadsafe(settle, result, error)

    thread = threading.Thread(target=work, name=name, daemon=True)
    _threads.add(thread)
    thread.start()
    return await future


_threads: set[threading.Thread] = set()


def exit_now_if_abandoned(code: int) -> None:
    """End the process at once (``os._exit``) while an abandoned call still runs; else return.

    The interpreter's exit would stop that daemon thread wherever it is; inside native code (torch loading
    a model) that aborts the process ("terminate called without an active exception", SIGABRT) after a
    clean stop. Everything that matters is closed by now: the database, the WAV files, the log.
    """
    if not any(thread.is_alive() for thread in _threads):
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
