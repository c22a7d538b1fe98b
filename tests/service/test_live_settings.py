"""settings.yaml edited on disk while a real server runs: live keys apply at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import dbutil
from tests.helpers import wait_for

pytestmark = pytest.mark.slow  # settings edits watched on disk while a server renders


def write_settings(path: Path, settings: Any, **changes: Any) -> None:
    values = {
        "username": settings.username, "model_dir": settings.model_dir, "audio_dir": settings.audio_dir,
        "database_url": settings.database_url, "device": "cpu", "voice": settings.voice,
        "autoplay_cooldown": settings.autoplay_cooldown, "emotes": [],
    }
    values.update(changes)
    temp = path.with_suffix(".tmp")
    temp.write_text(yaml.safe_dump(values), encoding="utf-8")
    temp.replace(path)  # how many editors save: write elsewhere, rename over


async def post(client: Any, user: str, text: str) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"sent_by": user, "text": text})
    return {"status": response.status, **(await response.json())}


async def test_username_and_controls_apply_without_restart(start_server: Any, make_settings: Any,
                                                           tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)
    assert (await post(client, "v", "@streamer hi"))["queued"] is True

    write_settings(path, settings, username="newname", ignored_users=["spammer"], max_message_chars=20)

    async def renamed() -> bool:
        return (await post(client, "v", "@newname are you there?"))["queued"] is True

    await wait_for(renamed, timeout=15)
    assert (await post(client, "v", "@streamer hi"))["queued"] is False
    assert (await post(client, "spammer", "@newname buy followers"))["reason"] == "ignored user"
    long = await post(client, "v", "@newname this is a much longer message than twenty characters")
    assert len(dbutil.row(settings.database_url, long["id"])["spoken_text"]) <= 20
    health = await (await client.get("/api/health")).json()
    assert health["settings"]["rejected"] is None


async def test_voice_change_applies_to_later_messages(start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)
    before = (await post(client, "v", "@streamer before the change"))["id"]
    await wait_for(lambda: dbutil.row(settings.database_url, before)["status"] == "ready")

    write_settings(path, settings, voice="heart100")

    async def revoiced() -> bool:
        message_id = (await post(client, "v", "@streamer after the change"))["id"]
        await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "ready")
        return dbutil.row(settings.database_url, message_id)["voice"] == "heart100"

    await wait_for(revoiced, timeout=20)
    assert dbutil.row(settings.database_url, before)["voice"] == "jared50_lex30_martha20"  # not re-voiced


async def test_rejected_edit_keeps_the_old_voice(start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)

    write_settings(path, settings, voice="jared70_lex70")  # 140 %: invalid

    async def rejected() -> dict[str, Any] | None:
        health = await (await client.get("/api/health")).json()
        return health["settings"]["rejected"]

    problem = await wait_for(rejected, timeout=15)
    assert problem["key"] == "voice" and "add up to 140" in problem["problem"]

    write_settings(path, settings, voice="jared50_lex50", voices={"jared": "am_adam", "lex": "zz_missing"})
    problem = await wait_for(lambda: _rejected_for(client, "zz_missing"), timeout=15)
    assert problem["key"] == "voice"

    message_id = (await post(client, "v", "@streamer still the old voice?"))["id"]
    await wait_for(lambda: dbutil.row(settings.database_url, message_id)["status"] == "ready")
    assert dbutil.row(settings.database_url, message_id)["voice"] == "jared50_lex30_martha20"

    write_settings(path, settings, username="streamer", voice="heart100")  # a good edit clears the flag
    await wait_for(lambda: _rejected_for(client, None), timeout=15)


async def _rejected_for(client: Any, needle: str | None) -> Any:
    health = await (await client.get("/api/health")).json()
    rejected = health["settings"]["rejected"]
    if needle is None:
        return rejected is None
    return rejected if rejected and needle in rejected["problem"] else None


async def test_trigger_mode_applies_live_and_a_bad_template_is_refused_naming_it(start_server: Any,
                                                                                  make_settings: Any,
                                                                                  tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)
    assert (await post(client, "v", "!tts hello"))["reason"] == "chat command"

    write_settings(path, settings, triggers={"mode": "command"})

    async def command_mode() -> bool:
        return (await post(client, "v", "!tts hello")).get("source") == "command"

    await wait_for(command_mode, timeout=15)

    write_settings(path, settings, triggers={"mode": "all"},
                   notifications={"templates": {"raid": "{user} raids with {raiders}"}})

    async def rejected() -> dict[str, Any] | None:
        status = (await (await client.get("/api/health")).json())["settings"]
        return status if status["rejected"] else None

    status = await wait_for(rejected, timeout=15)
    assert status["rejected"]["key"] == "notifications.templates.raid"
    assert "{raiders}" in status["rejected"]["problem"]
    # the whole edit is refused: the trigger mode stays as it was
    assert (await post(client, "w", "plain chat"))["reason"] == "not the !tts command"
