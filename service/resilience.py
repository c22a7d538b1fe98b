"""Background loops that outlive transient faults: a backoff policy and a per-loop health registry.

A database another program holds locked, a full disk or an unwritable audio folder are faults of the
environment: they pass. A loop that meets one retries with exponential backoff (capped) instead of dying,
``/api/health`` shows it as ``"retrying: <reason>"`` while it lasts, and the log gets one line when the
episode starts and one when it ends — not one per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from storage.errors import DbFault, classify

log = logging.getLogger(__name__)

T = TypeVar("T")

OK = "ok"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays ``initial * factor**attempt``, capped at ``cap`` seconds."""

    initial: float = 0.1
    factor: float = 2.0
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.initial * self.factor ** min(attempt, 64))


DEFAULT_BACKOFF = Backoff()


def is_transient(exc: BaseException) -> bool:
    """A fault of the environment that may pass: an operational database failure or an OS-level I/O error."""
    return classify(exc) is not None or isinstance(exc, OSError)


def describe(exc: BaseException) -> str:
    fault = classify(exc)
    if fault is not None:
        return fault.reason
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class LoopHealth:
    """The state of every background loop, by name: ``ok`` or ``retrying: <reason>``."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._since: dict[str, float] = {}
        self._db_faults: dict[str, DbFault] = {}

    def register(self, name: str) -> None:
        self._states.setdefault(name, OK)

    def ok(self, name: str) -> None:
        """The loop's last attempt worked; ends an episode (one log line) if one was running."""
        if self._states.get(name, OK) != OK:
            log.info("%s recovered after %.1fs", name, time.monotonic() - self._since.pop(name, time.monotonic()))
        self._states[name] = OK
        self._db_faults.pop(name, None)

    def failing(self, name: str, exc: BaseException) -> None:
        """An attempt failed and will be retried; logs only when the loop was fine until now."""
        reason = describe(exc)
        if self._states.get(name, OK) == OK:
            self._since[name] = time.monotonic()
            log.warning("%s: %s; retrying with backoff", name, reason)
        self._states[name] = f"retrying: {reason}"
        fault = classify(exc)
        if fault is not None:
            self._db_faults[name] = fault
        else:
            self._db_faults.pop(name, None)

    def state(self, name: str) -> str:
        return self._states.get(name, OK)

    def db_fault(self) -> DbFault | None:
        """The database fault a loop is retrying right now (a full disk shows here: reads still work)."""
        return next(iter(self._db_faults.values()), None)

    def snapshot(self) -> dict[str, str]:
        return dict(sorted(self._states.items()))

    @property
    def degraded(self) -> bool:
        return any(state != OK for state in self._states.values())


async def retry_transient(name: str, health: LoopHealth, attempt: Callable[[], Awaitable[T]],
                          backoff: Backoff = DEFAULT_BACKOFF) -> T:
    """Await ``attempt()`` until it succeeds; transient faults are retried with backoff, others raise.

    Only safe for idempotent attempts (every repository call is one transaction: a failed one rolled back).
    """
    failures = 0
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not is_transient(exc):
                raise
            health.failing(name, exc)
            await asyncio.sleep(backoff.delay(failures))
            failures += 1
            continue
        health.ok(name)
        return result
