"""The App's WebSocket (``GET /api/ws``): commands in, events out. Protocol: docs/websocket.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from core.chat import Source
from core.settings import Settings
from web import auth, commands, pages
from web.errors import INTERNAL_ERROR, ErrorAnswer, answer_for, error_body
from web.json_body import BodyError, parse_json
from web.keys import SETTINGS, STREAMVOICE

log = logging.getLogger(__name__)

#: Frame types handled concurrently with the frames after them (each only waits for its own commit).
PIPELINED = frozenset({"message", "bits"})
#: Frames read ahead of their replies; beyond this the socket stops reading (back-pressure on the client).
MAX_IN_FLIGHT = 1024
#: Seconds to wait for the client's answer to our close frame (shutdown, a dropped subscriber); a client that
#: stopped reading never answers, and shutdown must not wait long for it.
CLOSE_TIMEOUT = 2.0
#: A send that cannot complete for this long means the client stopped reading: its connection is dropped
#: (its handler then ends, presence goes offline), instead of holding a connection for ever.
SEND_TIMEOUT = 30.0


#: The open sockets, closed first on shutdown (a stalled one would otherwise hold the stop for the whole
#: shutdown timeout, twice: aiohttp waits for the handler, then for its cancellation).
OPEN_SOCKETS: web.AppKey[dict[web.WebSocketResponse, web.Request]] = web.AppKey("open_sockets", dict)


def setup(app: web.Application) -> None:
    app[OPEN_SOCKETS] = {}
    app.router.add_get("/api/ws", websocket)
    app.on_shutdown.append(_close_all)

    async def token_changed(old: Settings, new: Settings) -> None:
        if old.api_token != new.api_token:
            await _close_unauthorised(app, new.api_token)

    app[SETTINGS].subscribe(token_changed)


async def _close(socket: web.WebSocketResponse, request: web.Request, code: int, message: bytes) -> None:
    transport = request.transport
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await socket.close(code=code, message=message)
    # A client that stopped reading leaves our bytes (the close frame among them) unsent: a graceful close
    # would wait for them for ever, so drop the connection.
    if transport is not None and (not transport.is_closing() or transport.get_write_buffer_size() > 0):
        transport.abort()


async def _close_all(app: web.Application) -> None:
    await asyncio.gather(*(_close(s, r, WSCloseCode.GOING_AWAY, b"server stopping")
                           for s, r in list(app[OPEN_SOCKETS].items())))


async def _close_unauthorised(app: web.Application, token: str) -> None:
    """A live ``api_token`` change: every socket that did not connect with the new token is closed with
    ``auth.TOKEN_CHANGED`` (it reconnects with the new one, or stays out)."""
    stale = [(s, r) for s, r in list(app[OPEN_SOCKETS].items()) if not auth.accepted(r, token)]
    if stale:
        log.info("api_token changed: closing %d WebSocket(s) opened with the old one", len(stale))
    await asyncio.gather(*(_close(s, r, auth.TOKEN_CHANGED, b"api_token changed") for s, r in stale))


async def websocket(request: web.Request) -> web.WebSocketResponse:
    sv = request.app[STREAMVOICE]
    socket = web.WebSocketResponse(heartbeat=30, timeout=CLOSE_TIMEOUT)
    await socket.prepare(request)
    request.app[OPEN_SOCKETS][socket] = request
    events = sv.events.subscribe()
    is_app = request.query.get("client") not in pages.PAGE_CLIENTS  # the dashboard and overlay are not the App
    if is_app:
        sv.presence.socket_opened()
    sv.events.state_changed()
    sender = asyncio.create_task(_forward(socket, events, request))
    # Replies leave in frame order. Chat lines are pipelined: the next frame is read while earlier lines wait
    # for their group commit; any other command first waits for every earlier frame, then runs alone.
    replies: asyncio.Queue[asyncio.Future[dict[str, Any]]] = asyncio.Queue(MAX_IN_FLIGHT)
    acker = asyncio.create_task(_send_replies(socket, replies, request))
    try:
        await _send(socket, request, await sv.snapshot())
        async for frame in socket:
            if frame.type is WSMsgType.TEXT:
                if not auth.accepted(request, request.app[SETTINGS].current.api_token):
                    await _close(socket, request, auth.TOKEN_CHANGED, b"api_token changed")  # not one more
                    break
                parsed = _decode(frame.data)
                if isinstance(parsed, dict) and parsed.get("type") in PIPELINED:
                    await replies.put(asyncio.ensure_future(_handle(sv, parsed)))
                    continue
                await replies.join()  # earlier frames are answered (their lines committed) first
                reply = asyncio.get_running_loop().create_future()
                reply.set_result(await _handle(sv, parsed))
                await replies.put(reply)
            elif frame.type is WSMsgType.BINARY:
                await replies.join()
                await _send(socket, request, {"type": "error", **error_body("binary frames are not supported")})
            elif frame.type is WSMsgType.ERROR:
                break
    except (ConnectionError, RuntimeError) as exc:  # the client went away mid-send; aiohttp says so either way
        log.debug("WebSocket closed while sending: %s", exc)
    finally:
        request.app[OPEN_SOCKETS].pop(socket, None)
        if is_app:
            sv.presence.socket_closed()
        sv.events.unsubscribe(events)
        events.put_nowait(None)  # the sender ends on this even if it missed its cancel: nothing feeds it now
        sv.events.state_changed()
        for task in (sender, acker):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return socket


async def _send(socket: web.WebSocketResponse, request: web.Request, frame: dict[str, Any]) -> None:
    """One frame out, within ``SEND_TIMEOUT``; a client that does not take it loses its connection.

    ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11 ``wait_for`` swallows a cancel that lands
    in the loop turn where the send completes, so a sender told to stop went on to wait for the next event
    for ever, and its handler held the server's stop for aiohttp's whole shutdown timeout (60 s)."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT):
            await socket.send_json(frame)
    except TimeoutError:
        log.warning("dropping a WebSocket client that stopped reading (nothing sent for %g s)", SEND_TIMEOUT)
        if request.transport is not None:
            request.transport.abort()
        raise ConnectionResetError("client stopped reading") from None


