"""Helpers shared by the test modules (fixtures stay in ``tests/conftest.py``): waiting for a state, the
server's health and engine, a free port, a mention posted the way the App posts it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tts.engine import EngineConfig, KokoroEngine


async def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an (async or sync) predicate until it returns something truthy; that value is returned."""
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


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it), for a server started in a subprocess."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def health(client: TestClient[Any, Any]) -> dict[str, Any]:
    """``GET /api/health``, which must answer 200."""
    response = await client.get("/api/health")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def engine_ready(client: TestClient[Any, Any]) -> dict[str, Any] | None:
    """The health body once the engine reports ``ready ...``, else ``None`` (a predicate for ``wait_for``)."""
    body = await health(client)
    return body if str(body["engine"]).startswith("ready") else None


async def wait_engine_ready(client: TestClient[Any, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the server's engine is loaded; returns the health body that said so."""
    body: dict[str, Any] = await wait_for(lambda: engine_ready(client), timeout=timeout)
    return body


async def mention(client: TestClient[Any, Any], text: str = "hello there", user: str = "viewer",
                  **extra: Any) -> int:
    """Post ``@streamer TEXT`` from ``user`` as the App does; it must be queued (202). Returns its id."""
    response = await client.post("/api/messages", json={"sent_by": user, "text": f"@streamer {text}", **extra})
    assert response.status == 202, await response.text()
    return int((await response.json())["id"])


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
