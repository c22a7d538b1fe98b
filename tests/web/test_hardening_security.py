"""Cross-site protection: foreign origins, non-JSON bodies and foreign Host headers are refused.

Real server on 127.0.0.1, real HTTP and WebSocket clients (and a raw socket where a browser's exact request
matters). A refused request changes nothing.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests import dbutil
from tests.web import rawhttp

MENTION = {"sent_by": "viewer", "text": "@streamer hello there"}
EVIL = "https://evil.example"


def _port(client: Any) -> int:
    return int(client.server.port)


async def test_no_cors_text_plain_post_from_another_site_is_refused(start_server: Any, make_settings: Any) -> None:
    """What ``fetch(url, {mode: "no-cors", method: "POST", body})`` from a foreign page sends."""
    settings = make_settings()
    client = await start_server(settings)
    body = b'{"sent_by": "viewer", "text": "@streamer pwned"}'
    answer = await rawhttp.request(_port(client), "POST", "/api/messages", body=body, headers={
        "Origin": EVIL, "Content-Type": "text/plain;charset=UTF-8", "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "no-cors"})
    assert answer.status == 403
    assert "origin" in answer.json()["error"]
    assert dbutil.rows(settings.database_url) == []


async def test_text_plain_body_is_refused_even_without_origin(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    response = await client.post("/api/messages", data=b'{"sent_by": "a", "text": "@streamer x"}',
                                 headers={"Content-Type": "text/plain"})
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]
    response = await client.put("/api/autoplay", data=b'{"enabled": true}',
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 415
    assert dbutil.rows(settings.database_url) == []


async def test_foreign_origin_cannot_clear_or_play(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    assert (await client.post("/api/messages", json=MENTION)).status == 202
    for path in ("/api/clear", "/api/play", "/api/stop"):
        response = await client.post(path, headers={"Origin": EVIL})
        assert response.status == 403, path
        assert response.content_type == "application/json"
    # a sandboxed iframe or a file:// page says "null"
    assert (await client.post("/api/clear", headers={"Origin": "null"})).status == 403
    # no Origin but the browser says the request is cross-site
    assert (await client.post("/api/clear", headers={"Sec-Fetch-Site": "cross-site"})).status == 403
    # a lookalike of our own origin on another port is foreign too
    assert (await client.post("/api/clear", headers={"Origin": f"http://127.0.0.1:{_port(client) + 1}"})).status == 403
    assert [row["is_deleted"] for row in dbutil.rows(settings.database_url)] == [0]


async def test_websocket_from_a_foreign_origin_is_refused(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/api/ws", headers={"Origin": EVIL})
    assert refused.value.status == 403


async def test_foreign_host_header_is_refused_for_http_and_websocket(start_server: Any, make_settings: Any) -> None:
    """DNS rebinding: evil.example resolves to 127.0.0.1, the browser then sends Host: evil.example."""
    settings = make_settings()
    client = await start_server(settings)
    port = _port(client)
    answer = await rawhttp.request(port, "POST", "/api/messages", body=b'{"sent_by": "a", "text": "@streamer x"}',
                                   headers={"Host": f"evil.example:{port}", "Content-Type": "application/json"})
    assert answer.status == 421
    assert "host" in answer.json()["error"].lower()
    answer = await rawhttp.request(port, "GET", "/api/queue", headers={"Host": "evil.example"})
    assert answer.status == 421
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/api/ws", headers={"Host": f"evil.example:{port}"})
    assert refused.value.status == 421
    assert dbutil.rows(settings.database_url) == []


async def test_same_origin_page_requests_and_websocket_are_allowed(start_server: Any, make_settings: Any) -> None:
    """What the dashboard (/) and the OBS overlay (/overlay) send from their own origin."""
    client = await start_server(make_settings())
    port = _port(client)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        headers = {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
        response = await client.post("/api/messages", json=MENTION, headers=headers)
        assert response.status == 202, await response.text()
        response = await client.put("/api/autoplay", json={"enabled": False},
                                    headers={**headers, "Content-Type": "application/json; charset=utf-8"})
        assert response.status == 200
        assert (await client.get("/api/queue", headers=headers)).status == 200
        socket = await client.ws_connect("/api/ws", headers=headers)
        assert (await socket.receive_json(timeout=10))["type"] == "state"
        await socket.close()
    # OBS / a browser opening a page directly: no Origin, Sec-Fetch-Site none
    response = await client.get("/openapi.yaml", headers={"Sec-Fetch-Site": "none", "Host": f"localhost:{port}"})
    assert response.status == 200
    # a link to the server from another site may open it (a GET navigation outside /api)
    response = await client.get("/openapi.yaml", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert response.status == 200


async def test_allowed_origins_and_hosts_let_a_web_app_in(start_server: Any, make_settings: Any) -> None:
    app_origin = "https://app.example:8443"
    client = await start_server(make_settings(allowed_origins=(app_origin,), allowed_hosts=("streamer-pc.lan",)))
    port = _port(client)
    preflight = await client.options("/api/messages", headers={
        "Origin": app_origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == app_origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = await client.post("/api/messages", json=MENTION, headers={"Origin": app_origin})
    assert response.status == 202
    assert response.headers["Access-Control-Allow-Origin"] == app_origin
    socket = await client.ws_connect("/api/ws", headers={"Origin": app_origin})
    assert (await socket.receive_json(timeout=10))["type"] == "state"
    await socket.close()
    # a preflight from a foreign origin gets no CORS grant
    refused = await client.options("/api/messages", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    response = await client.get("/api/queue", headers={"Host": f"streamer-pc.lan:{port}"})
    assert response.status == 200


def test_allowed_origins_and_hosts_settings_are_validated() -> None:
    from core.settings import SettingsError, build_settings

    settings = build_settings({"allowed_origins": ["https://App.example.com/"], "allowed_hosts": "pc.lan, *"})
    assert settings.allowed_origins == ("https://app.example.com",)
    assert settings.allowed_hosts == ("pc.lan", "*")
    for raw in ({"allowed_origins": ["app.example.com"]}, {"allowed_origins": ["https://a.example/path"]},
                {"allowed_hosts": ["http://pc.lan"]}, {"allowed_hosts": ["pc.lan:8765"]},
                {"allowed_origins": ["null"]}, {"allowed_origins": "https://app.example.com, NULL"}):
        with pytest.raises(SettingsError) as refused:
            build_settings(raw)
        assert refused.value.key in raw


def test_host_rules_for_each_kind_of_bind() -> None:
    from web.security import host_allowed, host_name

    assert host_name("[::1]:8765") == "::1" and host_name("LocalHost.:80") == "localhost"
    assert host_name("127.0.0.1") == "127.0.0.1"
    loopback = [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
                ("192.168.1.5", False), ("evil.example", False), ("localhost.evil.example", False)]
    for name, allowed in loopback:
        assert host_allowed(name, "127.0.0.1", ()) is allowed, name
    for name, allowed in [("192.168.1.5", True), ("10.0.0.7", True), ("localhost", True), ("pc.lan", False)]:
        assert host_allowed(name, "0.0.0.0", ()) is allowed, name
        assert host_allowed(name, "", ()) is allowed, name
    assert host_allowed("pc.lan", "0.0.0.0", ("pc.lan",))
    assert host_allowed("pc.lan", "pc.lan", ())
    assert host_allowed("anything.example", "127.0.0.1", ("*",))
    assert not host_allowed("10.0.0.8", "192.168.1.5", ())


async def test_our_pages_refuse_to_be_framed(engine_loader: Any, make_settings: Any) -> None:
    """Clickjacking: the dashboard and the overlay, as ``streamvoice`` serves them, forbid every frame."""
    from tests.web.production_server import production_server

    async with production_server(make_settings(), engine_loader) as served:
        for path in ("/", "/overlay"):
            answer = await rawhttp.request(served.port, "GET", path)
            assert answer.status == 200, path
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
            assert answer.headers["x-frame-options"] == "DENY", path


async def test_streamvoice_refuses_the_null_origin_at_start(tiny_model_dir: Any, tmp_path: Any) -> None:
    """``allowed_origins: ["null"]`` would open the API to every sandboxed iframe on any site: the command stops
    with one line naming the key instead of serving."""
    from tests.web import server_process as sp

    settings = sp.write_settings(tmp_path, tiny_model_dir, allowed_origins=["null"])
    process = sp.start(tmp_path, "--settings", str(settings))
    try:
        assert process.wait(60) != 0
    finally:
        sp.stop(process)
    output = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "allowed_origins" in output and "sandboxed iframe" in output, output
    assert "Traceback" not in output, output
