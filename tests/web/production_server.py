"""The server exactly as ``streamvoice`` runs it (``web.serve``): its timeouts, its connection cap, and no
handler cancellation on a lost connection (aiohttp's ``TestServer`` cancels handlers, which hides hangs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.settings import Settings
from web import serve
from web.app import create_app


@dataclass
class Served:
    app: web.Application
    runner: web.AppRunner
    site: serve.CappedTCPSite

    @property
    def port(self) -> int:
        return int(self.site.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def production_server(settings: Settings, engine_loader: Any, **limits: Any) -> AsyncIterator[Served]:
    app = create_app(settings, engine_loader=engine_loader)
    runner, site = await serve.start(app, "127.0.0.1", 0, **limits)
    try:
        yield Served(app, runner, site)
    finally:
        await serve.stop(runner)
