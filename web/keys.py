"""Typed application keys."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from service.live_settings import LiveSettings
from service.streamvoice import StreamVoice
from tts.engine import EngineConfig, KokoroEngine

SETTINGS = web.AppKey("settings", LiveSettings)
STREAMVOICE = web.AppKey("streamvoice", StreamVoice)
EngineLoader = Callable[[EngineConfig], KokoroEngine]
ENGINE_LOADER: web.AppKey[EngineLoader] = web.AppKey("engine_loader")
