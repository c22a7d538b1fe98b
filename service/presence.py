"""Is the streamer's App online? While it is, the Twitch bot stays quiet so nothing is spoken twice."""

from __future__ import annotations

import time
from collections.abc import Callable


class AppPresence:
    """The App is online while one of its WebSockets is open, or it sent HTTP within ``window`` seconds."""

    def __init__(self, window: Callable[[], float], clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._sockets = 0
        self._last_http: float | None = None

    def socket_opened(self) -> None:
        self._sockets += 1

    def socket_closed(self) -> None:
        self._sockets = max(0, self._sockets - 1)

    def http_seen(self) -> None:
        self._last_http = self._clock()

    @property
    def online(self) -> bool:
        if self._sockets:
            return True
        return self._last_http is not None and self._clock() - self._last_http <= self._window()
