"""``GET /api/events`` (Server-Sent Events), read with a plain HTTP client against the real server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
import pytest

from tests import dbutil
from tests.helpers import app_of, wait_for
from web import sse
from web.keys import STREAMVOICE

TOKEN = "sse-token"


class EventReader:
    """Parses ``event:``/``data:`` blocks off a streamed response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.events: list[dict[str, Any]] = []

    async def next(self, timeout: float = 30.0) -> dict[str, Any]:
        kind = None
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), timeout)).decode()
            if line == "":
                raise EOFError("the stream ended")
            if line.startswith("event: "):
                kind = line[7:].strip()
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                assert event["type"] == kind
                self.events.append(event)
                return event

    async def until(self, kind: str, **fields: Any) -> dict[str, Any]:
        while True:
            event = await self.next()
            if event["type"] == kind and all(event.get(k) == v for k, v in fields.items()):
                return event


async def test_events_arrive_in_order_with_word_timings(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(api_token=TOKEN)
    client = await start_server(settings)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/api/events")).status == 401
    response = await client.get("/api/events", headers=headers)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    reader = EventReader(response)
    first = await client.post("/api/messages", headers=headers,
                              json={"sent_by": "viewer", "text": "@streamer hello there"})
    first_id = (await first.json())["id"]
    queued = await reader.next()
    assert queued["type"] == "queued" and queued["id"] == first_id and queued["source"] == "mention"
    await wait_for(lambda: dbutil.row(settings.database_url, first_id)["status"] == "ready", timeout=180)
    assert (await client.post("/api/play", headers=headers)).status == 200
    play = await reader.until("play", id=first_id)
    assert play["captions"]["words"] and play["audio_url"] == f"/audio/{first_id}.wav"
    assert (await client.post(f"/api/played/{first_id}", headers=headers)).status == 200
    await reader.until("ended", id=first_id)
    answer = await client.post("/api/messages", headers=headers,
                               json={"sent_by": "viewer2", "text": "@streamer and another one"})
    second_id = (await answer.json())["id"]
    await reader.until("queued", id=second_id)
    await wait_for(lambda: dbutil.row(settings.database_url, second_id)["status"] == "ready", timeout=180)
    assert (await client.post("/api/play", headers=headers)).status == 200
    await reader.until("play", id=second_id)
    assert (await client.post("/api/stop", headers=headers)).status == 200
    await reader.until("stop", id=second_id)
    kinds = [(e["type"], e["id"]) for e in reader.events]
    assert kinds == [("queued", first_id), ("play", first_id), ("ended", first_id), ("queued", second_id),
                     ("play", second_id), ("stop", second_id)]
    response.close()


async def test_a_client_that_stops_reading_is_dropped_and_a_stop_ends_every_stream(
        start_server: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "SEND_TIMEOUT", 1.0)
    client = await start_server(make_settings())
    hub = app_of(client)[STREAMVOICE].events
    baseline = hub.subscriber_count
    stalled, writer_socket = await asyncio.open_connection("127.0.0.1", client.port)
    writer_socket.write(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\n\r\n".encode())
    await writer_socket.drain()
    await wait_for(lambda: hub.subscriber_count == baseline + 1)
    filler = "x" * 4096
    for n in range(4000):  # ~16 MB the client never reads
        hub.publish({"type": "queued", "id": n, "text": filler})
        if n % 50 == 0:
            await asyncio.sleep(0)
        if hub.subscriber_count == baseline:
            break
    await wait_for(lambda: hub.subscriber_count == baseline, timeout=15)
    # and the server closed that connection (what it had buffered may still be read, then the end)
    with contextlib.suppress(ConnectionError):
        while await asyncio.wait_for(stalled.read(1 << 20), 15):
            pass
    writer_socket.close()

    healthy = await client.get("/api/events")
    reader = EventReader(healthy)
    await wait_for(lambda: hub.subscriber_count == baseline + 1)
    await hub.stop()  # what a server stop does first
    with pytest.raises(EOFError):
        while True:
            await reader.next(timeout=10)
