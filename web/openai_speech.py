"""The OpenAI-compatible speech API under ``/v1`` (docs/integrations.md): what Open WebUI, SillyTavern and the
official OpenAI SDK call with only ``base_url`` and ``api_key`` changed.

- ``POST /v1/audio/speech``: ``core.openai_voices`` reads the request, ``service.speech_api`` renders it (chat
  first, a bounded line, cancelled when the client goes away), ``tts.audio_formats`` encodes it. By default
  (``stream`` left out or true, as OpenAI and Kokoro-FastAPI do) each sentence is sent, chunked, as soon as it is
  rendered; ``"stream": false`` answers one whole file with exact headers.
- ``GET /v1/models`` and ``GET /v1/audio/voices``: the shapes OpenAI clients and Open WebUI read.
- Every error under ``/v1`` has OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``
  (``web.errors.error_response`` picks it by the path, for the shared middlewares' answers too: token,
  Host/Origin, body limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from aiohttp import web

from core.openai_voices import (
    FORMATS,
    KOKORO_ENGLISH_VOICES,
    MODELS,
    VOICES_HINT,
    SpeechRequest,
    SpeechRequestError,
    listed_voices,
    parse_speech_request,
)
from service.speech_api import SpeechApi, SpeechBusy, SpeechUnavailable, VoiceUnavailable
from tts.audio_formats import StreamEncoder, encode
from tts.engine import RenderCancelled
from web.errors import openai_error
from web.json_body import read_json
from web.keys import STREAMVOICE

log = logging.getLogger(__name__)

SPEECH_API = web.AppKey("speech_api", SpeechApi)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
#: ``created`` of every listed model (OpenAI's list has one; ours never changes).
MODELS_CREATED = 1_700_000_000
#: How often a waiting or rendering request looks whether its client is still there.
DISCONNECT_POLL_S = 0.1


# --- client presence ------------------------------------------------------------------------------------------
def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _unless_gone(request: web.Request, cancel: threading.Event, work: Awaitable[T]) -> T:
    """Await ``work`` unless the client disconnects first: then ``cancel`` is set, ``work`` cancelled and
    ``RenderCancelled`` raised."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if _gone(request):
                cancel.set()
                raise RenderCancelled("the client went away")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RenderCancelled, StopAsyncIteration):
                await task


# --- routes ---------------------------------------------------------------------------------------------------
async def speech(request: web.Request) -> web.StreamResponse:
    """``POST /v1/audio/speech``."""
    sv = request.app[STREAMVOICE]
    api = request.app[SPEECH_API]
    body = await read_json(request)  # BodyError: answered by web.errors, in OpenAI's shape under /v1
    try:
        speech_request = parse_speech_request(body, sv.settings.current.voices)
        await api.check_voice(speech_request.voice)
    except SpeechRequestError as exc:
        return openai_error(400, str(exc), exc.param, exc.code)
    except VoiceUnavailable as exc:
        voice = body.get("voice") if isinstance(body, dict) else None
        return openai_error(400, f"unknown voice {voice!r}: {exc} ({VOICES_HINT})", "voice", "voice_not_found")
    except SpeechUnavailable as exc:
        return openai_error(503, str(exc), headers={"Retry-After": "30"})
    cancel = threading.Event()
    try:
        await _unless_gone(request, cancel, api.slots.acquire())
    except SpeechBusy as exc:
        return openai_error(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
    except RenderCancelled:
        return web.Response(status=204)  # nobody is there to read it
    try:
        return await _answer(request, api, speech_request, cancel)
    except RenderCancelled:
        log.info("speech request cancelled: the client went away")
        return web.Response(status=204)
    finally:
        cancel.set()  # whatever still renders for this request stops at its next model block
        api.slots.release()


async def _answer(request: web.Request, api: SpeechApi, speech_request: SpeechRequest,
                  cancel: threading.Event) -> web.StreamResponse:
    fmt = speech_request.response_format
    headers = {"Content-Type": FORMATS[fmt], "Cache-Control": "no-store",
               "Content-Disposition": f"attachment; filename=speech.{fmt}"}
    pieces: AsyncGenerator[np.ndarray, None] = api.render(
        speech_request.input, speech_request.voice, speech_request.speed, cancel)
    try:
        return await _send(request, speech_request, pieces, cancel, headers)
    finally:
        with contextlib.suppress(Exception):
            await pieces.aclose()


async def _send(request: web.Request, speech_request: SpeechRequest, pieces: AsyncIterator[np.ndarray],
                cancel: threading.Event, headers: dict[str, str]) -> web.StreamResponse:
    fmt = speech_request.response_format
    loop = asyncio.get_running_loop()
    try:
        first = await _unless_gone(request, cancel, anext(pieces, None))
    except RenderCancelled:
        raise
    except Exception as exc:
        log.warning("speech request failed: %s: %s", type(exc).__name__, exc)
        return openai_error(500, f"synthesis failed: {type(exc).__name__}: {exc}")
    if not speech_request.stream:
        audio = [first] if first is not None else []
        while (piece := await _unless_gone(request, cancel, anext(pieces, None))) is not None:
            audio.append(piece)
        whole = np.concatenate(audio) if audio else np.zeros(0, dtype=np.float32)
        data = await loop.run_in_executor(None, encode, whole, fmt)
        return web.Response(body=data, headers=headers)
    encoder = StreamEncoder(fmt)
    response = web.StreamResponse(headers=headers)
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        piece = first
        while piece is not None:
            await response.write(await loop.run_in_executor(None, encoder.feed, piece))
            piece = await _unless_gone(request, cancel, anext(pieces, None))
        await response.write(await loop.run_in_executor(None, encoder.finish))
        await response.write_eof()
    except (ConnectionError, RenderCancelled):
        cancel.set()
        log.info("speech stream cancelled: the client went away")
    except Exception as exc:  # headers are gone: all that is left is to end the connection early
        log.warning("speech stream failed mid-way: %s: %s", type(exc).__name__, exc)
        if request.transport is not None:
            request.transport.abort()
    finally:
        encoder.close()
    return response


async def models(request: web.Request) -> web.Response:
    """``GET /v1/models``: every accepted model name (all mean the Kokoro model this server runs)."""
    data = [{"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "streamvoice"} for name in MODELS]
    return web.json_response({"object": "list", "data": data})


async def audio_models(request: web.Request) -> web.Response:
    """``GET /v1/audio/models``: ``{"models": [{"id"}]}``, where Open WebUI looks for a custom server's models."""
    return web.json_response({"models": [{"id": name} for name in MODELS]})


def _kokoro_ids(model_dir: str) -> list[str]:
    if model_dir:
        folder = Path(model_dir) / "voices"
        return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []
    return list(KOKORO_ENGLISH_VOICES)


async def voices(request: web.Request) -> web.Response:
    """``GET /v1/audio/voices``: ``{"voices": [{"id", "name"}]}`` (Open WebUI reads ``id``)."""
    settings = request.app[STREAMVOICE].settings.current
    names = listed_voices(settings.voices, _kokoro_ids(settings.model_dir))
    return web.json_response({"voices": [{"id": name, "name": name} for name in names]})


async def speech_api_ctx(app: web.Application) -> AsyncIterator[None]:
    sv = app[STREAMVOICE]
    api = SpeechApi(sv.settings, sv.worker)
    app[SPEECH_API] = api
    yield
    api.close()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(speech_api_ctx)
    app.router.add_post("/v1/audio/speech", speech)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/audio/voices", voices)
    app.router.add_get("/v1/audio/models", audio_models)

