"""Database failures leave as a JSON answer the client can act on, never a bare 500.

- locked/busy (another program holds the write lock): 503 with ``Retry-After`` — retry shortly;
- disk full: 507 — nothing was stored, free space first;
- any other operational failure (I/O error, read-only file): 503.
The classification itself lives in ``storage.errors``; the WebSocket uses ``database_error_reply`` for its
error frames so both transports say the same.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from storage.errors import DbFault, DbFaultKind, classify

log = logging.getLogger(__name__)

#: Seconds a client should wait before retrying a request refused because the database was locked.
RETRY_AFTER_S = 2

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(fault: DbFault) -> tuple[int, str]:
    if fault.kind is DbFaultKind.LOCKED:
        return 503, f"the database is busy ({fault.reason}); nothing was changed, retry shortly"
    if fault.kind is DbFaultKind.FULL:
        return 507, f"the disk is full ({fault.reason}); nothing was stored"
    return 503, f"the database is unavailable ({fault.reason}); nothing was changed"


def database_error_reply(exc: BaseException) -> dict[str, Any] | None:
    """``{"status", "error"}`` for a database failure, None for any other exception."""
    fault = classify(exc)
    if fault is None:
        return None
    status, message = _answer(fault)
    return {"status": status, "error": message}


@web.middleware
async def database_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        fault = classify(exc)
        if fault is None:
            raise
        status, message = _answer(fault)
        log.warning("%s %s: database %s: %s", request.method, request.path, fault.kind.value, fault.reason)
        headers = {"Retry-After": str(RETRY_AFTER_S)} if fault.kind is DbFaultKind.LOCKED else None
        return web.json_response({"error": message}, status=status, headers=headers)
