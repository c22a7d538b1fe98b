"""Shared fixtures: a tiny random Kokoro model (real kokoro code path), settings, a real server."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.settings import Settings
from tts.engine import EngineConfig, KokoroEngine
from tts.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-kokoro"))


class SharedEngineLoader:
    """Loads the tiny engine once per test session (model load dominates test time), then only re-voices.

    The loader still goes through ``KokoroEngine.load`` the first time, so the real path is exercised.
    """

    def __init__(self) -> None:
        self._engine: KokoroEngine | None = None
        self._lock = threading.Lock()
        self.loads = 0

    def __call__(self, config: EngineConfig) -> KokoroEngine:
        with self._lock:
            if self._engine is None or self._engine.model_dir != config.model_dir:
                self._engine = KokoroEngine.load(config)
                self.loads += 1
            else:
                self._engine.set_voice(config.voice, config.voices or {}, config.speed)
            return self._engine


@pytest.fixture(scope="session")
def engine_loader() -> SharedEngineLoader:
    return SharedEngineLoader()


@pytest.fixture
def make_settings(tmp_path: Path, tiny_model_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base = Settings(
            username="streamer", model_dir=str(tiny_model_dir), audio_dir=str(tmp_path / "audio"),
            database_url=f"sqlite:///{tmp_path / 'streamvoice.db'}", device="cpu", voice="jared50_lex30_martha20",
            autoplay_cooldown=0.2, playback_grace=2.0, emotes=(),
        )
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
async def start_server(engine_loader: SharedEngineLoader) -> AsyncIterator[Any]:
    """``client = await start_server(settings)``: a real aiohttp server on 127.0.0.1 and a real client."""
    from web.app import create_app

    clients: list[TestClient[Any, Any]] = []

    async def start(settings: Settings, settings_path: Path | None = None, **kwargs: Any) -> TestClient[Any, Any]:
        app = create_app(settings, settings_path, **{"engine_loader": engine_loader, **kwargs})
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


async def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an (async or sync) predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def app_of(client: TestClient[Any, Any]) -> web.Application:
    return client.server.app


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A server stopped while its model was loading leaves the load running on a daemon thread
    (``service.daemon_thread``); the interpreter exiting inside torch then aborts the whole run (SIGABRT,
    exit 134) after every test passed. Let such loads finish first."""
    from service import daemon_thread

    for thread in list(daemon_thread._threads):
        thread.join(timeout=120)