async def _send_replies(socket: web.WebSocketResponse,
                        replies: asyncio.Queue[asyncio.Future[dict[str, Any]]], request: web.Request) -> None:
    """Send each reply once its command is done, in frame order. Never stops early: the reader waits on it."""
    while True:
        pending = await replies.get()
        try:
            try:
                reply = await pending
            except Exception:
                log.exception("a WebSocket command failed")
                reply = {"type": "error", "status": 500, **error_body(INTERNAL_ERROR)}
            if not socket.closed:
                await _send(socket, request, reply)
        except Exception as exc:  # the socket went away mid-send: the reader loop ends on its own
            log.debug("could not send a WebSocket reply: %s", exc)
        finally:
            replies.task_done()


async def _forward(socket: web.WebSocketResponse, events: asyncio.Queue[dict[str, Any] | None],
                   request: web.Request) -> None:
    """Events out until the hub ends this subscription (shutdown, or a player that stopped reading)."""
    try:
        while (event := await events.get()) is not None:
            if socket.closed:
                return
            await _send(socket, request, event)
        await socket.close()
    except Exception as exc:  # ConnectionResetError, ConnectionError('Connection lost'), a closing transport
        log.debug("stopped forwarding events to a WebSocket: %s", exc)


def _decode(data: str) -> dict[str, Any] | str:
    """A client frame as a JSON object, or why it is not one."""
    try:
        frame = parse_json(data)
    except BodyError as exc:  # bad syntax, too deep, a number too long, NaN
        reason = str(exc)
        return "frame is not valid JSON" if reason.endswith("not valid JSON") else f"frame is not valid JSON: {reason}"
    if not isinstance(frame, dict):
        return "frame must be a JSON object"
    return frame


async def _handle(sv: Any, frame: dict[str, Any] | str) -> dict[str, Any]:
    """One decoded client frame -> its ``ack`` or ``error`` reply (carrying the client's ``ref``)."""
    if isinstance(frame, str):
        return {"type": "error", **error_body(frame)}
    ref = frame.get("ref")
    kind = frame.get("type")
    reply: dict[str, Any] = {"ref": ref} if ref is not None else {}
    command = commands.COMMANDS.get(kind) if isinstance(kind, str) else None
    if command is None:
        known = ", ".join(sorted(commands.COMMANDS))
        return {"type": "error", **reply, **error_body(f"unknown frame type {kind!r} (known: {known})")}
    try:
        status, result = await commands.run(command, sv, frame, Source.APP_WS)
    except Exception as exc:  # a refusal or a database fault: the same status and body as over HTTP
        answer = answer_for(exc)
        if answer is None:  # any other server fault answers this frame; the socket and later frames go on
            log.exception("WebSocket command %r failed", kind)
            answer = ErrorAnswer(500, error_body(INTERNAL_ERROR))
        return {"type": "error", **reply, "command": kind, "status": answer.status, **answer.body}
    return {"type": "ack", **reply, "command": kind, "status": status, "result": result}
