"""The OpenAI-compatible API shares the engine with chat: streaming as each sentence renders, chat first, a bounded
line with 429 beyond it, and a client that goes away cancels its render. Real server, real tiny Kokoro pipeline;
a gate holds an API render so "while it renders" is a state the test looks at instead of a race."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import openai

from tests.helpers import SharedEngineLoader, app_of, wait_for
from tests.web.test_openai_speech import decode, model_with_openai_voices  # noqa: F401  (fixture)
from tts.engine import EngineConfig, KokoroEngine, RenderCancelled
from web.openai_speech import SPEECH_API

LONG = ("The first sentence is here and it is long enough to stand alone. The second one follows it right away "
        "with a few more words. And a third one closes the whole thing for good, thank you!")


class RecordingEngine:
    """The real engine. Records each render as ("chat"|"api", "start"|"end") in order (chat lines go through
    ``speak``, API sentences through ``render``); API render number ``hold_at`` waits for ``gate``."""

    def __init__(self, engine: KokoroEngine) -> None:
        self._engine = engine
        self.events: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.hold_at = 0
        self.held = threading.Event()
        self.cancelled = threading.Event()
        self.api_renders = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def _note(self, kind: str, what: str) -> None:
        with self._lock:
            self.events.append((kind, what))

    def speak(self, *args: Any, **kwargs: Any) -> Any:
        self._note("chat", "start")
        try:
            return self._engine.speak(*args, **kwargs)
        finally:
            self._note("chat", "end")

    def render(self, chunks: Any, cancel: threading.Event | None = None, urgent: bool = False, **kwargs: Any) -> Any:
        with self._lock:
            self.api_renders += 1
            number = self.api_renders
        self._note("api", "start")
        try:
            if number == self.hold_at:
                self.held.set()
                while not self.gate.wait(0.01):
                    if cancel is not None and cancel.is_set():
                        self.cancelled.set()
                        raise RenderCancelled("cancelled while held")
            return self._engine.render(chunks, cancel, urgent, **kwargs)
        finally:
            self._note("api", "end")


async def start(start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader,
                **overrides: Any) -> tuple[Any, RecordingEngine]:
    engines: list[RecordingEngine] = []

    def load(config: EngineConfig) -> Any:
        if not engines:
            engines.append(RecordingEngine(engine_loader(config)))
        return engines[0]

    client = await start_server(make_settings(**overrides), engine_loader=load)
    await wait_for(lambda: app_of(client)[SPEECH_API]._worker.engine is not None, timeout=180)
    return client, engines[0]


def hold(engine: RecordingEngine, at: int) -> None:
    engine.gate.clear()
    engine.held.clear()
    engine.hold_at = engine.api_renders + at


async def test_stream_sends_the_first_sentence_before_the_rest_renders(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader,
        model_with_openai_voices: Path) -> None:  # noqa: F811
    client, engine = await start(start_server, make_settings, engine_loader)
    hold(engine, at=2)  # the second sentence waits until the test has seen the first one's bytes
    api = openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key="x", max_retries=0)
    async with api.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=LONG, response_format="wav") as response:
        assert response.headers["content-type"] == "audio/wav" and "content-length" not in response.headers
        chunks = response.iter_bytes()
        first = await anext(chunks)
        # only the first sentence is rendered: the second one waits at the gate, which only the test opens
        assert engine.events.count(("api", "end")) == 1 and not engine.gate.is_set()
        await wait_for(engine.held.is_set)
        assert first[:4] == b"RIFF" and len(first) > 44
        engine.gate.set()
        body = first + b"".join([chunk async for chunk in chunks])
    audio, rate = decode(body)
    assert rate == 24_000 and audio.size == (len(body) - 44) // 2
    assert engine.api_renders >= 3  # one render per sentence


async def test_a_chat_line_queued_while_the_api_renders_is_synthesised_first(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader,
        model_with_openai_voices: Path) -> None:  # noqa: F811
    client, engine = await start(start_server, make_settings, engine_loader)
    hold(engine, at=1)  # the API's first sentence is rendering when the chat line comes
    speech = asyncio.ensure_future(client.post("/v1/audio/speech", json={
        "model": "tts-1", "voice": "af_heart", "input": LONG, "response_format": "pcm", "stream": False}))
    await wait_for(engine.held.is_set)
    queued = await client.post("/api/messages", json={"sent_by": "viewer", "text": "@streamer chat comes first!"})
    assert queued.status == 202
    engine._note("chat", "queued")
    engine.gate.set()
    response = await speech
    assert response.status == 200 and len(await response.read()) > 0
    events = engine.events
    mark = events.index(("chat", "queued"))
    chat_end = events.index(("chat", "end"), mark) if ("chat", "end") in events[mark:] else None
    assert chat_end is not None
    # after the line was queued, the API finished only the sentence it was rendering; its next sentence started
    # only once the chat line was done
    api_starts_between = [i for i in range(mark, chat_end) if events[i] == ("api", "start")]
    assert api_starts_between == [], events
    assert events[chat_end + 1:].count(("api", "start")) >= 2, events


async def test_beyond_the_line_a_request_gets_429_with_retry_after(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader,
        model_with_openai_voices: Path) -> None:  # noqa: F811
    client, engine = await start(start_server, make_settings, engine_loader,
                                 api_speech_concurrency=1, api_speech_queue=1)
    slots = app_of(client)[SPEECH_API].slots
    hold(engine, at=1)
    body = {"model": "tts-1", "voice": "af_heart", "input": "Hold this one.", "response_format": "pcm"}
    first = asyncio.ensure_future(client.post("/v1/audio/speech", json=body))
    await wait_for(engine.held.is_set)
    second = asyncio.ensure_future(client.post("/v1/audio/speech", json=body))
    await wait_for(lambda: slots.waiting == 1)
    refused = await client.post("/v1/audio/speech", json=body)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    error = (await refused.json())["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "rate_limit_error"
    engine.gate.set()
    for answer in (await first, await second):
        assert answer.status == 200 and len(await answer.read()) > 0
    assert slots.running == 0 and slots.waiting == 0


async def test_a_client_that_goes_away_cancels_its_render_and_its_place(
        start_server: Any, make_settings: Any, engine_loader: SharedEngineLoader,
        model_with_openai_voices: Path) -> None:  # noqa: F811
    client, engine = await start(start_server, make_settings, engine_loader, api_speech_queue=1)
    slots = app_of(client)[SPEECH_API].slots
    hold(engine, at=1)
    payload = json.dumps({"model": "tts-1", "voice": "af_heart", "input": LONG, "response_format": "mp3"}).encode()
    request = (f"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\nContent-Type: application/json"
               f"\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload
    rendering = await asyncio.open_connection("127.0.0.1", client.port)
    rendering[1].write(request)
    await wait_for(engine.held.is_set)
    waiting = await asyncio.open_connection("127.0.0.1", client.port)
    waiting[1].write(request)
    await wait_for(lambda: slots.waiting == 1)
    waiting[1].close()  # gives up while in line: its place is freed
    await wait_for(lambda: slots.waiting == 0)
    began = time.monotonic()
    rendering[1].close()  # gives up mid-render: the render stops at its next model block
    await wait_for(engine.cancelled.is_set, timeout=10)
    await wait_for(lambda: slots.running == 0, timeout=10)
    assert time.monotonic() - began < 5
    engine.gate.set()
    after = await client.post("/v1/audio/speech", json={"model": "tts-1", "voice": "af_heart", "input": "Next.",
                                                        "response_format": "pcm"})
    assert after.status == 200 and np.frombuffer(await after.read(), dtype="<i2").size > 0
