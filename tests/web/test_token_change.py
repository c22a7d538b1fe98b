"""A live ``api_token`` change ends what the old token opened: sockets authenticated with it are closed (4401).

A real server with a watched settings.yaml, real WebSocket clients; the file is edited as an editor saves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests import dbutil
from tests.helpers import wait_for
from tests.service.test_live_settings import write_settings
from web.auth import TOKEN_CHANGED

OLD, NEW = "old-token-value", "new-token-value"


async def _closed_with(socket: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the socket closes; its close code."""
    async for _ in socket:
        pass
    return socket.close_code


async def test_a_token_change_closes_the_sockets_opened_with_the_old_one(start_server: Any, make_settings: Any,
                                                                         tmp_path: Path) -> None:
    settings = make_settings(api_token=OLD)
    path = tmp_path / "settings.yaml"
    write_settings(path, settings, api_token=OLD)
    client = await start_server(settings, path)
    app_socket = await client.ws_connect(f"/api/ws?token={OLD}")
    overlay = await client.ws_connect("/api/ws?client=overlay", headers={"Authorization": f"Bearer {OLD}"})
    for socket in (app_socket, overlay):
        assert (await socket.receive_json(timeout=10))["type"] == "state"
    await app_socket.send_json({"type": "message", "ref": 1, "sent_by": "v", "text": "@streamer before"})
    while (await app_socket.receive_json(timeout=10)).get("type") != "ack":
        pass

    write_settings(path, settings, api_token=NEW)
    assert await _closed_with(app_socket) == TOKEN_CHANGED
    assert await _closed_with(overlay) == TOKEN_CHANGED
    texts = [r["text"] for r in dbutil.rows(settings.database_url)]
    assert texts == ["@streamer before"]  # nothing the old token sent after the change, nothing cleared

    refused = await client.get("/api/queue", headers={"Authorization": f"Bearer {OLD}"})
    assert refused.status == 401
    fresh = await client.ws_connect(f"/api/ws?token={NEW}")
    assert (await fresh.receive_json(timeout=10))["type"] == "state"
    await fresh.send_json({"type": "message", "ref": 2, "sent_by": "v", "text": "@streamer after"})

    async def acked() -> bool:
        return (await fresh.receive_json(timeout=10)).get("type") == "ack"

    await wait_for(acked, timeout=15)
    await fresh.close()


async def test_turning_a_token_on_closes_the_sockets_that_had_none(start_server: Any, make_settings: Any,
                                                                   tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)
    socket = await client.ws_connect("/api/ws")
    assert (await socket.receive_json(timeout=10))["type"] == "state"
    write_settings(path, settings, api_token=NEW)
    assert await _closed_with(socket) == TOKEN_CHANGED
    assert not [r for r in dbutil.rows(settings.database_url)]
