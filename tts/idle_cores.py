"""How many cores the rest of the PC leaves idle: a render at ``cpu_priority: low`` uses those, and one when
there are none.

A game keeps every core busy, and a render's OpenMP team meets at a barrier after each of kokoro's many small
operations, each barrier waiting for the game to let the slowest thread run: then one thread renders faster
than two and leaves the game its cores. On an idle PC the same one thread would make every line wait ~1.6x
longer than it must. So the count follows the PC: the CPU time every process but this one used since the
previous look, per second, is what is busy; the rest of the cores are idle.

Reads the system's CPU counters through psutil (Linux, Windows, macOS alike); pure arithmetic otherwise.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import psutil

#: A look sooner than this after the previous one repeats its answer (too short a window to measure).
MIN_WINDOW_S = 0.1


def system_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores together): user, system, nice, irq..."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class IdleCores:
    """``idle()``: the cores left idle by every other process since the previous call (a float, 0..cores)."""

    def __init__(self, cores: int | None = None, *, clock: Callable[[], float] = time.monotonic,
                 system_busy: Callable[[], float] = system_busy_seconds,
                 own_busy: Callable[[], float] = time.process_time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cores = cores or os.cpu_count() or 1
        self._clock, self._system, self._own, self._sleep = clock, system_busy, own_busy, sleep
        self._lock = threading.Lock()
        self._last: tuple[float, float, float] | None = None
        self._answer = float(self.cores)

    def _sample(self) -> tuple[float, float, float]:
        return self._clock(), self._system(), self._own()

    def idle(self) -> float:
        with self._lock:
            first = self._last is None
            if self._last is None:  # the first look (also narrows the type): a short window of its own
                self._last = self._sample()
                self._sleep(MIN_WINDOW_S)
            now = self._sample()
            elapsed = now[0] - self._last[0]
            if elapsed <= 0 or (elapsed < MIN_WINDOW_S and not first):
                return self._answer
            others = max(0.0, (now[1] - self._last[1]) - (now[2] - self._last[2])) / elapsed
            self._last = now
            self._answer = min(float(self.cores), max(0.0, self.cores - others))
            return self._answer

    def threads(self, limit: int) -> int:
        """Intra-op threads for a render: the idle cores (rounded), at least one, at most ``limit``."""
        return max(1, min(limit, int(self.idle() + 0.5)))
