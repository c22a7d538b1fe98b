"""Word timings served: ``GET /api/items/{id}/captions`` and the WebSocket ``play`` frame (docs/captions.md)."""

from __future__ import annotations

from typing import Any

from tests import dbutil
from tests.helpers import wait_for
from tests.players import Player


async def test_captions_route_and_play_frame_carry_the_same_timings(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    player = await Player.connect(client)
    response = await client.post("/api/messages",
                                 json={"sent_by": "viewer", "text": "@streamer that was a great play!"})
    message_id = (await response.json())["id"]

    before = await client.get(f"/api/items/{message_id}/captions")  # may still be pending: then 404 JSON
    assert before.status in {200, 404} and "application/json" in before.headers["Content-Type"]
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "ready")

    response = await client.get(f"/api/items/{message_id}/captions")
    assert response.status == 200
    captions = await response.json()
    assert captions["id"] == message_id and captions["source"] == "tokens"
    assert [w["text"] for w in captions["words"]] == ["that", "was", "a", "great", "play!"]
    assert captions["duration"] == round(dbutil.row(settings.database_url, message_id)["duration_s"], 3)
    ends = [0.0] + [w["end"] for w in captions["words"]]
    assert all(e0 <= w["start"] <= w["end"] <= captions["duration"]
               for e0, w in zip(ends, captions["words"], strict=False))

    await player.command("play")
    play = await player.wait_type("play", id=message_id)
    assert play["captions"] == {k: v for k, v in captions.items() if k != "id"}


async def test_unknown_item_has_no_captions(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    for path in ("/api/items/999999/captions", "/api/items/abc/captions", "/api/items/0/captions"):
        response = await client.get(path)
        assert response.status == 404 and "error" in await response.json()
