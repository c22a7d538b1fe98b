"""The dashboard's pages and /api routes over HTTP: a real server, the tiny Kokoro model, a real SQLite file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import soundfile as sf

from tests import dbutil
from tests.helpers import wait_engine_ready, wait_for


async def _post(client: Any, user: str, text: str) -> int:
    response = await client.post("/api/messages", json={"sent_by": user, "text": text})
    assert response.status == 202, await response.text()
    return int((await response.json())["id"])


async def _queue_ids(client: Any, **params: Any) -> tuple[list[int], Any]:
    body = await (await client.get("/api/queue", params=params)).json()
    return [i["id"] for i in body["items"]], body


# --- pages ----------------------------------------------------------------------------------------------

async def test_pages_are_served_with_revalidation_headers(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings(api_token="s3cret"))  # pages need no token: they hold no secret
    for path, kind in (("/", "text/html"), ("/overlay", "text/html"), ("/static/dashboard.js", "text/javascript"),
                       ("/static/api.js", "text/javascript"), ("/static/dashboard.css", "text/css")):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == kind
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["ETag"] and response.headers["Last-Modified"]
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        again = await client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status == 304
    page = await (await client.get("/")).text()
    assert "s3cret" not in page and '<script type="module" src="/static/dashboard.js">' in page
    for bad in ("/static/nope.js", "/static/..%2Fpages.py", "/static/%2e%2e%2fapp.py"):
        response = await client.get(bad)
        assert response.status == 404 and "error" in await response.json()
    assert (await client.get("/api/history")).status == 401  # the API still needs it


# --- queue pages --------------------------------------------------------------------------------------

async def test_queue_pages_with_a_cursor_and_the_default_unchanged(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    ids = [await _post(client, f"v{n}", f"@streamer line {n}") for n in range(12)]
    await client.post("/api/bits", json={"sent_by": "rich", "text": "cheer", "bits_amount": 500})

    default = await (await client.get("/api/queue")).json()
    assert default["mode"] == "mentions" and [i["id"] for i in default["items"]] == ids

    first, body = await _queue_ids(client, queue="mentions", limit=5)
    assert first == ids[:5] and body["size"] == 12 and body["next_after"] == ids[4]
    second, body = await _queue_ids(client, queue="mentions", limit=5, after=body["next_after"])
    third, body = await _queue_ids(client, queue="mentions", limit=5, after=body["next_after"])
    assert second == ids[5:10] and third == ids[10:] and body["next_after"] is None
    bits, body = await _queue_ids(client, queue="bits")
    assert len(bits) == 1 and body["queue"] == "bits" and body["mode"] == "mentions"

    for params in ({"queue": "nope"}, {"limit": "0"}, {"limit": "501"}, {"after": "-1"}, {"limit": "²"}):
        response = await client.get("/api/queue", params=params)
        assert response.status == 422 and (await response.json())["field"] in params


# --- history and replay -------------------------------------------------------------------------------

async def test_history_filters_and_keyset_pages(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(banned_words=("badword",))
    client = await start_server(settings)
    for n in range(7):
        await _post(client, "alice" if n % 2 else "bob", f"@streamer <b>note</b> {n}")
    skipped = await client.post("/api/messages", json={"sent_by": "carol", "text": "@streamer badword here"})
    skipped_id = (await skipped.json())["id"]
    assert (await (await client.post("/api/clear")).json())["cleared"] == 7

    body = await (await client.get("/api/history", params={"limit": "3"})).json()
    assert [i["id"] for i in body["items"]] == [skipped_id, skipped_id - 1, skipped_id - 2]
    assert body["items"][0]["outcome"] == "skipped" and body["items"][0]["reason"] == "banned word"
    assert body["items"][0]["replayable"] is False
    assert body["items"][1]["outcome"] == "cleared" and body["items"][1]["replayable"] is True
    seen = [i["id"] for i in body["items"]]
    while body["next_before"] is not None:
        body = await (await client.get("/api/history", params={"limit": "3", "before": body["next_before"]})).json()
        seen += [i["id"] for i in body["items"]]
    assert seen == sorted(seen, reverse=True) and len(seen) == 8

    alice = await (await client.get("/api/history", params={"user": "ALI"})).json()
    assert {i["sent_by"] for i in alice["items"]} == {"alice"} and len(alice["items"]) == 3
    text = await (await client.get("/api/history", params={"q": "NOTE</b> 4"})).json()
    assert [i["text"] for i in text["items"]] == ["@streamer <b>note</b> 4"]
    percent = await (await client.get("/api/history", params={"q": "100%"})).json()
    assert percent["items"] == []  # LIKE wildcards are matched literally
    assert (await client.get("/api/history", params={"before": "x"})).status == 422


async def test_replay_requeues_a_copy_at_the_front_and_synthesises_it(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    first = await _post(client, "alice", "@streamer first")
    await wait_for(lambda: dbutil.row(settings.database_url, first)["status"] == "ready")
    assert (await client.post("/api/play")).status == 200
    assert (await client.post(f"/api/played/{first}")).status == 200
    waiting = [await _post(client, "bob", f"@streamer later {n}") for n in range(2)]

    live = await client.post(f"/api/messages/{waiting[0]}/replay")
    assert live.status == 409 and "still in the queue" in (await live.json())["error"]
    assert (await client.post("/api/messages/999999/replay")).status == 404
    assert (await client.post("/api/messages/abc/replay")).status == 404

    response = await client.post(f"/api/messages/{first}/replay")
    assert response.status == 202
    body = await response.json()
    assert body["replay_of"] == first and body["queue"] == "mentions"
    ids, _ = await _queue_ids(client, queue="mentions", limit=10)
    assert ids == [body["id"], *waiting]  # at the front
    copy = await wait_for(lambda: (r := dbutil.row(settings.database_url, body["id"]))["status"] == "ready" and r)
    assert copy["spoken_text"] == "first" and copy["replay_of"] == first and copy["audio_path"]
    assert dbutil.row(settings.database_url, first)["status"] == "played"  # the original stays in history
    play = await (await client.post("/api/play")).json()
    assert play["playing"]["id"] == body["id"]


# --- try a line ---------------------------------------------------------------------------------------

async def test_try_a_line_uses_the_real_rules_and_stores_nothing(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(per_user_cooldown=60.0, banned_words=("badword",), bits_min=100)
    client = await start_server(settings)

    async def attempt(body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post("/api/try", json=body)
        assert response.status == 200, await response.text()
        return dict(await response.json())

    spoken = await attempt({"sent_by": "viewer42", "text": "@streamer soooooo good https://x.io"})
    assert spoken == {"spoken": True, "spoken_text": "sooo good link", "queue": "mentions", "reason": None,
                      "source": "mention", "voice": settings.voice, "lang": "a", "lang_source": "default"}
    assert (await attempt({"sent_by": "v", "text": "no mention"}))["reason"] == "not a mention"
    banned = await attempt({"sent_by": "v", "text": "@streamer badword"})
    assert banned["spoken"] is False and banned["queue"] == "mentions" and banned["reason"] == "banned word"
    cheap = await attempt({"sent_by": "v", "text": "cheer", "bits_amount": 5})
    assert cheap["queue"] == "bits" and cheap["reason"].startswith("below bits_min")
    assert dbutil.rows(settings.database_url) == []

    # trying a line does not count as the chatter speaking (no cooldown afterwards); a real line does
    await _post(client, "viewer42", "@streamer now for real")
    cooled = await attempt({"sent_by": "viewer42", "text": "@streamer again"})
    assert cooled["spoken"] is False and cooled["reason"].startswith("per_user_cooldown")
    assert len(dbutil.rows(settings.database_url)) == 1

    bad = await client.post("/api/try", json={"sent_by": "v"})
    assert bad.status == 422 and (await bad.json())["field"] == "text"


async def test_try_audio_is_a_wav_not_stored(start_server: Any, make_settings: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    await wait_engine_ready(client)
    response = await client.post("/api/try/audio", json={"sent_by": "v", "text": "@streamer hello there"})
    assert response.status == 200 and response.content_type == "audio/wav"
    audio, rate = sf.read(io.BytesIO(await response.read()))
    assert rate == 24_000 and len(audio) > 0
    assert dbutil.rows(settings.database_url) == []
    refused = await client.post("/api/try/audio", json={"sent_by": "v", "text": "no mention"})
    assert refused.status == 409 and "not a mention" in (await refused.json())["error"]


async def test_try_audio_without_an_engine_is_503_json(start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    client = await start_server(make_settings(model_dir=str(tmp_path)))  # no weights there: engine unavailable
    response = await client.post("/api/try/audio", json={"sent_by": "v", "text": "@streamer hi"})
    assert response.status == 503 and "not ready" in (await response.json())["error"]
    page = await client.get("/")  # the pages still load
    assert page.status == 200


async def test_our_pages_do_not_count_as_the_app(start_server: Any, make_settings: Any) -> None:
    client = await start_server(make_settings())
    dashboard = await client.ws_connect("/api/ws?client=dashboard")
    overlay = await client.ws_connect("/api/ws?client=overlay")
    await client.put("/api/autoplay", json={"enabled": False}, headers={"X-StreamVoice-Client": "dashboard"})
    health = await (await client.get("/api/health")).json()
    assert health["ingest_source"] == "none"  # no App: the Twitch bot may read chat
    app = await client.ws_connect("/api/ws")
    assert (await (await client.get("/api/health")).json())["ingest_source"] == "app"
    for socket in (dashboard, overlay, app):
        await socket.close()
