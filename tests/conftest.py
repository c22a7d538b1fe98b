"""Shared fixtures: a tiny random Kokoro model (real kokoro code path), settings, a real server."""

from __future__ import annotations

import os

# Before torch loads (below, and in every server process a test starts, which inherits the environment): idle
# OpenMP threads sleep instead of spinning. On a busy machine a spinning thread burns the core another process
# needs; measured at load ~6 on 2 cores, a render took 4x the CPU time and 3.5-4.5x the wall time with spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.settings import Settings
from tests.helpers import SharedEngineLoader, app_of, wait_for
from tts.tiny_model import build_tiny_model

#: Kept importable from here for tests written before ``tests.helpers``; new tests import ``tests.helpers``.
__all__ = ["SharedEngineLoader", "app_of", "wait_for"]


@pytest.fixture(autouse=True)
def _logging_filters_stay_per_test() -> Iterator[None]:
    """The CLI (run in-process by some tests) adds its escape/throttle/redact filters to every root handler,
    pytest's own capture handlers included, which live for the whole session: take them off after each test,
    so one test's log throttle never swallows another test's lines."""
    handlers = {h: list(h.filters) for h in logging.getLogger().handlers}
    yield
    for handler in logging.getLogger().handlers:
        if handler in handlers:
            handler.filters[:] = handlers[handler]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-kokoro"))


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A server stopped while its model was loading leaves the load running on a daemon thread
    (``service.daemon_thread``); the interpreter exiting inside torch then aborts the whole run (SIGABRT,
    exit 134) after every test passed. Let such loads finish first."""
    from service import daemon_thread

    for thread in list(daemon_thread._threads):
        thread.join(timeout=120)
