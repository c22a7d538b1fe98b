"""Timeouts and the connection cap, against the server as ``streamvoice`` runs it.

Slowloris clients (half-sent headers, a never-ending chunked body) are closed in bounded time; connections
beyond the cap are answered 503 and closed at once; the server keeps serving throughout. The limits are
shortened for the test (same code path, smaller numbers) so it stays fast.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests import dbutil
from tests.helpers import wait_for
from tests.web.production_server import production_server
from web import limits

IDLE = 1.0


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sent until it closed the connection; fails if it is still open after ``seconds``.

    A server closing with unread bytes from us makes the kernel send RST: that counts as closed too."""
    async def collect() -> bytes:
        received = b""
        try:
            while chunk := await reader.read(65536):
                received += chunk
        except ConnectionError:  # reset, or a broken pipe seen by our own writes
            pass
        return received

    return await asyncio.wait_for(collect(), seconds)


async def _health(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/api/health") as response:
        return response.status


async def test_half_sent_requests_are_closed(engine_loader: Any, make_settings: Any) -> None:
    async with production_server(make_settings(), engine_loader, idle_timeout=IDLE) as served:
        clients = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(40)]
        for n, (_, writer) in enumerate(clients):
            writer.write(b"GET /api/queue HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " if n % 2 else b"GE")
        started = time.monotonic()

        async def drip(writer: asyncio.StreamWriter) -> None:  # a byte every 0.2 s keeps a naive timer alive
            for _ in range(100):
                await asyncio.sleep(0.2)
                if writer.is_closing():
                    return
                try:
                    writer.write(b"a")
                    await writer.drain()
                except OSError:
                    return

        drips = [asyncio.create_task(drip(w)) for _, w in clients]
        for reader, _ in clients:  # closed, at most with an error answer (an over-long method is a 400)
            answer = await _closed_within(reader, IDLE + 5)
            assert answer == b"" or answer.startswith((b"HTTP/1.0 4", b"HTTP/1.1 4")), answer[:100]
        took = time.monotonic() - started
        for task in drips:
            task.cancel()
        for _, writer in clients:
            writer.close()
        assert took < IDLE + 5
        assert await _health(served.url) == 200


async def test_never_ending_chunked_body_is_cut_off(engine_loader: Any, make_settings: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "BODY_TIMEOUT", 1.0)
    settings = make_settings()
    async with production_server(settings, engine_loader, idle_timeout=30) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")

        async def chunks() -> None:
            writer.write(b'1\r\n{\r\n')
            for _ in range(200):
                await asyncio.sleep(0.1)
                try:
                    writer.write(b"1\r\n \r\n")
                    await writer.drain()
                except OSError:  # the server hung up on us: what we want
                    return

        feeder = asyncio.create_task(chunks())
        answer = await _closed_within(reader, 6)
        feeder.cancel()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"error"' in answer
        assert dbutil.rows(settings.database_url) == []
        assert await _health(served.url) == 200


async def test_connections_beyond_the_cap_get_503_and_the_server_recovers(engine_loader: Any,
                                                                          make_settings: Any) -> None:
    async with production_server(make_settings(), engine_loader, idle_timeout=30, max_connections=20) as served:
        held = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(20)]
        await asyncio.sleep(0.2)
        refused = []
        for _ in range(30):
            reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
            writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            refused.append(await _closed_within(reader, 5))
            writer.close()
        assert all(r.startswith(b"HTTP/1.1 503") and b"too many connections" in r for r in refused)
        assert served.site.refused == 30
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.3)
        assert await _health(served.url) == 200


async def test_readers_that_stop_reading_pages_or_the_api_document_are_dropped(
        engine_loader: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only /audio: every answer that needs no token (a page, a script, openapi.yaml) is sent under the same
    progress deadline, so pipelined requests that are never read cannot hold the connection cap."""
    from tests.web.test_hardening_audio import _connections, _gets_in_within, _stalled_reader

    monkeypatch.setattr(limits, "SEND_TIMEOUT", 1.0)
    cap = 6
    async with production_server(make_settings(), engine_loader, max_connections=cap) as served:
        await wait_for(lambda: _connections(served) == 0)
        paths = ["/openapi.yaml", "/static/dashboard.js", "/", "/openapi.yaml", "/static/dashboard.css", "/overlay"]
        stalled = [await _stalled_reader(served.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
                                         * 2000) for path in paths]
        try:
            await wait_for(lambda: _connections(served) == cap)
            assert await _health(served.url) == 503
            await _gets_in_within(served.url, 10)
        finally:
            for _, writer in stalled:
                writer.transport.abort()
