"""The App's WebSocket (``GET /api/ws``): commands in, events out. Protocol: docs/websocket.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from core.chat import Source
from web import commands
from web.keys import STREAMVOICE

log = logging.getLogger(__name__)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    sv = request.app[STREAMVOICE]
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    events = sv.events.subscribe()
    sv.presence.socket_opened()
    sv.events.state_changed()
    sender = asyncio.create_task(_forward(socket, events))
    try:
        await socket.send_json(await sv.snapshot())
        async for frame in socket:
            if frame.type is WSMsgType.TEXT:
                reply = await _handle(sv, frame.data)
                await socket.send_json(reply)
            elif frame.type is WSMsgType.BINARY:
                await socket.send_json({"type": "error", "error": "binary frames are not supported"})
            elif frame.type is WSMsgType.ERROR:
                break
    except ConnectionResetError:
        pass
    finally:
        sv.presence.socket_closed()
        sv.events.unsubscribe(events)
        sv.events.state_changed()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return socket


async def _forward(socket: web.WebSocketResponse, events: asyncio.Queue[dict[str, Any] | None]) -> None:
    while (event := await events.get()) is not None:
        if socket.closed:
            return
        try:
            await socket.send_json(event)
        except ConnectionResetError:
            return
    await socket.close()


async def _handle(sv: Any, data: str) -> dict[str, Any]:
    """One client frame -> its ``ack`` or ``error`` reply (carrying the client's ``ref``)."""
    try:
        frame = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"type": "error", "error": "frame is not valid JSON"}
    if not isinstance(frame, dict):
        return {"type": "error", "error": "frame must be a JSON object"}
    ref = frame.get("ref")
    kind = frame.get("type")
    reply: dict[str, Any] = {"ref": ref} if ref is not None else {}
    command = commands.COMMANDS.get(kind) if isinstance(kind, str) else None
    if command is None:
        known = ", ".join(sorted(commands.COMMANDS))
        return {"type": "error", **reply, "error": f"unknown frame type {kind!r} (known: {known})"}
    try:
        status, result = await commands.run(command, sv, frame, Source.APP_WS)
    except commands.CommandError as exc:
        error = {"type": "error", **reply, "command": kind, "status": exc.status, "error": str(exc)}
        if exc.field:
            error["field"] = exc.field
        return error
    return {"type": "ack", **reply, "command": kind, "status": status, "result": result}
