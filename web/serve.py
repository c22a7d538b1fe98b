"""How the server listens: the timeouts and the connection cap a slow or hostile client meets.

- A connection must complete its request line and headers within ``IDLE_TIMEOUT`` of opening (or of the
  previous answer): aiohttp's keep-alive timer covers both an idle connection and a half-sent request.
- A request body must arrive whole within ``BODY_TIMEOUT`` (``web.limits.body_in_time``); what is left of a
  refused body is drained at most ``LINGER_TIME``, then the connection closes.
- At most ``MAX_CONNECTIONS`` connections at once (WebSockets included); beyond that a new connection gets
  a 503 JSON answer and is closed at once, so descriptors are never exhausted (1,024 is a common limit).
- One remote address holds at most ``MAX_PER_ADDRESS`` of them (same 503 beyond), so one machine on the LAN
  cannot take the whole cap. Loopback clients are exempt: they are the streamer's own machine (the App, OBS,
  the dashboard), and on a loopback bind every client is one, so a share would only lock them out sooner.
- An answer must be taken in time: a send that makes no progress for ``web.limits.SEND_TIMEOUT`` drops the
  connection (files and growing WAVs alike), so readers that stop reading free their slots.
- A stop (SIGINT/SIGTERM) closes the listener and gives open requests ``SHUTDOWN_TIMEOUT`` to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from web import limits

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 15.0
MAX_CONNECTIONS = 256
#: Connections one non-loopback address may hold at once (a quarter of the cap).
MAX_PER_ADDRESS = 64
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


def _address(transport: asyncio.BaseTransport | None) -> str | None:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def _is_loopback(address: str | None) -> bool:
    try:
        return address is None or ipaddress.ip_address(address.partition("%")[0]).is_loopback
    except ValueError:  # a Unix socket path or something else that is not a remote machine
        return True


class _ShareGate(asyncio.Protocol):
    """Sees the peer's address (a protocol factory cannot), then hands the connection to aiohttp's handler,
    or answers 503 when that address already holds its share."""

    def __init__(self, site: CappedTCPSite) -> None:
        self._site = site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        address = _address(transport)
        protocol: asyncio.BaseProtocol
        if self._site.over_share(address):
            self._site.note_refused(f"per-address share ({self._site.max_per_address}) reached by {address}")
            protocol = _Busy()
        else:
            server = self._site._runner.server
            assert server is not None
            protocol = server()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


class CappedTCPSite(web.TCPSite):
    """A ``TCPSite`` that refuses connections beyond ``max_connections`` (and beyond ``max_per_address`` from
    one non-loopback address) instead of queueing them."""

    def __init__(self, runner: web.BaseRunner, host: str | None, port: int, *,
                 max_connections: int = MAX_CONNECTIONS, max_per_address: int = MAX_PER_ADDRESS,
                 share_loopback: bool = False) -> None:
        super().__init__(runner, host, port)
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        #: Count loopback clients toward a share too (tests, which have no other address to connect from).
        self.share_loopback = share_loopback
        self.refused = 0

    def note_refused(self, why: str) -> None:
        self.refused += 1
        if self.refused == 1 or self.refused % 1000 == 0:
            log.warning("%s: refused %d connection(s) so far", why, self.refused)

    def over_share(self, address: str | None) -> bool:
        if address is None or (not self.share_loopback and _is_loopback(address)):
            return False
        server = self._runner.server
        assert server is not None
        held = sum(1 for handler in server.connections if _address(handler.transport) == address)
        return held >= self.max_per_address

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site; the listener is ours, with a guarded factory
        server = self._runner.server
        assert server is not None

        def protocol() -> asyncio.Protocol:
            if len(server.connections) >= self.max_connections:
                self.note_refused(f"connection limit ({self.max_connections}) reached")
                return _Busy()
            return _ShareGate(self)

        self._server = await asyncio.get_running_loop().create_server(
            protocol, self._host, self._port, backlog=self._backlog, reuse_address=self._reuse_address)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
        self._watchdog = asyncio.create_task(self._drop_stalled_readers())

    async def stop(self) -> None:
        watchdog = getattr(self, "_watchdog", None)
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        await super().stop()

    async def _drop_stalled_readers(self) -> None:
        """Every answer, whatever sends it (a JSON reply's last drain, a page, ``aiohttp``'s own writes): a
        connection whose unsent bytes have not gone down for ``limits.SEND_TIMEOUT`` is dropped. (Handlers that
        stream use ``limits.send_within`` as well; this catches the rest.)"""
        loop = asyncio.get_running_loop()
        #: transport -> (unsent bytes at the last progress, when that was)
        seen: dict[asyncio.BaseTransport, tuple[int, float]] = {}
        while True:
            await asyncio.sleep(min(1.0, limits.SEND_TIMEOUT / 4))
            server = self._runner.server
            if server is None:
                continue
            now, alive = loop.time(), set()
            for handler in list(server.connections):
                transport = handler.transport
                if not isinstance(transport, asyncio.WriteTransport) or transport.is_closing():
                    continue
                unsent = transport.get_write_buffer_size()
                if not unsent:
                    continue
                alive.add(transport)
                last = seen.get(transport)
                if last is None or unsent < last[0]:
                    seen[transport] = (unsent, now)
                elif now - last[1] >= limits.SEND_TIMEOUT:
                    log.info("dropping a client that took nothing for %g s (%d bytes unsent)",
                             limits.SEND_TIMEOUT, unsent)
                    transport.abort()
            for gone in set(seen) - alive:
                del seen[gone]


def make_runner(app: web.Application, *, idle_timeout: float = IDLE_TIMEOUT) -> web.AppRunner:
    """The runner ``streamvoice`` uses (and the hardening tests): production timeouts, no handler cancellation."""
    return web.AppRunner(app, keepalive_timeout=idle_timeout, lingering_time=LINGER_TIME, handle_signals=False,
                         shutdown_timeout=SHUTDOWN_TIMEOUT)


async def start(app: web.Application, host: str, port: int, *, max_connections: int = MAX_CONNECTIONS,
                idle_timeout: float = IDLE_TIMEOUT, max_per_address: int = MAX_PER_ADDRESS,
                share_loopback: bool = False) -> tuple[web.AppRunner, CappedTCPSite]:
    """Start the app (its cleanup contexts) and listen; ``await stop(runner)`` undoes both."""
    runner = make_runner(app, idle_timeout=idle_timeout)
    try:
        await runner.setup()
        site = CappedTCPSite(runner, host or None, port, max_connections=max_connections,
                             max_per_address=max_per_address, share_loopback=share_loopback)
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
