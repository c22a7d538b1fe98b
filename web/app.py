"""The aiohttp application factory: routes, middlewares, and resources opened/closed in ``cleanup_ctx``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from core.settings import Settings
from service import log_hygiene
from service.live_settings import LiveSettings
from service.streamvoice import StreamVoice
from tts.engine import EngineConfig, KokoroEngine
from web import auth, controls, errors, limits, openai_speech, pages, routes, security, sse, ws
from web.errors import error_response
from web.keys import ENGINE_LOADER, SETTINGS, STREAMVOICE

log = logging.getLogger(__name__)

#: Bodies above this are refused with 413 before they are parsed.
MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def token_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With ``api_token`` set, /api and /v1 need ``Authorization: Bearer <token>`` (or ``?token=`` for sockets)."""
    if request.path.startswith(security.API_PREFIXES) and not auth.accepted(
            request, request.app[SETTINGS].current.api_token):
        return error_response(request, 401, "missing or wrong API token")
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
    # outermost first: foreign browsers (Host/Origin, CORS), every error as a JSON answer (web/errors.py: OpenAI's
    # shape under /v1), token, JSON-only bodies, the body read under a deadline (web/security.py, web/limits.py).
    # Errors are answered inside browser_guard, so an allowed origin's CORS headers are on error answers too.
    middlewares = [security.browser_guard, errors.error_answers, token_auth, security.json_bodies_only,
                   limits.body_in_time]
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
