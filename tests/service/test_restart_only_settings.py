"""A live edit of a restart-only key waits for the restart; the live keys of the same edit apply at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.live_settings import LiveSettings
from tests.helpers import app_of, wait_for
from tests.service.test_live_settings import post, write_settings
from web.keys import SETTINGS, STREAMVOICE


async def test_restart_only_keys_keep_their_running_values(start_server: Any, make_settings: Any,
                                                           tmp_path: Path, caplog: Any) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)
    app = app_of(client)
    live: LiveSettings = app[SETTINGS]
    other_models = tmp_path / "other-models"
    other_models.mkdir()

    write_settings(path, settings, username="renamed", model_dir=str(other_models), port=9,
                   audio_dir=str(tmp_path / "elsewhere"))

    async def renamed() -> bool:
        return (await post(client, "v", "@renamed live key applied"))["queued"] is True

    await wait_for(renamed, timeout=15)
    assert live.current.username == "renamed"
    assert (live.current.model_dir, live.current.port, live.current.audio_dir) == (
        settings.model_dir, settings.port, settings.audio_dir)
    # what the engine's 30 s load retry reads
    assert app[STREAMVOICE].engine_config().model_dir == settings.model_dir
    health = await (await client.get("/api/health")).json()
    assert health["settings"]["restart_pending"] == ["port", "audio_dir", "model_dir"]
    assert health["settings"]["rejected"] is None
    assert "kept at the running values until a restart" in caplog.text

    write_settings(path, settings, username="renamed")  # the restart-only keys back as they run

    async def nothing_pending() -> bool:
        body = await (await client.get("/api/health")).json()
        return body["settings"]["restart_pending"] is None

    await wait_for(nothing_pending, timeout=15)
    assert live.current.username == "renamed"
