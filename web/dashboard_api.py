"""HTTP routes the dashboard needs beyond the App's: queue pages, history, replay, try a line.

Thin handlers: parse, call ``service.dashboard``, encode. Same auth, same JSON errors (``web.errors``) as every
``/api`` route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from core.chat import IncomingChat, QueueName, Source
from core.errors import NotFound
from service.dashboard import history_page, queue_page, render_line, replay, try_line
from web.json_body import read_json
from web.keys import STREAMVOICE
from web.payloads import MAX_ID, PayloadError, ascii_id, parse_bits, parse_message, refusal, whole_number

#: Largest page a client may ask for (queue and history).
MAX_PAGE = 500
DEFAULT_QUEUE_PAGE = 200
DEFAULT_HISTORY_PAGE = 50
MAX_FILTER_CHARS = 200


def _int_param(query: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = whole_number(raw)
    if value is None or not low <= value <= high:
        raise PayloadError(f"'{name}' must be a whole number from {low} to {high}", name)
    return value


def _text_param(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "").strip()
    if len(value) > MAX_FILTER_CHARS:
        raise PayloadError(f"'{name}' is longer than {MAX_FILTER_CHARS} characters", name)
    return value


async def queue(request: web.Request) -> web.Response:
    """``GET /api/queue``; with ``queue``, ``limit`` or ``after`` a page of either queue (else as before)."""
    query = request.query
    sv = request.app[STREAMVOICE]
    if not {"queue", "limit", "after"} & set(query):
        return web.json_response(await sv.queue_view())
    raw_queue = query.get("queue") or None
    if raw_queue is not None and raw_queue not in {q.value for q in QueueName}:
        raise PayloadError("'queue' must be \"mentions\" or \"bits\"", "queue")
    limit = _int_param(query, "limit", DEFAULT_QUEUE_PAGE, 1, MAX_PAGE)
    after = _int_param(query, "after", None, 0, MAX_ID)
    assert limit is not None
    shown = QueueName(raw_queue) if raw_queue else None
    return web.json_response(await queue_page(sv, shown, after, limit))


async def history(request: web.Request) -> web.Response:
    """``GET /api/history?user=&q=&before=&limit=``: finished items, newest first (keyset pages)."""
    query = request.query
    limit = _int_param(query, "limit", DEFAULT_HISTORY_PAGE, 1, MAX_PAGE)
    before = _int_param(query, "before", None, 1, MAX_ID)
    user, text = _text_param(query, "user"), _text_param(query, "q")
    assert limit is not None
    return web.json_response(await history_page(request.app[STREAMVOICE], user=user, text=text, before=before,
                                                 limit=limit))


#: ``source`` of a tried line: how it would arrive. ``chat``: a chat line (the App's or the bot's; the trigger
#: rules decide), ``cheer``: a cheer (needs ``bits_amount``; a ``chat`` line with ``bits_amount`` is one too).
TRY_SOURCES: tuple[str, ...] = ("chat", "cheer")


def _try_source(body: Any) -> str:
    source = body.get("source") if isinstance(body, dict) else None
    if source is None:
        return "chat"
    if source not in TRY_SOURCES:
        raise PayloadError(f"'source' must be one of {', '.join(TRY_SOURCES)}", "source")
    if source == "cheer" and body.get("bits_amount") is None:
        raise PayloadError("'bits_amount' is required to try a cheer", "bits_amount")
    return str(source)


async def _chat_from_body(request: web.Request) -> IncomingChat:
    body = await read_json(request)
    max_chars = request.app[STREAMVOICE].settings.current.max_input_chars
    try:
        _try_source(body)
        if isinstance(body, dict) and body.get("bits_amount") is not None:
            return parse_bits(body, Source.APP_HTTP, max_chars)
        return parse_message(body, Source.APP_HTTP, max_chars)
    except PayloadError as exc:
        raise refusal(exc, body) from None


async def try_a_line(request: web.Request) -> web.Response:
    """``POST /api/try``: what would be spoken for this chatter and text (nothing stored)."""
    chat = await _chat_from_body(request)
    return web.json_response(try_line(request.app[STREAMVOICE], chat))


async def try_audio(request: web.Request) -> web.Response:
    """``POST /api/try/audio``: the WAV of that line (synthesised now; not queued, not stored)."""
    chat = await _chat_from_body(request)
    wav = await render_line(request.app[STREAMVOICE], chat)
    return web.Response(body=wav, content_type="audio/wav", headers={"Cache-Control": "no-store"})


async def replay_message(request: web.Request) -> web.Response:
    """``POST /api/messages/{id}/replay``: queue a finished item again, at the front of its queue."""
    message_id = ascii_id(request.match_info["id"])
    if message_id is None:
        raise NotFound("message not found")
    return web.json_response(await replay(request.app[STREAMVOICE], message_id), status=202)


def setup(app: web.Application) -> None:
    """The dashboard's own routes (``GET /api/queue`` stays registered by ``web.routes``, calling ``queue``)."""
    router = app.router
    router.add_get("/api/history", history)
    router.add_post("/api/try", try_a_line)
    router.add_post("/api/try/audio", try_audio)
    router.add_post("/api/messages/{id}/replay", replay_message)
