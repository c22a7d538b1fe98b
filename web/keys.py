"""Typed application keys."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from service.live_settings import LiveSettings
from service.streamvoice import StreamVoice
from tts.engine import EngineConfig, KokoroEngine

SETTINGS = web.AppKey("settings", LiveSettings)
STREAMVOICE = web.AppKey("streamvoice", StreamVoice)
ENGINE_LOADER = web.AppKey("engine_loader", Callable[[EngineConfig], KokoroEngine])
