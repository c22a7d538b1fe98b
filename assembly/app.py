"""The whole application: the web app (``web.app.create_app``) with the Twitch bot and its pages mounted."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from core.settings import Settings
from service.live_settings import LiveSettings
from service.streamvoice import StreamVoice
from tts.engine import KokoroEngine
from web.app import create_app
from web.keys import SETTINGS, STREAMVOICE, EngineLoader


def running(app: web.Application) -> tuple[StreamVoice, Settings]:
    """What the bot needs from the web app once it is up: the service and the settings in force."""
    return app[STREAMVOICE], app[SETTINGS].current


def build_app(settings: Settings | LiveSettings, settings_path: Path | None = None, *,
              engine_loader: EngineLoader = KokoroEngine.load,
              bot_options: Mapping[str, Any] | None = None) -> web.Application:
    """The app ``streamvoice`` serves.

    The Twitch bot (docs/twitch.md) and its authorisation pages are mounted when the ``twitch:`` section is
    complete; ``bot_options`` mounts them regardless, with non-default runner options (tests use short delays).
    """
    app = create_app(settings, settings_path, engine_loader=engine_loader)
    current = settings.current if isinstance(settings, LiveSettings) else settings
    if current.twitch.enabled or bot_options is not None:
        from bot.mount import mount_twitch_bot

        mount_twitch_bot(app, running, **dict(bot_options or {}))
    return app
