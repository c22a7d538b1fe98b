"""The OpenAI-compatible speech API, called with the official ``openai`` SDK (only ``base_url`` and ``api_key``
changed) against the real server and the real tiny Kokoro pipeline; audio decoded back with libsndfile."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
import soundfile as sf

from core.openai_voices import OPENAI_VOICES
from tests.helpers import app_of, wait_for
from web.keys import STREAMVOICE

TOKEN = "s3cret-token"
SENTENCE = "Hello there, this is a test of the speech API."


@pytest.fixture
def model_with_openai_voices(tiny_model_dir: Path) -> Path:
    """The tiny model's folder with a pack for every Kokoro voice OpenAI's names map to (copies of one pack)."""
    voices = tiny_model_dir / "voices"
    for target in OPENAI_VOICES.values():
        if not (voices / f"{target}.pt").exists():
            shutil.copyfile(voices / "af_heart.pt", voices / f"{target}.pt")
    return tiny_model_dir


async def serve(start_server: Any, make_settings: Any, **overrides: Any) -> Any:
    client = await start_server(make_settings(**overrides))
    health = await wait_for(lambda: _ready(client), timeout=180)
    assert health
    return client


async def _ready(client: Any) -> bool:
    response = await client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
    return response.status == 200 and (await response.json())["engine"].startswith("ready")


def sdk(client: Any, api_key: str = TOKEN) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=api_key, max_retries=0)


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Every frame of a file, also one whose header says "length unknown" (a streamed FLAC): read block by block
    through libsndfile itself (soundfile's own reader needs the length up front)."""
    with sf.SoundFile(io.BytesIO(data)) as f:
        rate = f.samplerate
        if f.frames < 2**40:
            return f.read(dtype="float32"), rate
        block = np.zeros(4096, dtype=np.float32)
        out: list[np.ndarray] = []
        while (n := sf._snd.sf_readf_float(f._file, sf._ffi.cast("float*", sf._ffi.from_buffer(block)), 4096)) > 0:
            out.append(block[:n].copy())
        return np.concatenate(out), rate


def pcm_samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2")


@pytest.mark.parametrize("stream", [False, True])
async def test_every_format_decodes_back_with_its_length_and_rate(
        start_server: Any, make_settings: Any, model_with_openai_voices: Path, stream: bool) -> None:
    client = await serve(start_server, make_settings, api_token=TOKEN)
    api = sdk(client)
    reference = await api.audio.speech.create(model="tts-1", voice="af_heart", input=SENTENCE,
                                              response_format="pcm", extra_body={"stream": stream})
    samples = pcm_samples(reference.content)
    assert samples.size > 2400  # the tiny model says something
    for fmt in ("wav", "flac", "mp3", "opus"):
        answer = await api.audio.speech.create(model="tts-1", voice="af_heart", input=SENTENCE,
                                               response_format=fmt, extra_body={"stream": stream})
        audio, rate = decode(answer.content)
        assert rate == 24_000, fmt
        if fmt in {"wav", "flac"}:  # lossless: every sample (kokoro's vocoder adds noise: values differ per render)
            assert audio.size == samples.size, fmt
            assert 0 < np.abs(audio).max() <= 1.0, fmt
        else:  # lossy codecs add their encoder delay and padding (a few frames), never lose audio
            assert samples.size <= audio.size <= samples.size + 4000, (fmt, audio.size, samples.size)


async def test_a_wrong_key_is_refused_in_openais_shape(
        start_server: Any, make_settings: Any, model_with_openai_voices: Path) -> None:
    client = await serve(start_server, make_settings, api_token=TOKEN)
    with pytest.raises(openai.AuthenticationError) as raised:
        await sdk(client, api_key="wrong").audio.speech.create(model="tts-1", voice="alloy", input="hi")
    error = raised.value.body
    assert raised.value.status_code == 401
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == "invalid_api_key"
    models = await sdk(client).models.list()
    assert {m.id for m in models.data} == {"kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"}


async def test_mix_voices_and_openai_names(
        start_server: Any, make_settings: Any, model_with_openai_voices: Path) -> None:
    client = await serve(start_server, make_settings)
    api = sdk(client, api_key="anything")  # no api_token set: any key goes
    renders = {}
    for voice in ("af_bella(2)+af_heart(1)", "af_bella:67+af_heart:33", "nova", "jared50_lex30_martha20", "bella",
                  "alloy+bm_george"):
        answer = await api.audio.speech.create(model="kokoro", voice=voice, input=SENTENCE, response_format="pcm")
        renders[voice] = pcm_samples(answer.content)
        assert renders[voice].size > 2400, voice
    # Kokoro-FastAPI's relative weights are the mix of the percents they round to: the same voice pack
    engine = app_of(client)[STREAMVOICE].worker.engine
    assert "af_bella:67+af_heart:33" in engine.voice_packs and "af_alloy:50+bm_george:50" in engine.voice_packs
    assert renders["af_bella(2)+af_heart(1)"].size == renders["af_bella:67+af_heart:33"].size
    listed = await client.get("/v1/audio/voices")
    names = {v["id"] for v in (await listed.json())["voices"]}
    assert {"alloy", "nova", "af_heart", "bella"} <= names


@pytest.mark.parametrize(("change", "status", "param", "says"), [
    ({"voice": "no_such_voice"}, 400, "voice", "/v1/audio/voices"),
    ({"voice": "darth"}, 400, "voice", "'darth'"),
    ({"input": ""}, 400, "input", "empty"),
    ({"input": "x" * 4097}, 400, "input", "4096"),
    ({"speed": 4.5}, 400, "speed", "0.25"),
    ({"speed": 0.1}, 400, "speed", "4.0"),
    ({"response_format": "aac"}, 400, "response_format", "mp3, opus, wav, flac, pcm"),
    ({"model": "whisper-1"}, 400, "model", "tts-1"),
])
async def test_bad_input_is_a_clear_openai_error(
        start_server: Any, make_settings: Any, model_with_openai_voices: Path,
        change: dict[str, Any], status: int, param: str, says: str) -> None:
    client = await serve(start_server, make_settings)
    body = {"model": "tts-1", "input": "hello", "voice": "alloy", **change}
    response = await client.post("/v1/audio/speech", json=body)
    assert response.status == status
    error = (await response.json())["error"]
    assert error["param"] == param and says in error["message"] and error["type"] == "invalid_request_error"


async def test_unknown_v1_route_and_method_are_openai_shaped(
        start_server: Any, make_settings: Any, model_with_openai_voices: Path) -> None:
    client = await serve(start_server, make_settings)
    missing = await client.get("/v1/nothing")
    assert missing.status == 404 and set((await missing.json())["error"]) == {"message", "type", "param", "code"}
    wrong = await client.get("/v1/audio/speech")
    assert wrong.status == 405 and "POST" in wrong.headers["Allow"] and "error" in await wrong.json()
    not_json = await client.post("/v1/audio/speech", data="input=hi", headers={"Content-Type": "text/plain"})
    assert not_json.status == 415 and isinstance((await not_json.json())["error"], dict)
