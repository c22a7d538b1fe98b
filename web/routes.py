"""HTTP handlers: decode, call the service (through ``web.commands``), encode. Nothing else."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from aiohttp import web

from core.chat import Source, Status
from core.errors import NotFound
from tts.wav import streaming_header
from web import captions, commands, dashboard_api, limits, pages
from web.json_body import read_json
from web.keys import STREAMVOICE
from web.payloads import ascii_id

log = logging.getLogger(__name__)


def _command_handler(command: commands.Command, *, reads_body: bool = True,
                     id_from_path: bool = False) -> Any:
    async def handler(request: web.Request) -> web.Response:
        sv = request.app[STREAMVOICE]
        if request.headers.get(pages.CLIENT_HEADER) not in pages.PAGE_CLIENTS:  # our pages are not the App
            sv.presence.http_seen()
        body = await read_json(request) if reads_body else {}
        if id_from_path:
            body = {"id": request.match_info["id"]}
        status, result = await commands.run(command, sv, body, Source.APP_HTTP)  # refusals: web.errors
        return web.json_response(result, status=status)

    return handler


async def health(request: web.Request) -> web.Response:
    return web.json_response(await request.app[STREAMVOICE].health())


async def audio(request: web.Request) -> web.StreamResponse:
    """A ready (or playing) item's WAV; 404 for unknown, deleted, played or not-yet-synthesised ids.

    A long line that plays while it still renders is sent as it grows (``service.live_audio``): a WAV header
    whose sizes say "unknown", then each sentence's samples as they are rendered, chunked, until the end.
    Every write must make progress within ``limits.SEND_TIMEOUT`` (``/audio`` needs no token: a reader that
    stops reading must not keep its connection). A HEAD gets the headers only.
    """
    sv = request.app[STREAMVOICE]
    message_id = ascii_id(request.match_info["id"])
    if message_id is None:
        raise NotFound("no such audio")
    item = await sv.db.call(sv.db.store.get, message_id)
    if item is None or item.is_deleted or item.status not in {Status.READY, Status.PLAYING, Status.SYNTHESIZING}:
        raise NotFound("no such audio")
    headers = {"Content-Type": "audio/wav", "Cache-Control": "no-store"}
    if item.audio_path is not None:
        return limits.ProgressFileResponse(item.audio_path, headers=headers)
    stream = sv.live_audio.get(message_id)
    if stream is None or not stream.has_audio:
        raise NotFound("no such audio")
    response = web.StreamResponse(headers={**headers, "X-Streaming": "1"})
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    try:
        await limits.send_within(request, response.write(streaming_header()))
        async for block in stream.read():
            await limits.send_within(request, response.write(block))
        await limits.send_within(request, response.write_eof())
    except ConnectionError as exc:  # an overlay reload, a scene switch, a reader dropped for stalling: normal
        log.debug("audio %d: the reader went away mid-stream (%s)", message_id, exc)
    return response


async def openapi(request: web.Request) -> web.Response:
    text = resources.files("web").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return web.Response(text=text, content_type="application/yaml")


def setup(app: web.Application) -> None:
    router = app.router
    router.add_post("/api/messages", _command_handler(commands.message))
    router.add_post("/api/bits", _command_handler(commands.bits))
    router.add_get("/api/queue", dashboard_api.queue)  # the App's view by default; pages with ?queue=&limit=&after=
    router.add_get("/api/health", health)
    router.add_post("/api/play", _command_handler(commands.play, reads_body=False))
    router.add_post("/api/stop", _command_handler(commands.stop, reads_body=False))
    router.add_post("/api/clear", _command_handler(commands.clear))  # optional {"queue": ...} must be the active one
    router.add_put("/api/autoplay", _command_handler(commands.autoplay))
    router.add_put("/api/mode", _command_handler(commands.mode))
    router.add_post("/api/played/{id}", _command_handler(commands.finished, reads_body=False,
                                                          id_from_path=True))
    # moderation: remove, skip, pause/resume, purge, Twitch message ids, approval
    router.add_delete("/api/messages/{id}", _command_handler(commands.remove, reads_body=False, id_from_path=True))
    router.add_post("/api/skip", _command_handler(commands.skip, reads_body=False))
    router.add_post("/api/pause", _command_handler(commands.pause, reads_body=False))
    router.add_post("/api/resume", _command_handler(commands.resume, reads_body=False))
    router.add_post("/api/moderation/purge_user", _command_handler(commands.purge_user))
    router.add_post("/api/moderation/delete_message", _command_handler(commands.delete_message))
    router.add_post("/api/messages/{id}/approve", _command_handler(commands.approve, reads_body=False,
                                                                   id_from_path=True))
    router.add_post("/api/messages/{id}/reject", _command_handler(commands.reject, reads_body=False,
                                                                  id_from_path=True))
    router.add_get("/api/items/{id}/captions", captions.item_captions)  # word timings (docs/captions.md)
    router.add_get("/audio/{id}.wav", audio)
    router.add_get("/openapi.yaml", openapi)
