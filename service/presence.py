"""Is the streamer's App online? While it is, the Twitch bot stays quiet so nothing is spoken twice."""

from __future__ import annotations

import time
from collections.abc import Callable

from service.live_settings import LiveSettings


class AppPresence:
    """The App is online while one of its WebSockets is open, or it sent HTTP within
    ``twitch.app_online_window`` seconds (read per use)."""

    def __init__(self, settings: LiveSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
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
        window = self._settings.current.twitch.app_online_window
        return self._last_http is not None and self._clock() - self._last_http <= window
