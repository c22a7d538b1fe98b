"""A bilingual stream end to end: a real server, the tiny model, real espeak-ng / misaki G2P, real SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from core.language_settings import LanguageSettings
from tests import dbutil
from tests.helpers import wait_for
from tests.service.test_live_settings import write_settings
from tests.web.test_viewer_voices import say

SPANISH = "@streamer hola, qué buena jugada hiciste, no lo puedo creer hermano"
ENGLISH = "@streamer hey, that was such a good play, i cannot believe it"


def viewer_languages(settings: Any) -> dict[str, str]:
    connection = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    try:
        return dict(connection.execute("SELECT login, lang FROM viewer_languages").fetchall())
    finally:
        connection.close()


async def test_english_and_spanish_lines_in_one_queue_each_in_its_voice_and_rules(
        start_server: Any, make_settings: Any) -> None:
    settings = make_settings(languages=LanguageSettings(detect=True), voice="heart100",
                             voices={"heart": "af_heart"}, read_username_mentions=True)
    client = await start_server(settings)
    spanish = (await say(client, "ana", SPANISH))["id"]
    english = (await say(client, "bob", ENGLISH))["id"]
    link = (await say(client, "ana", "@streamer mira https://clips.twitch.tv/Abc jaja"))["id"]  # short: sticky?
    for row_id in (spanish, english, link):
        await wait_for(lambda row_id=row_id: dbutil.row(settings.database_url, row_id)["status"] == "ready",
                       timeout=120)
    rows = {r["id"]: r for r in dbutil.rows(settings.database_url)}
    assert (rows[spanish]["lang"], rows[spanish]["voice"]) == ("e", "ef_dora")
    assert rows[spanish]["spoken_text"].startswith("ana dice: hola")
    assert (rows[english]["lang"], rows[english]["voice"]) == ("a", "heart100")
    assert rows[english]["spoken_text"].startswith("bob says: hey")
    # one Spanish line is not enough to make ana's language stick: the short line falls back to lang_code
    assert rows[link]["lang"] == "a" and "link" in rows[link]["spoken_text"]
    queue = await (await client.get("/api/queue")).json()
    assert {item["id"]: item["lang"] for item in queue["items"]} == {spanish: "e", english: "a", link: "a"}
    audio = await client.get(f"/audio/{spanish}.wav")
    assert audio.status == 200 and len(await audio.read()) > 1000

    tried = await (await client.post("/api/try", json={"sent_by": "carl", "text": SPANISH})).json()
    assert (tried["lang"], tried["lang_source"], tried["voice"]) == ("e", "detected", "ef_dora")
    await say(client, "ana", SPANISH.replace("hermano", "amigo"))  # the second agreeing line: Spanish sticks
    tried = await (await client.post("/api/try", json={"sent_by": "ana", "text": "@streamer jaja"})).json()
    assert (tried["lang"], tried["lang_source"]) == ("e", "sticky")
    korean = await say(client, "kim", "@streamer 안녕하세요")
    assert korean["queued"] is False and korean["reason"] == "unsupported language"

    played = await (await client.post("/api/play")).json()  # the history shows the language too
    await client.post(f"/api/played/{played['playing']['id']}")
    history = await (await client.get("/api/history")).json()
    langs = {item["id"]: item["lang"] for item in history["items"]}
    assert langs[played["playing"]["id"]] == played["playing"]["lang"] == "e"  # the oldest: the Spanish line
    assert langs[korean["id"]] == "a"  # skipped lines keep the language they were judged in


async def test_lang_command_over_http_websocket_and_restart(start_server: Any, make_settings: Any) -> None:
    settings = make_settings(languages=LanguageSettings(detect=True, viewer_command=True), voice_command_cooldown=0)
    client = await start_server(settings)
    chosen = await say(client, "Ana", "!lang es")
    assert chosen == {"status": 200, "queued": False, "reason": "language command: e (es)"}
    assert viewer_languages(settings) == {"ana": "e"}
    line = (await say(client, "ana", ENGLISH))["id"]  # the viewer's choice beats detection
    assert (dbutil.row(settings.database_url, line)["lang"], dbutil.row(settings.database_url, line)["voice"]) == (
        "e", "ef_dora")
    tried = await (await client.post("/api/try", json={"sent_by": "ana", "text": ENGLISH})).json()
    assert tried["lang_source"] == "viewer"
    unknown = await say(client, "ana", "!lang klingon")
    assert unknown["queued"] is False and "unknown" in unknown["reason"]
    assert viewer_languages(settings) == {"ana": "e"}

    async with client.ws_connect("/api/ws") as socket:
        await socket.receive_json()  # the state snapshot
        await socket.send_json({"type": "message", "ref": 1, "sent_by": "bob", "text": "!lang french"})
        while (reply := await socket.receive_json(timeout=30)).get("ref") != 1:
            pass
        assert reply["type"] == "ack" and reply["result"] == {"queued": False, "reason": "language command: f (fr)"}
    assert viewer_languages(settings) == {"ana": "e", "bob": "f"}

    await client.close()  # kept in the database
    restarted = await start_server(settings)
    line = (await say(restarted, "ANA", ENGLISH))["id"]
    assert dbutil.row(settings.database_url, line)["lang"] == "e"
    await say(restarted, "ana", "!lang")  # back to automatic
    assert viewer_languages(settings) == {"bob": "f"}
    line = (await say(restarted, "ana", ENGLISH))["id"]
    assert dbutil.row(settings.database_url, line)["lang"] == "a"
    assert len(dbutil.rows(settings.database_url)) == 3  # commands are never stored


async def test_a_language_voice_whose_pack_is_missing_is_rejected_naming_the_key(
        start_server: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    path = tmp_path / "settings.yaml"
    write_settings(path, settings)
    client = await start_server(settings, path)

    async def engine_ready() -> bool:
        return str((await (await client.get("/api/health")).json())["engine"]).startswith("ready")

    await wait_for(engine_ready, timeout=60)
    write_settings(path, settings, languages={"detect": True, "voices": {
        "e": "em_santa", "f": "ff_siwis", "i": "if_sara", "p": "pf_dora"}})

    async def rejected() -> Any:
        return (await (await client.get("/api/health")).json())["settings"]["rejected"]

    problem = await wait_for(rejected, timeout=30)
    assert problem["key"] == "languages.voices.e" and "em_santa" in problem["problem"]
    write_settings(path, settings, languages={"detect": True, "voices": {
        "e": "em_alex", "f": "ff_siwis", "i": "if_sara", "p": "pf_dora"}})

    async def applied() -> bool:
        line = (await say(client, "ana", SPANISH))["id"]
        return dbutil.row(settings.database_url, line)["voice"] == "em_alex"

    await wait_for(applied, timeout=30)
