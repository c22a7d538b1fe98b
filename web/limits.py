"""Deadlines on a slow client's bytes, both ways: a body must arrive in time, an answer must be taken in time.

In: aiohttp waits for a body as long as the client keeps the connection open: one never-ending chunked body
holds a connection (and a descriptor) for ever. Reading it here, under a deadline, bounds that; the bytes
are cached on the request, so ``request.read()``/``json()`` in the handler return them at once.

Out: a client that stops reading (a full receive window, never drained) would hold its connection for as long
as it likes while the handler waits to send; a few hundred of them take the whole connection cap, and then
the App and OBS get "too many connections". ``send_within`` and ``ProgressFileResponse`` give every write
``SEND_TIMEOUT`` to make progress (the WebSocket's own sends have the same rule), then drop the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import IO, Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from web.errors import error_response

log = logging.getLogger(__name__)

#: Seconds for a whole body (at most 64 KiB) to arrive.
BODY_TIMEOUT = 10.0
#: A send that makes no progress for this long means the client stopped reading: its connection is dropped.
SEND_TIMEOUT = 30.0
#: Bytes per write when sending a file: each one must leave within ``SEND_TIMEOUT``.
FILE_CHUNK = 256 * 1024


class ClientStalled(ConnectionResetError):
    """The client took none of our bytes for ``SEND_TIMEOUT`` seconds; its connection was dropped."""


async def send_within(request: web.BaseRequest, sending: Awaitable[Any]) -> None:
    """Await one write (``response.write``, a drain) for at most ``SEND_TIMEOUT``; else drop the connection.

    A write only waits while the transport holds more than its high-water mark, so each one that completes is
    progress: the timer covers "nothing taken", never "a slow but steady reader"."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT):  # not wait_for, which can lose a stop (web/ws.py ``_send``)
            await sending
    except TimeoutError:
        log.info("dropping a client that took nothing for %g s (%s %s)", SEND_TIMEOUT, request.method,
                 request.path)
        if request.transport is not None:
            request.transport.abort()
        raise ClientStalled("client stopped reading") from None


class ProgressFileResponse(web.FileResponse):
    """``web.FileResponse`` (ranges, ETag, HEAD...) whose body leaves in chunks under ``send_within``.

    aiohttp's ``sendfile`` path waits for a stalled reader for ever, and nothing outside it can see whether it
    progresses; chunked writes can. The files are WAVs of a few MB at most, so the copy costs nothing visible.
    Overrides ``FileResponse._sendfile`` (aiohttp 3.x); ``tests/web/test_hardening_audio.py`` holds it to that.
    """

    async def _sendfile(self, request: web.BaseRequest, fobj: IO[Any], offset: int,
                        count: int) -> AbstractStreamWriter:
        writer = await web.StreamResponse.prepare(self, request)
        assert writer is not None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, fobj.seek, offset)
        while count > 0:
            chunk = await loop.run_in_executor(None, fobj.read, min(FILE_CHUNK, count))
            if not chunk:
                break
            await send_within(request, writer.write(chunk))
            count -= len(chunk)
        await send_within(request, writer.drain())
        return writer


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.body_exists and request.method not in {"GET", "HEAD", "OPTIONS"}:
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                await request.read()  # 413 above client_max_size
        except TimeoutError:
            response = error_response(request, 408, f"the body did not arrive within {BODY_TIMEOUT:g} s")
            response.force_close()
            return response
    return await handler(request)
