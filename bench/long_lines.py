"""Section 6 of bench/run.py, "long lines speak sooner", end to end on a real server.

For each ~300-character mention (several sentences, from bench/texts.txt) and its first sentence posted
alone as a mention of its own, on an idle server with autoplay on and a player on the WebSocket:

- **first audio**: POST -> the ``play`` frame -> ``GET audio_url`` -> the first audio sample bytes received
  (after the 44-byte header): the moment a player can start hearing it;
- **whole**: POST -> the WAV file on disk (before streaming, a long line was playable only then).

The pair alternates (first sentence alone, then the long line), each posted only when the server is idle
again, so both see the same machine. Ratio = long line's first audio / first sentence's first audio
(goal <= 1.2); the whole-line ratio is what it was without streaming.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from bench.common import median
from bench.engines import first_sentence, long_lines
from bench.server import USERNAME, ServerProcess


class Player:
    """A player on the WebSocket that plays nothing: it reads ``play`` frames and reports ``ended``."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.plays: dict[int, tuple[float, dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if frame.get("type") == "play":
                self.plays[int(frame["id"])] = (time.perf_counter(), frame)
                self._changed.set()

    async def wait_play(self, message_id: int, timeout: float) -> tuple[float, dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while message_id not in self.plays:
                self._changed.clear()
                await self._changed.wait()
        return self.plays[message_id]

    async def ended(self, message_id: int) -> None:
        await self.socket.send_json({"type": "ended", "id": message_id})

    async def close(self) -> None:
        self._reader.cancel()
        await self.socket.close()


async def _one(server: ServerProcess, session: aiohttp.ClientSession, player: Player, text: str, tag: str,
               timeout: float) -> dict[str, Any]:
    began = time.perf_counter()
    async with session.post(f"{server.base_url}/api/messages",
                            json={"sent_by": tag, "text": f"@{USERNAME} {text}"}) as response:
        message_id = int((await response.json())["id"])
    played_at, frame = await player.wait_play(message_id, timeout)
    first_audio = None
    async with session.get(server.base_url + frame["audio_url"]) as audio:
        received = 0
        async for block in audio.content.iter_any():
            received += len(block)
            if first_audio is None and received > 44:
                first_audio = time.perf_counter()
    deadline = time.perf_counter() + timeout
    while not server.wav(message_id).exists():  # the whole line rendered (a streamed one may still be at it)
        if time.perf_counter() > deadline:
            raise RuntimeError(f"message {message_id}: no WAV within {timeout:.0f}s")
        await asyncio.sleep(0.005)
    whole = time.perf_counter()
    await player.ended(message_id)
    assert first_audio is not None
    return {"id": message_id, "chars": len(text), "streaming": bool(frame.get("streaming")),
            "play_frame_s": played_at - began, "first_audio_s": first_audio - began, "whole_s": whole - began}


async def section_long_lines(server: ServerProcess, texts: list[str], count: int,
                             timeout: float = 600.0) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}/api/resume") as response:  # autoplay on, a run waiting
            response.raise_for_status()
        player = Player(await session.ws_connect(f"{server.base_url}/api/ws"))
        try:
            # warm-up (not counted): the first renders after a start create oneDNN's kernels for new shapes
            for n, line in enumerate(long_lines(texts[::-1], 1)):
                await _one(server, session, player, line, f"warmup{n}", timeout)
                await asyncio.sleep(0.5)
            for n, line in enumerate(long_lines(texts, count)):
                alone = await _one(server, session, player, first_sentence(line), f"alone{n}", timeout)
                await asyncio.sleep(0.5)  # the autoplay cooldown passes; the server is idle again
                long = await _one(server, session, player, line, f"long{n}", timeout)
                await asyncio.sleep(0.5)
                rows.append({"first_sentence": alone, "long": long,
                             "ratio_first_audio": long["first_audio_s"] / alone["first_audio_s"],
                             "ratio_whole": long["whole_s"] / alone["first_audio_s"]})
        finally:
            await player.close()
    return {
        "lines": rows,
        "median_first_sentence_s": median([r["first_sentence"]["first_audio_s"] for r in rows]),
        "median_long_first_audio_s": median([r["long"]["first_audio_s"] for r in rows]),
        "median_long_whole_s": median([r["long"]["whole_s"] for r in rows]),
        "median_ratio_first_audio": median([r["ratio_first_audio"] for r in rows]),
        "median_ratio_whole": median([r["ratio_whole"] for r in rows]),
        "max_ratio_first_audio": max(r["ratio_first_audio"] for r in rows),
    }
