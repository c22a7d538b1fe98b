"""The HTTP API against a real server on 127.0.0.1, with the tiny real Kokoro model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import soundfile as sf

from tests import dbutil
from tests.helpers import wait_engine_ready, wait_for


def _row(db_url: str, message_id: int) -> dict[str, Any]:
    return dbutil.row(db_url, message_id)


def _count_rows(db_url: str) -> int:
    return len(dbutil.rows(db_url))


async def _ready(client: Any, message_id: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await (await client.get("/api/queue")).json()
        return next((i for i in body["items"] if i["id"] == message_id and i["status"] == "ready"), None)

    return await wait_for(check)


async def test_mention_becomes_a_wav_on_disk_with_metadata(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    response = await client.post("/api/messages", json={"sent_by": "viewer1", "text": "hello @Streamer, nice play"})
    assert response.status == 202
    body = await response.json()
    assert body["queued"] is True and body["queue"] == "mentions"
    # committed before the answer: the row is already in the SQLite file
    assert _row(settings.database_url, body["id"])["status"] in {"pending", "synthesizing", "ready"}

    item = await _ready(client, body["id"])
    row = _row(settings.database_url, body["id"])
    assert row["status"] == "ready" and row["audio_path"] and row["duration_s"] > 0
    data, rate = sf.read(row["audio_path"])
    info = sf.info(row["audio_path"])
    assert rate == 24_000 and info.channels == 1 and info.subtype == "PCM_16"
    assert abs(len(data) / rate - row["duration_s"]) < 0.01
    assert row["audio_bytes"] == Path(row["audio_path"]).stat().st_size

    wav = await client.get(item["audio_url"])
    assert wav.status == 200 and wav.headers["Content-Type"] == "audio/wav"
    assert (await wav.read()) == Path(row["audio_path"]).read_bytes()


async def test_non_mention_is_not_stored(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    for text in ("streamer is great", "mail me at fan@streamer.tv", "hi @streamer_fan"):
        response = await client.post("/api/messages", json={"sent_by": "v", "text": text})
        assert response.status == 200
        assert (await response.json()) == {"queued": False, "reason": "not a mention"}
    assert _count_rows(settings.database_url) == 0


async def test_bits_join_the_bits_queue_whatever_the_mode(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    response = await client.post("/api/bits", json={"sent_by": "cheerer", "text": "take my bits", "bits_amount": 100})
    assert response.status == 202
    body = await response.json()
    assert body["queue"] == "bits"
    row = _row(settings.database_url, body["id"])
    assert row["queue"] == "bits" and row["bits_amount"] == 100 and row["source"] == "app_http"
    queue = await (await client.get("/api/queue")).json()
    assert queue["mode"] == "mentions" and queue["size"] == 0  # the active queue is mentions


async def test_bad_input_is_refused_and_nothing_is_stored(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(max_input_chars=50)
    client = await start_server(settings)
    cases: list[tuple[str, Any, int, str | None]] = [
        ("/api/messages", "not json", 400, None),
        ("/api/messages", [1, 2], 400, None),
        ("/api/messages", {"text": "@streamer hi"}, 422, "sent_by"),
        ("/api/messages", {"sent_by": "v"}, 422, "text"),
        ("/api/messages", {"sent_by": 5, "text": "@streamer hi"}, 422, "sent_by"),
        ("/api/messages", {"sent_by": "v", "text": "   "}, 422, "text"),
        ("/api/messages", {"sent_by": "v", "text": "@streamer " + "a" * 60}, 422, "text"),
        ("/api/bits", {"sent_by": "v", "text": "hi", "bits_amount": 0}, 422, "bits_amount"),
        ("/api/bits", {"sent_by": "v", "text": "hi", "bits_amount": -5}, 422, "bits_amount"),
        ("/api/bits", {"sent_by": "v", "text": "hi", "bits_amount": "100"}, 422, "bits_amount"),
        ("/api/bits", {"sent_by": "v", "text": "hi", "bits_amount": 1.5}, 422, "bits_amount"),
        ("/api/bits", {"sent_by": "v", "text": "hi", "bits_amount": True}, 422, "bits_amount"),
        ("/api/bits", {"sent_by": "v", "text": "hi"}, 422, "bits_amount"),
    ]
    for path, body, status, field in cases:
        if isinstance(body, str):
            response = await client.post(path, data=body, headers={"Content-Type": "application/json"})
        else:
            response = await client.post(path, json=body)
        assert response.status == status, (path, body, await response.text())
        error = await response.json()
        assert error["error"]
        assert error.get("field") == field
    too_big = await client.post("/api/messages", data=b"x" * (70 * 1024))
    assert too_big.status == 413 and "error" in await too_big.json()
    assert _count_rows(settings.database_url) == 0


async def test_unknown_fields_are_ignored(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    response = await client.post("/api/messages", json={"sent_by": "v", "text": "@streamer yo", "color": "red"})
    assert response.status == 202


async def test_audio_route_404s(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    assert (await client.get("/audio/999.wav")).status == 404
    assert (await client.get("/audio/abc.wav")).status == 404
    assert (await client.get("/nothing-here")).status == 404


async def test_api_token(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings(api_token="s3cret"))
    assert (await client.get("/api/queue")).status == 401
    assert (await client.get("/api/queue", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/api/queue", headers={"Authorization": "Bearer s3cret"})).status == 200
    assert (await client.get("/api/queue", params={"token": "s3cret"})).status == 200
    refused = await client.post("/api/messages", json={"sent_by": "v", "text": "@streamer hi"})
    assert refused.status == 401


async def test_health_reports_engine_and_counts(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    health = await wait_engine_ready(client, timeout=30)
    assert health["db"] == "ok" and health["engine"] == "ready on cpu"
    assert set(health["queues"]) == {"mentions", "bits"}


async def test_engine_unavailable_still_accepts_and_stores(start_server: Any, make_settings: Any,
                                                           tmp_path: Path) -> None:
    settings = make_settings(model_dir=str(tmp_path / "no-weights-here"))
    client = await start_server(settings)

    async def unavailable() -> dict[str, Any] | None:
        health = await (await client.get("/api/health")).json()
        return health if health["engine"].startswith("unavailable:") else None

    health = await wait_for(unavailable)
    assert "no config.json" in health["engine"]
    response = await client.post("/api/messages", json={"sent_by": "v", "text": "@streamer still here?"})
    assert response.status == 202
    row = _row(settings.database_url, (await response.json())["id"])
    assert row["status"] == "pending"


async def test_pending_messages_survive_a_restart(start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    broken = make_settings(model_dir=str(tmp_path / "missing"))
    first = await start_server(broken)
    ids = []
    for n in range(3):
        response = await first.post("/api/messages", json={"sent_by": f"v{n}", "text": f"@streamer message {n}"})
        ids.append((await response.json())["id"])
    await first.close()

    second = await start_server(make_settings())
    for message_id in ids:
        await _ready(second, message_id)
    assert all(_row(broken.database_url, i)["status"] == "ready" for i in ids)


async def test_openapi_lists_every_route(start_server: Any, make_settings: Any) -> None:
    import yaml

    client = await start_server(make_settings())
    spec = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = set()
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD" and path:
            served.add((path, route.method))
    assert served == documented
