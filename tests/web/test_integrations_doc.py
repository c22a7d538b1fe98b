"""docs/integrations.md does what it says: every request it prints (each ```http block, and the SDK example) is
sent to a real server with the tools' variables replaced by sample text, in the page's order, and does its job."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from yarl import URL

from tests import dbutil
from tests.helpers import app_of, wait_for
from tests.players import Player
from tests.web.test_openai_speech import model_with_openai_voices  # noqa: F401  (fixture)
from web.keys import STREAMVOICE

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
TOKEN = "integrations-token"
#: What each tool puts in place of its variables (URL-encoded where the tool encodes, as the page says).
SAMPLES = {
    "%rawInputUrlEncoded%": "hello%20from%20streamer%20bot%21",
    "%user%": "sb_viewer",
    "$allargs": "hello from mix it up",
    "$username": "tool_viewer",
    "$chatMessage": "@streamer hello from firebot",
    "TEXT": "hello from sammi",
    "YOUR_TOKEN": TOKEN,
}


def http_blocks() -> list[tuple[str, str, dict[str, str], str]]:
    """(method, url, headers, body) of every ```http block, in page order."""
    blocks = []
    for block in re.findall(r"```http\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL):
        head, _, body = block.partition("\n\n")
        request_line, *header_lines = head.strip().splitlines()
        method, url = request_line.split(" ", 1)
        headers = dict(line.split(": ", 1) for line in header_lines)
        blocks.append((method, url, headers, body.strip()))
    return blocks


def fill(text: str, base: str) -> str:
    for name, value in SAMPLES.items():
        text = text.replace(name, value)
    return text.replace("http://127.0.0.1:8765", base)


def test_the_page_prints_a_request_for_every_tool() -> None:
    text = DOC.read_text(encoding="utf-8")
    for tool in ("Streamer.bot", "Mix It Up", "Firebot: HTTP Request → Play Sound", "Firebot: HTTP Request → POST",
                 "SAMMI", "Stream Deck", "Open WebUI"):
        assert f"## {tool}" in text
    paths = {URL(url).path for _, url, _, _ in http_blocks()}
    assert {"/api/speak", "/api/control/skip", "/api/control/replay_last", "/audio/latest.wav", "/api/messages",
            "/v1/audio/speech", "/v1/audio/voices", "/v1/audio/models"} <= paths


async def _prepare(client: Any, settings: Any, path: str) -> None:
    """The state a button needs to do its job: something ready to PLAY."""
    if path == "/api/control/play":
        sv = app_of(client)[STREAMVOICE]

        async def ready() -> bool:
            view = await sv.queue_view()
            return view["ready"] > 0 and sv.playback.current is None

        await wait_for(ready, timeout=120)


async def test_every_request_on_the_page_works(start_server: Any, make_settings: Any,
                                               model_with_openai_voices: Path,  # noqa: F811
                                               tmp_path: Path) -> None:
    settings = make_settings(api_token=TOKEN)
    client = await start_server(settings)
    base = str(client.make_url("")).rstrip("/")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    await wait_for(lambda: app_of(client)[STREAMVOICE].worker.engine is not None, timeout=180)
    # something has played, so "the latest WAV" exists
    player = await Player.connect(client, token=TOKEN)
    first = await client.post("/api/messages", json={"sent_by": "v", "text": "@streamer first"}, headers=auth)
    first_id = (await first.json())["id"]
    await wait_for(lambda: dbutil.row(settings.database_url, first_id)["status"] == "ready", timeout=120)
    await player.command("play")
    await player.wait_type("play", id=first_id)
    await player.command("ended", id=first_id)

    done = []
    for method, url, headers, body in http_blocks():
        target = URL(fill(url, base), encoded="%" in fill(url, base).split("?", 1)[-1])
        await _prepare(client, settings, target.path)
        filled = {name: fill(value, base) for name, value in headers.items()}
        response = await client.session.request(method, target, headers=filled,
                                                data=fill(body, base).encode() if body else None)
        data = await response.read()
        assert response.status < 300, (method, url, response.status, data[:300])
        path = target.path
        if path == "/api/speak":
            answer = await response.json()
            assert answer["queued"] is True, answer
            assert dbutil.row(settings.database_url, answer["id"])["origin"] == "api"
        elif path == "/api/messages":
            assert response.status == 202 and (await response.json())["queued"] is True
        elif path in {"/v1/audio/speech", "/audio/latest.wav"}:
            kind = response.headers["Content-Type"]
            audio, rate = sf.read(io.BytesIO(data))
            assert rate == 24_000 and audio.size > 0, kind
        elif path == "/v1/audio/voices":
            assert {"id": "nova", "name": "nova"} in (await response.json())["voices"]
        elif path == "/v1/audio/models":
            assert {"id": "kokoro"} in (await response.json())["models"]
        done.append(path)
    assert len(done) == len(http_blocks())
    await player.close()


async def test_the_sdk_example_runs(start_server: Any, make_settings: Any, model_with_openai_voices: Path,  # noqa: F811
                                    tmp_path: Path) -> None:
    client = await start_server(make_settings(api_token=TOKEN))
    await wait_for(lambda: app_of(client)[STREAMVOICE].worker.engine is not None, timeout=180)
    example = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert example is not None
    target = tmp_path / "hello.mp3"
    code = fill(example.group(1), str(client.make_url("")).rstrip("/")).replace('"hello.mp3"', repr(str(target)))
    await asyncio.to_thread(exec, code, {})  # the synchronous SDK, as the page shows it
    audio, rate = sf.read(target)
    assert rate == 24_000 and audio.size > 0


@pytest.mark.parametrize("name", ["play", "stop", "skip", "pause", "resume", "clear", "replay_last"])
def test_every_control_the_page_names_exists(name: str) -> None:
    from web.controls import CONTROLS

    assert name in CONTROLS and f"`{name}`" in DOC.read_text(encoding="utf-8")
