"""A stop (Ctrl-C, SIGTERM, the app's cleanup) is prompt at any point and leaves no row claimed.

The CLI side (real ``streamvoice`` processes and signals) is in tests/web/test_cli_lifecycle.py.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from tests import dbutil
from tests.helpers import app_of, wait_engine_ready, wait_for
from tts.engine import EngineConfig, KokoroEngine
from web.app import create_app
from web.keys import STREAMVOICE


async def test_stop_during_a_slow_model_load_does_not_wait_for_it(make_settings: Any, engine_loader: Any) -> None:
    settings = make_settings()
    load_began = threading.Event()
    release = threading.Event()

    def slow_loader(config: EngineConfig) -> KokoroEngine:
        load_began.set()
        release.wait(60)  # a download that would take a minute
        return engine_loader(config)  # type: ignore[no-any-return]

    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings, engine_loader=slow_loader),
                                                         host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.post("/api/messages", json={"sent_by": "v", "text": "@streamer while loading"})
        assert response.status == 202
        await wait_for(load_began.is_set)
        assert (await (await client.get("/api/health")).json())["engine"] == "loading"
        began = time.monotonic()
        await client.close()
        took = time.monotonic() - began
    finally:
        release.set()
        await client.close()
    print(f"app cleanup during the model load took {took:.2f} s")
    assert took < 5, f"the stop waited {took:.1f} s for the model load"
    assert [r["status"] for r in dbutil.rows(settings.database_url)] == ["pending"]


async def test_a_claim_in_flight_at_stop_is_released(start_server: Any, make_settings: Any) -> None:
    """The lane is cancelled while its claim is still running on the database thread: the claim commits
    after the lane is gone, so only the stop can put the row back."""
    settings = make_settings()
    client = await start_server(settings)
    sv = app_of(client)[STREAMVOICE]
    await wait_engine_ready(client, timeout=30)
    store = sv.db.store
    real_claim = store.claim_for_synthesis
    claiming = threading.Event()

    def slow_claim(*args: Any, **kwargs: Any) -> Any:
        claiming.set()
        time.sleep(1.0)  # a busy disk: the claim is still running when the stop begins
        return real_claim(*args, **kwargs)

    store.claim_for_synthesis = slow_claim  # type: ignore[method-assign]
    response = await client.post("/api/messages", json={"sent_by": "v", "text": "@streamer claimed at stop"})
    assert response.status == 202
    message_id = (await response.json())["id"]
    await wait_for(claiming.is_set)
    await client.close()
    row = dbutil.row(settings.database_url, message_id)
    assert row["status"] == "pending", row["status"]


async def test_renders_in_progress_stop_at_once_and_go_back_to_pending(start_server: Any, make_settings: Any,
                                                                       tmp_path: Path) -> None:
    settings = make_settings()
    client = await start_server(settings)
    sv = app_of(client)[STREAMVOICE]
    await wait_engine_ready(client, timeout=30)
    text = "@streamer " + "a long line that keeps a lane rendering for a good while. " * 5
    for n in range(6):
        assert (await client.post("/api/messages", json={"sent_by": f"v{n}", "text": text})).status == 202
    await wait_for(lambda: sv.worker._renders, interval=0.01)
    began = time.monotonic()
    await client.close()
    took = time.monotonic() - began
    print(f"app cleanup while rendering took {took:.2f} s")
    assert dbutil.rows(settings.database_url, "status = 'synthesizing'") == []
    assert took < 5, f"the stop waited {took:.1f} s for renders"
