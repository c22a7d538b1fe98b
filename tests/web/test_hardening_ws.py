"""A WebSocket client that stops reading and then vanishes must not hang its handler."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from core.settings import TwitchSettings
from tests.helpers import app_of, wait_for
from tests.web.production_server import production_server
from tests.web.rawws import RawWebSocket
from web import serve
from web.keys import STREAMVOICE


async def test_client_that_stops_reading_then_drops_goes_offline_and_shutdown_is_prompt(
        engine_loader: Any, make_settings: Any) -> None:
    # app_online_window 0: "online" means exactly "a WebSocket is open"
    settings = make_settings(twitch=TwitchSettings(app_online_window=0))
    async with production_server(settings, engine_loader) as served:
        sv = served.app[STREAMVOICE]
        socket = await RawWebSocket.connect(served.port)
        await wait_for(lambda: sv.presence.online)
        # Flood: chat lines are pipelined, so hundreds of replies (each carrying a 20 kB ref back) queue up behind
        # a socket the App never reads: more than every buffer between us holds, so the server's sends block. A
        # last non-chat frame makes the reader wait for all of them. Chat lines publish events for the forwarder.
        ref = "r" * 20_000
        for n in range(600):
            text = f"@streamer short line {n}" if n % 100 == 0 else "just chatting"
            socket.send_text(json.dumps({"type": "message", "ref": f"{ref}{n}", "sent_by": f"v{n}", "text": text}))
        socket.send_text(json.dumps({"type": "nonsense", "ref": "last"}))
        await socket.drain(timeout=3)
        await asyncio.sleep(1.0)  # the server is now stuck writing to us: every buffer on the way is full
        socket.drop()
        await wait_for(lambda: not sv.presence.online, timeout=15)
        await wait_for(lambda: sv.events.subscriber_count == 0, timeout=15)
        assert sv.ingest_source == "none"
        async with aiohttp.ClientSession() as session, session.get(f"{served.url}/api/health") as response:
            assert response.status == 200  # the server still serves everyone else
        started = time.monotonic()
    took = time.monotonic() - started
    assert took < 10, f"shutdown took {took:.1f} s"


async def test_other_sockets_keep_working_next_to_a_stalled_one(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings(twitch=TwitchSettings(app_online_window=0)))
    sv = app_of(client)[STREAMVOICE]
    stalled = await RawWebSocket.connect(int(client.server.port))
    for n in range(200):
        stalled.send_text(json.dumps({"type": "nonsense", "ref": "x" * 2000 + str(n)}))
    await stalled.drain(timeout=3)
    healthy = await client.ws_connect("/api/ws")
    assert (await healthy.receive_json(timeout=10))["type"] == "state"
    await healthy.send_json({"type": "message", "ref": 1, "sent_by": "a", "text": "@streamer hi"})
    while (frame := await healthy.receive_json(timeout=10))["type"] != "ack":
        pass
    assert frame["status"] == 202
    stalled.drop()
    await healthy.close()
    await wait_for(lambda: sv.events.subscriber_count == 0, timeout=15)
    assert not sv.presence.online


async def flood_without_reading(port: int) -> RawWebSocket:
    """A WebSocket client that sends 600 chat lines with 20 KB refs and never reads: its acks pile up."""
    socket = await RawWebSocket.connect(port)
    ref = "r" * 20_000
    for n in range(600):
        socket.send_text(json.dumps({"type": "message", "ref": f"{ref}{n}", "sent_by": "v", "text": "hi"}))
    return socket


async def test_shutdown_is_prompt_with_a_client_that_stopped_reading_but_stays_connected(
        engine_loader: Any, make_settings: Any) -> None:
    """aiohttp would wait for the stuck handler for its shutdown timeout, twice; we close such sockets first."""
    settings = make_settings(twitch=TwitchSettings(app_online_window=0))
    async with production_server(settings, engine_loader) as served:
        sv = served.app[STREAMVOICE]
        socket = await flood_without_reading(served.port)
        socket.send_text(json.dumps({"type": "nonsense"}))
        await socket.drain(timeout=3)
        await asyncio.sleep(1.0)
        assert sv.presence.online
        started = time.monotonic()
    took = time.monotonic() - started
    socket.drop()
    assert took < serve.SHUTDOWN_TIMEOUT, f"shutdown took {took:.1f} s"


async def test_a_client_that_stops_reading_for_good_is_dropped(engine_loader: Any, make_settings: Any,
                                                              monkeypatch: Any) -> None:
    """Connected but never reading again: after ``SEND_TIMEOUT`` without progress its connection is dropped."""
    from web import ws

    monkeypatch.setattr(ws, "SEND_TIMEOUT", 1.0)
    settings = make_settings(twitch=TwitchSettings(app_online_window=0))
    async with production_server(settings, engine_loader) as served:
        sv = served.app[STREAMVOICE]
        socket = await flood_without_reading(served.port)
        await socket.drain(timeout=3)
        await wait_for(lambda: not sv.presence.online, timeout=15)
        await wait_for(lambda: sv.events.subscriber_count == 0, timeout=15)
        socket.drop()
