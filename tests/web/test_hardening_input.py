"""Hostile input: every error leaves as a JSON 4xx, nothing is stored, sockets stay open."""

from __future__ import annotations

from typing import Any

import soundfile as sf

from tests import dbutil
from tests.helpers import wait_for
from tests.web import rawhttp

DEEP = b"[" * 20_000 + b"]" * 20_000
HUGE_NUMBER = b"9" * 5_000


async def _json_error(response: Any, status: int) -> str:
    assert response.status == status, (response.status, await response.text())
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


async def test_hostile_bodies_get_a_json_400_and_store_nothing(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    bodies = [
        DEEP,
        b'{"sent_by": "a", "text": "@streamer x", "n": ' + DEEP + b"}",
        b'{"sent_by": "a", "text": "@streamer x", "n": ' + HUGE_NUMBER + b"}",
        b'{"sent_by": "a", "text": "@streamer x", "n": NaN}',
        b"\xff\xfe not utf-8",
    ]
    for body in bodies:
        for path in ("/api/messages", "/api/bits"):
            response = await client.post(path, data=body, headers={"Content-Type": "application/json"})
            await _json_error(response, 400)
    response = await client.post("/api/bits", data=b'{"sent_by": "a", "text": "x", "bits_amount": ' + HUGE_NUMBER
                                 + b"}", headers={"Content-Type": "application/json"})
    await _json_error(response, 400)
    response = await client.put("/api/mode", data=DEEP, headers={"Content-Type": "application/json"})
    await _json_error(response, 400)
    for query in (f"limit={HUGE_NUMBER.decode()}", "limit=%C2%B2", f"after={HUGE_NUMBER.decode()}"):
        await _json_error(await client.get(f"/api/queue?{query}"), 422)
    await _json_error(await client.get(f"/api/history?before={HUGE_NUMBER.decode()}"), 422)
    response = await client.post("/api/messages", data=b'{"sent_by": "a", "text": "@streamer x"}',
                                 headers={"Content-Type": "application/json; charset=no-such-charset"})
    await _json_error(response, 415)
    assert dbutil.rows(settings.database_url) == []
    assert (await client.get("/api/health")).status == 200


async def test_path_ids_are_ascii_digits_within_bounds(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    accepted = await (await client.post("/api/messages", json={"sent_by": "a", "text": "@streamer hello"})).json()

    async def ready() -> bool:
        items = (await (await client.get("/api/queue")).json())["items"]
        return any(i["id"] == accepted["id"] and i["status"] == "ready" for i in items)

    await wait_for(ready)
    assert (await client.get(f"/audio/{accepted['id']}.wav")).status == 200
    port = int(client.server.port)
    # ² (superscript two), ١ (Arabic-Indic one): str.isdigit() says yes; int() refuses ² and reads ١ as 1
    for raw in ("99999999999999999999", "%C2%B2", "%D9%A1", "-1", "0", "1e3", "%EF%BC%91"):
        answer = await rawhttp.request(port, "GET", f"/audio/{raw}.wav")
        assert answer.status == 404, raw
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["error"]
    for raw in ("99999999999999999999", "%C2%B2", "%D9%A1", "0"):
        answer = await rawhttp.request(port, "POST", f"/api/played/{raw}")
        assert answer.status == 422, (raw, answer.body)
        assert answer.json()["field"] == "id"
    # the item itself is untouched
    path = f"/audio/{accepted['id']}.wav"
    data, rate = sf.read(rawhttp_body_file(await rawhttp.request(port, "GET", path)))
    assert rate == 24000 and len(data) > 0


def rawhttp_body_file(answer: rawhttp.RawResponse) -> Any:
    import io

    assert answer.status == 200
    return io.BytesIO(answer.body)


async def test_non_ascii_authorization_header_is_a_401(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings(api_token="s3cret-token"))
    port = int(client.server.port)
    for value in ("Bearer s3crét", "Bearer \udcff\udcfe", "Bearer 秘密"):
        answer = await rawhttp.request(port, "GET", "/api/queue", headers={"Authorization": value})
        assert answer.status == 401, (value, answer.body)
        assert answer.json()["error"]
    answer = await rawhttp.request(port, "GET", "/api/queue?token=%FF%FE")
    assert answer.status == 401
    answer = await rawhttp.request(port, "GET", "/api/queue", headers={"Authorization": "Bearer s3cret-token"})
    assert answer.status == 200


async def test_405_keeps_its_allow_header_and_is_json(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    response = await client.delete("/api/messages")
    await _json_error(response, 405)
    assert "POST" in response.headers["Allow"]
    response = await client.get("/api/nothing-here")
    await _json_error(response, 404)


async def test_malformed_websocket_frames_never_close_the_socket(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    socket = await client.ws_connect("/api/ws")
    assert (await socket.receive_json(timeout=10))["type"] == "state"

    async def reply() -> dict[str, Any]:
        while True:
            frame = await socket.receive_json(timeout=10)
            if frame["type"] in {"ack", "error"}:
                return dict(frame)

    hostile = [
        DEEP.decode(),
        '{"type": "message", "sent_by": "a", "text": "@streamer x", "n": ' + HUGE_NUMBER.decode() + "}",
        '{"type": "message", "sent_by": "a", "text": "@streamer x", "n": ' + DEEP.decode() + "}",
        '{"type": "ended", "id": 99999999999999999999999}',
        '{"type": "ended", "id": "²"}',
        '{"type": "ended", "id": "١"}',
        '{"type": "play", "ref": ' + '{"a":' * 500 + "1" + "}" * 500 + "}",
        "[1, 2",
        "null",
    ]
    for frame in hostile:
        await socket.send_str(frame)
        answer = await reply()
        assert answer["type"] == "error", (frame[:80], answer)
    await socket.send_bytes(b"\x00\x01")
    assert (await reply())["type"] == "error"
    await socket.send_json({"type": "message", "ref": 7, "sent_by": "a", "text": "@streamer still here"})
    answer = await reply()
    assert answer["type"] == "ack" and answer["ref"] == 7 and answer["status"] == 202
    assert not socket.closed
    await socket.close()
    assert len(dbutil.rows(settings.database_url)) == 1
