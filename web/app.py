"""The aiohttp application factory: routes, middlewares, and resources opened/closed in ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import hdrs, web

from core.settings import Settings
from service import log_hygiene
from service.live_settings import LiveSettings
from service.streamvoice import StreamVoice
from tts.engine import EngineConfig, KokoroEngine
from web import auth, controls, db_errors, limits, openai_speech, pages, routes, security, sse, ws
from web.keys import ENGINE_LOADER, SETTINGS, STREAMVOICE

log = logging.getLogger(__name__)

#: Bodies above this are refused with 413 before they are parsed.
MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, object] = {"error": message}
    if field:
        body["field"] = field
    return web.json_response(body, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every 4xx/5xx leaves as JSON ``{"error": ...}``, including aiohttp's own (404, 405, 413)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        response = json_error(exc.status, exc.reason)
        for name, value in exc.headers.items():  # Allow on a 405, Retry-After, CORS...
            if name not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH):
                response.headers.add(name, value)
        return response
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:  # a real server fault: still JSON, and logged once with its traceback
        if hdrs.UPGRADE in request.headers:  # a WebSocket already switched protocols: no HTTP answer fits
            raise
        log.exception("unhandled error answering %s %r", request.method, request.path)
        return json_error(500, "internal server error")


@web.middleware
async def token_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With ``api_token`` set, /api and /v1 need ``Authorization: Bearer <token>`` (or ``?token=`` for sockets)."""
    if request.path.startswith(security.API_PREFIXES) and not auth.accepted(
            request, request.app[SETTINGS].current.api_token):
        return json_error(401, "missing or wrong API token")
    return await handler(request)


async def streamvoice_ctx(app: web.Application) -> AsyncIterator[None]:
    live = app[SETTINGS]
    service = StreamVoice(live, app[ENGINE_LOADER])
    await service.start()
    live.start()
    app[STREAMVOICE] = service
    yield
    await live.stop()
    await service.close()


async def end_event_streams(app: web.Application) -> None:
    """On a stop, close every WebSocket at once (the hub ends each subscription, the socket closes with 1000):
    an open App or player would otherwise hold the stop for the whole shutdown timeout."""
    if STREAMVOICE in app:
        await app[STREAMVOICE].events.stop()


def create_app(settings: Settings | LiveSettings, settings_path: Path | None = None,
               extra_contexts: list[Callable[[web.Application], AsyncIterator[None]]] | None = None,
               engine_loader: Callable[[EngineConfig], KokoroEngine] = KokoroEngine.load,
               ) -> web.Application:
    """Build the application. ``extra_contexts`` run after the core service is up (e.g. the Twitch bot)."""
    live = settings if isinstance(settings, LiveSettings) else LiveSettings(settings, settings_path)
    log_hygiene.install_redaction()  # ?token= never reaches the access log, with or without the Twitch bot
    # outermost first: OpenAI's error shape under /v1, JSON errors, database faults, foreign browsers
    # (Host/Origin), token, JSON-only bodies, the body read under a deadline (web/security.py, web/limits.py)
    middlewares = [openai_speech.openai_errors, errors_as_json, db_errors.database_errors, security.browser_guard,
                   token_auth, security.json_bodies_only, limits.body_in_time]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = live
    app[ENGINE_LOADER] = engine_loader
    app.cleanup_ctx.append(streamvoice_ctx)
    app.on_shutdown.append(end_event_streams)
    for context in extra_contexts or []:
        app.cleanup_ctx.append(context)
    controls.setup(app)  # GET /api/speak, /api/control/{name}, /audio/latest.wav (before /audio/{id}.wav)
    routes.setup(app)
    pages.setup(app)  # the dashboard and the OBS overlay (web/static/) and their /api routes
    ws.setup(app)  # GET /api/ws
    openai_speech.setup(app)  # /v1: the OpenAI-compatible speech API (docs/integrations.md)
    sse.setup(app)  # GET /api/events
    return app
