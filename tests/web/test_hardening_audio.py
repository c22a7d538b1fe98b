"""``/audio/{id}.wav`` against hostile and careless readers, on the server as ``streamvoice`` runs it.

``/audio`` needs no token, so whoever can reach the port can open it. Readers that stop reading (a tiny
receive window, never drained) must lose their connection after ``SEND_TIMEOUT`` instead of holding the
connection cap for ever, for a finished file and for a WAV that still grows; one remote address may not take
the whole cap; a HEAD gets no body; a player that goes away mid-stream is normal, not an ERROR.
The limits are shortened for the test (same code path, smaller numbers) so it stays fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests import dbutil
from tests.helpers import SharedEngineLoader, wait_for
from tests.players import Player
from tests.web import rawhttp
from tests.web.production_server import Served, production_server
from tests.web.test_long_lines import LONG, GatedEngine
from tests.web.test_playback import mention
from tts.engine import EngineConfig
from tts.wav import write_wav_atomic
from web import limits, serve
from web.keys import STREAMVOICE

SEND_TIMEOUT = 1.0
CAP = 8


@dataclass
class Streaming:
    served: Served
    session: aiohttp.ClientSession
    engine: GatedEngine
    message_id: int

    @property
    def path(self) -> str:
        return f"/audio/{self.message_id}.wav"


def _session(served: Served) -> aiohttp.ClientSession:
    """A client that keeps no idle connection open (it would hold one of the capped slots)."""
    return aiohttp.ClientSession(base_url=served.url, connector=aiohttp.TCPConnector(force_close=True))


def _connections(served: Served) -> int:
    server = served.runner.server
    assert server is not None
    return len(server.connections)


@asynccontextmanager
async def streaming_line(make_settings: Any, engine_loader: SharedEngineLoader, **limits_: Any
                         ) -> AsyncIterator[Streaming]:
    """A production server playing a long line whose render is held after its first sentence (a growing WAV)."""
    engines: list[GatedEngine] = []

    def load(config: EngineConfig) -> Any:
        if not engines:
            engines.append(GatedEngine(engine_loader(config)))
        return engines[0]

    async with production_server(make_settings(), load, **limits_) as served, \
            _session(served) as session:
        await wait_for(lambda: engines, timeout=180)
        engine = engines[0]
        player = await Player.connect(session)
        try:
            message_id = await mention(session, LONG)
            assert (await player.command("play"))["type"] == "ack"
            await player.wait_type("play", id=message_id)
            yield Streaming(served, session, engine, message_id)
        finally:
            engine.gate.set()
            await player.socket.close()


async def _stalled_reader(port: int, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that sends ``request`` and then never reads (its receive window fills and stays full)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1024)
    writer.transport.pause_reading()
    writer.write(request)
    await writer.drain()
    return reader, writer


async def _status(url: str, path: str = "/api/health") -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{url}{path}") as response:
        await response.read()
        return response.status


async def _gets_in_within(url: str, seconds: float) -> float:
    """Seconds until a new client is served (200) again; fails after ``seconds``."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while await _status(url) != 200:
        assert loop.time() - began < seconds, "new clients still locked out"
        await asyncio.sleep(0.1)
    return loop.time() - began


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def _close(clients: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    for _, writer in clients:
        writer.transport.abort()


async def test_readers_that_stop_reading_a_file_cannot_lock_everyone_out(
        engine_loader: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "SEND_TIMEOUT", SEND_TIMEOUT)
    settings = make_settings()
    async with production_server(settings, engine_loader, max_connections=CAP) as served, \
            _session(served) as session:
        message_id = await mention(session, "a line for everyone to fetch")
        row = await wait_for(lambda: (r := dbutil.row(settings.database_url, message_id))["status"] == "ready" and r,
                             timeout=60)
        # what a three-minute line weighs (8.6 MB): far more than socket buffers hold, as for a real long line
        write_wav_atomic(Path(row["audio_path"]), np.zeros(24_000 * 180, dtype=np.float32))
        pipelined = f"GET /audio/{message_id}.wav HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() * 20
        await wait_for(lambda: _connections(served) == 0)
        stalled = [await _stalled_reader(served.port, pipelined) for _ in range(CAP)]
        try:
            await wait_for(lambda: _connections(served) == CAP)
            assert await _status(served.url) == 503  # the cap is taken...
            await _gets_in_within(served.url, SEND_TIMEOUT + 10)  # ...and freed once the sends stall
            assert await _status(served.url, f"/audio/{message_id}.wav") == 200
        finally:
            _close(stalled)


async def test_readers_that_stop_reading_a_growing_wav_cannot_lock_everyone_out(
        engine_loader: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(limits, "SEND_TIMEOUT", SEND_TIMEOUT)
    async with streaming_line(make_settings, engine_loader, max_connections=CAP) as line:
        stream = line.served.app[STREAMVOICE].live_audio.get(line.message_id)
        assert stream is not None and stream.finished is None
        # a long line's worth of audio (three minutes): far more than any socket buffer holds
        stream.append_from_thread(np.zeros(24_000 * 180, dtype=np.float32))
        request = f"GET {line.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        with caplog.at_level(logging.DEBUG):
            await wait_for(lambda: _connections(line.served) == 1)  # the player's socket
            stalled = [await _stalled_reader(line.served.port, request) for _ in range(CAP - 1)]
            try:
                await wait_for(lambda: _connections(line.served) == CAP)
                assert await _status(line.served.url) == 503
                await _gets_in_within(line.served.url, SEND_TIMEOUT + 10)
                assert stream.finished is None  # still growing: the readers were dropped, not the stream ended
            finally:
                _close(stalled)
        assert not _errors(caplog), caplog.text


async def test_one_remote_address_cannot_take_the_whole_cap(
        engine_loader: Any, make_settings: Any) -> None:
    async with production_server(make_settings(), engine_loader, max_connections=CAP, max_per_address=3,
                                 share_loopback=True) as served:
        held = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(3)]
        try:
            await wait_for(lambda: _connections(served) == 3)
            answer = await rawhttp.request(served.port, "GET", "/api/health")
            assert answer.status == 503 and "too many connections" in answer.json()["error"]
        finally:
            for _, writer in held:
                writer.close()
        await wait_for(lambda: _connections(served) == 0)
        assert (await rawhttp.request(served.port, "GET", "/api/health")).status == 200
    # loopback is the streamer's own machine: exempt by default (a loopback bind has no other clients)
    async with production_server(make_settings(), engine_loader, max_connections=CAP,
                                 max_per_address=3) as served:
        held = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(5)]
        try:
            assert (await rawhttp.request(served.port, "GET", "/api/health")).status == 200
        finally:
            for _, writer in held:
                writer.close()
    assert serve.MAX_PER_ADDRESS < serve.MAX_CONNECTIONS


async def test_head_on_a_growing_wav_sends_no_body(engine_loader: Any, make_settings: Any) -> None:
    async with streaming_line(make_settings, engine_loader) as line:
        answer = await rawhttp.request(line.served.port, "HEAD", line.path, timeout=5)
        assert answer.status == 200 and answer.headers["content-type"] == "audio/wav"
        assert answer.headers.get("x-streaming") == "1"
        assert answer.body == b""


async def test_a_player_that_goes_away_mid_stream_is_not_an_error(
        engine_loader: Any, make_settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    async with streaming_line(make_settings, engine_loader) as line:
        with caplog.at_level(logging.DEBUG):
            reader, writer = await asyncio.open_connection("127.0.0.1", line.served.port)
            writer.write(f"GET {line.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await reader.readuntil(b"\r\n\r\n")
            await reader.read(1000)  # some of the first sentence: playing
            writer.transport.abort()  # an overlay reload, a scene switch
            line.engine.gate.set()  # the rest renders and meets a closed connection
            await wait_for(lambda: "went away mid-stream" in caplog.text or _errors(caplog), timeout=60)
            await asyncio.sleep(0.2)
    assert not _errors(caplog), caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
