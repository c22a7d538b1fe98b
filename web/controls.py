"""GET controls for tools that can only open a URL (Streamer.bot's Fetch URL, Mix It Up's Web Request, a Stream
Deck Website button), and the latest WAV for tools that download and play a file (docs/integrations.md).

- ``GET /api/speak?text=&user=``: a line queued exactly as an App ``Message`` (same rules, same answer as
  ``POST /api/messages``), with source ``api`` and no @mention needed.
- ``GET /api/control/{play|stop|skip|pause|resume|clear|replay_last}``: the POST commands; ``replay_last`` queues
  the item played last again.
- ``GET /audio/latest.wav``: the WAV playing now, else the one played last.

These GETs change state, so they always need ``api_token`` (as ``?token=`` or ``Authorization: Bearer``), even
on loopback: with no token set they answer 403 and do nothing. The token itself is checked by the app's
``token_auth``; Host, Origin and ``Sec-Fetch-Site`` by ``web.security`` (a page on another site can never use
them, not even through an ``<img src>``), and ``?token=`` never reaches a log line (``service.log_hygiene``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from aiohttp import web

from core.chat import Origin, Source
from core.errors import Conflict, Forbidden, Invalid, NotFound
from service.dashboard import replay
from service.latest_audio import LatestAudio
from storage.last_played import last_played_id
from tts.wav import streaming_header
from web import commands
from web.keys import SETTINGS, STREAMVOICE
from web.payloads import PayloadError, parse_message

LATEST_AUDIO = web.AppKey("latest_audio", LatestAudio)
NO_TOKEN = "set api_token to use GET controls"


def _require_token(request: web.Request) -> None:
    if not request.app[SETTINGS].current.api_token:
        raise Forbidden(NO_TOKEN)


async def speak(request: web.Request) -> web.Response:
    """``GET /api/speak?text=&user=``."""
    _require_token(request)
    sv = request.app[STREAMVOICE]
    body = {key: request.query[key] for key in ("text", "message_id") if key in request.query}
    body["sent_by"] = request.query.get("user", "")
    try:
        chat = parse_message(body, Source.APP_HTTP, sv.settings.current.max_input_chars)
    except PayloadError as exc:
        field = "user" if exc.field == "sent_by" else exc.field
        raise Invalid(str(exc).replace("'sent_by'", "'user'"), field) from None
    status, result = commands._accepted(await sv.accept(dataclasses.replace(chat, origin=Origin.API)))
    return web.json_response(result, status=status)


async def _replay_last(sv: Any, body: Any, source: Source) -> commands.Result:
    message_id = await sv.db.call(last_played_id, sv.db.store)
    if message_id is None:
        raise Conflict("nothing has been played yet")
    return 202, await replay(sv, message_id)


CONTROLS: dict[str, commands.Command] = {
    "play": commands.play, "stop": commands.stop, "skip": commands.skip, "pause": commands.pause,
    "resume": commands.resume, "clear": commands.clear, "replay_last": _replay_last,
}


async def control(request: web.Request) -> web.Response:
    """``GET /api/control/{name}``."""
    name = request.match_info["name"]
    command = CONTROLS.get(name)
    if command is None:
        raise NotFound(f"unknown control {name!r} (known: {', '.join(CONTROLS)})")
    _require_token(request)
    status, result = await commands.run(command, request.app[STREAMVOICE], {}, Source.APP_HTTP)
    return web.json_response(result, status=status)


async def latest_wav(request: web.Request) -> web.StreamResponse:
    """``GET /audio/latest.wav``: the item playing now (its file, or its growing stream), else the last played."""
    sv = request.app[STREAMVOICE]
    headers = {"Content-Type": "audio/wav", "Cache-Control": "no-store"}
    current = sv.playback.current
    if current is not None and not current.waiting_for_audio:
        path = sv.audio_dir / f"{current.item.id}.wav"
        if os.path.isfile(path):
            return web.FileResponse(path, headers={**headers, "X-Item-Id": str(current.item.id)})
        stream = sv.live_audio.playable(current.item.id)
        if stream is not None:
            response = web.StreamResponse(headers={**headers, "X-Streaming": "1",
                                                   "X-Item-Id": str(current.item.id)})
            await response.prepare(request)
            await response.write(streaming_header())
            async for block in stream.read():
                await response.write(block)
            await response.write_eof()
            return response
    latest = request.app[LATEST_AUDIO].latest
    if latest is None:
        raise NotFound("nothing has played yet")
    message_id, data = latest
    return web.Response(body=data, headers={**headers, "X-Item-Id": str(message_id)})


async def latest_audio_ctx(app: web.Application) -> Any:
    sv = app[STREAMVOICE]
    tracker = LatestAudio(sv.events, sv.live_audio, sv.audio_dir)
    tracker.start()
    app[LATEST_AUDIO] = tracker
    yield
    await tracker.stop()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(latest_audio_ctx)
    app.router.add_get("/api/speak", speak)
    app.router.add_get("/api/control/{name}", control)
    app.router.add_get("/audio/latest.wav", latest_wav)
