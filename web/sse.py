"""``GET /api/events``: the player events as Server-Sent Events, for tools that cannot speak WebSocket (lower a
game's volume while a line plays, move a VTube Studio mouth, show an alert). Read-only; the token when one is set.

Each event is ``event: <type>`` and ``data: <the same JSON object as the WebSocket frame>`` (docs/websocket.md):
``queued``, ``play`` (with the word timings), ``ended`` and ``stop``. A comment line every ``PING_S`` keeps
proxies and idle timers from closing the stream. A client that stops reading is dropped: the hub's backlog per
subscriber is bounded (``EventHub``), and a write that cannot complete within ``SEND_TIMEOUT`` closes the
connection. A server stop ends every stream at once (the hub ends each subscription).
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from web.keys import STREAMVOICE

log = logging.getLogger(__name__)

#: The event types sent (the WebSocket's ``state`` snapshots are not: they are for the App and the dashboard).
EVENT_TYPES = frozenset({"queued", "play", "ended", "stop"})
PING_S = 15.0
#: Seconds a write may wait for the client to take bytes before the connection is dropped.
SEND_TIMEOUT = 30.0


def encode_event(event: dict[str, object]) -> bytes:
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


async def _send(request: web.Request, response: web.StreamResponse, data: bytes | None) -> None:
    """``data`` out (``None``: the end of the stream) within ``SEND_TIMEOUT``, else the connection is dropped."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT):  # not wait_for, which can lose a stop (web/ws.py ``_send``)
            await (response.write(data) if data is not None else response.write_eof())
    except TimeoutError:
        log.warning("dropping an event-stream client that stopped reading (nothing taken for %g s)", SEND_TIMEOUT)
        if request.transport is not None:
            request.transport.abort()
        raise ConnectionResetError("client stopped reading") from None


async def events(request: web.Request) -> web.StreamResponse:
    sv = request.app[STREAMVOICE]
    queue = sv.events.subscribe()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    response.force_close()  # the connection ends with the stream (a dropped reader sees the end)
    try:
        await response.prepare(request)
        await _send(request, response, b"retry: 2000\n: streamvoice events\n\n")
        while True:
            try:
                async with asyncio.timeout(PING_S):
                    event = await queue.get()
            except TimeoutError:
                await _send(request, response, b": ping\n\n")
                continue
            if event is None:  # the server stops, or the hub dropped this slow client
                break
            if event.get("type") in EVENT_TYPES:
                await _send(request, response, encode_event(event))
        await _send(request, response, None)
    except (ConnectionError, RuntimeError) as exc:  # the client went away
        log.debug("event stream closed: %s", exc)
    finally:
        sv.events.unsubscribe(queue)
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/api/events", events)
