"""How the server listens: the timeouts and the connection cap a slow or hostile client meets.

- A connection must complete its request line and headers within ``IDLE_TIMEOUT`` of opening (or of the
  previous answer): aiohttp's keep-alive timer covers both an idle connection and a half-sent request.
- A request body must arrive whole within ``BODY_TIMEOUT`` (``web.limits.body_in_time``); what is left of a
  refused body is drained at most ``LINGER_TIME``, then the connection closes.
- At most ``MAX_CONNECTIONS`` connections at once (WebSockets included); beyond that a new connection gets
  a 503 JSON answer and is closed at once, so descriptors are never exhausted (1,024 is a common limit).
- A stop (SIGINT/SIGTERM) closes the listener and gives open requests ``SHUTDOWN_TIMEOUT`` to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 15.0
MAX_CONNECTIONS = 256
SHUTDOWN_TIMEOUT = 3.0
#: After an answer sent before the body was read whole (401, 408, 413...), the rest is read and ignored at
#: most this long, then the connection closes.
LINGER_TIME = 2.0
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
         b"Retry-After: 1\r\nContent-Length: 44\r\n\r\n"
         b'{"error": "too many connections, try again"}')


class _Busy(asyncio.Protocol):
    """Answers one connection over the cap with a 503 and closes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()


class CappedTCPSite(web.TCPSite):
    """A ``TCPSite`` that refuses connections beyond ``max_connections`` instead of queueing them."""

    def __init__(self, runner: web.BaseRunner, host: str | None, port: int, *,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        super().__init__(runner, host, port)
        self.max_connections = max_connections
        self.refused = 0

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site; the listener is ours, with a guarded factory
        server = self._runner.server
        assert server is not None

        def protocol() -> asyncio.Protocol:
            if len(server.connections) >= self.max_connections:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    log.warning("connection limit (%d) reached: refused %d connection(s) so far",
                                self.max_connections, self.refused)
                return _Busy()
            return server()

        self._server = await asyncio.get_running_loop().create_server(
            protocol, self._host, self._port, backlog=self._backlog, reuse_address=self._reuse_address)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


def make_runner(app: web.Application, *, idle_timeout: float = IDLE_TIMEOUT) -> web.AppRunner:
    """The runner ``streamvoice`` uses (and the hardening tests): production timeouts, no handler cancellation."""
    return web.AppRunner(app, keepalive_timeout=idle_timeout, lingering_time=LINGER_TIME, handle_signals=False,
                         shutdown_timeout=SHUTDOWN_TIMEOUT)


async def start(app: web.Application, host: str, port: int, *, max_connections: int = MAX_CONNECTIONS,
                idle_timeout: float = IDLE_TIMEOUT) -> tuple[web.AppRunner, CappedTCPSite]:
    """Start the app (its cleanup contexts) and listen; ``await stop(runner)`` undoes both."""
    runner = make_runner(app, idle_timeout=idle_timeout)
    try:
        await runner.setup()
        site = CappedTCPSite(runner, host or None, port, max_connections=max_connections)
        await site.start()
    except BaseException:
        await stop(runner)
        raise
    return runner, site


async def stop(runner: web.AppRunner) -> None:
    if runner.server is not None:
        await runner.cleanup()
    else:  # stopped during start-up (e.g. Ctrl-C while the model loads): close what did start
        await runner.app.cleanup()


async def serve(app: web.Application, host: str, port: int,
                on_started: Callable[[CappedTCPSite], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or cancellation), then shut down cleanly."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt still works
            loop.add_signal_handler(sig, main.cancel)
    try:
        runner, site = await start(app, host, port)
        try:
            if on_started is not None:
                on_started(site)
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(stop(runner))
    except asyncio.CancelledError:
        log.info("stopped")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def run(app: web.Application, host: str, port: int) -> None:
    """``web.run_app`` with our limits."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, host, port))
