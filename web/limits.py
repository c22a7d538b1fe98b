"""A request body must arrive whole, and in time, before any handler sees the request.

aiohttp waits for a body as long as the client keeps the connection open: one never-ending chunked body
holds a connection (and a descriptor) for ever. Reading it here, under a deadline, bounds that; the bytes
are cached on the request, so ``request.read()``/``json()`` in the handler return them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

#: Seconds for a whole body (at most 64 KiB) to arrive.
BODY_TIMEOUT = 10.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.body_exists and request.method not in {"GET", "HEAD", "OPTIONS"}:
        try:
            await asyncio.wait_for(request.read(), BODY_TIMEOUT)  # 413 above client_max_size
        except TimeoutError:
            response = web.json_response({"error": f"the body did not arrive within {BODY_TIMEOUT:g} s"},
                                         status=408)
            response.force_close()
            return response
    return await handler(request)
