"""The OpenAI-compatible speech request (``POST /v1/audio/speech``) as StreamVoice understands it. Pure.

``voice`` may be written four ways, all ending as one StreamVoice voice spec (``core.voice_mix``):

- a StreamVoice spec: a Kokoro id (``af_heart``), a friendly mix from ``voices`` (``jared50_lex30_martha20``) or
  raw ids mixed (``af_heart:60+am_adam:40``); a bare friendly name (``bella``) means that voice alone;
- Kokoro-FastAPI's mix syntax, ``af_bella(2)+af_sky(1)``: relative weights (any positive numbers, default 1),
  turned into whole percents that total 100;
- one of OpenAI's voice names, mapped by ``OPENAI_VOICES`` (also inside a Kokoro-FastAPI mix: ``nova+onyx``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.voice_mix import VoiceMixError, parse_voice_mix

#: OpenAI's voice names and the Kokoro-82M v1.0 voice each one is spoken with (docs/integrations.md).
OPENAI_VOICES: dict[str, str] = {
    "alloy": "af_alloy",
    "ash": "am_liam",
    "ballad": "bm_lewis",
    "coral": "af_heart",
    "echo": "am_echo",
    "fable": "bm_fable",
    "nova": "af_nova",
    "onyx": "am_onyx",
    "sage": "af_sarah",
    "shimmer": "af_sky",
    "verse": "am_michael",
}
#: Kokoro-82M v1.0's English voices (listed when the weights come from the hub: no ``model_dir`` to look in).
KOKORO_ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george",
    "bm_lewis",
)
#: Model names accepted; every one means the Kokoro model StreamVoice runs.
MODELS = ("kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
#: ``response_format`` values and their content types (``pcm``: 16-bit mono 24 kHz little-endian, no header).
FORMATS: dict[str, str] = {
    "mp3": "audio/mpeg", "opus": "audio/ogg", "wav": "audio/wav", "flac": "audio/flac", "pcm": "audio/pcm",
}
MAX_INPUT_CHARS = 4096
MIN_SPEED, MAX_SPEED = 0.25, 4.0
VOICES_HINT = "GET /v1/audio/voices lists the voices"

_PART = re.compile(r"\s*([A-Za-z0-9_]+)\s*(?:\(\s*([0-9]*\.?[0-9]+)\s*\))?\s*")
_KOKORO_ID = re.compile(r"[a-z]{2}_[a-z0-9]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class SpeechRequestError(ValueError):
    """A refused request: ``param`` is the field at fault (OpenAI's error ``param``), ``code`` a short tag."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    model: str
    input: str
    #: The StreamVoice voice spec the text is spoken with.
    voice: str
    response_format: str = "mp3"
    speed: float = 1.0
    stream: bool = True


def _percents(weights: list[tuple[str, float]]) -> list[tuple[str, int]]:
    """Relative weights -> whole percents totalling 100 (largest remainder), every voice at least 1 %."""
    total = sum(w for _, w in weights)
    raw = [(voice, w * 100 / total) for voice, w in weights]
    percents = [max(1, math.floor(share)) for _, share in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i][1] - math.floor(raw[i][1]), reverse=True)
    i = 0
    while sum(percents) < 100:
        percents[order[i % len(order)]] += 1
        i += 1
    while sum(percents) > 100:
        biggest = max(range(len(percents)), key=lambda k: percents[k])
        percents[biggest] -= 1
    return [(voice, p) for (voice, _), p in zip(raw, percents, strict=True)]


def _voice_id(name: str, table: Mapping[str, str]) -> str:
    """One name of a Kokoro-FastAPI mix -> a Kokoro id (OpenAI name, friendly name or Kokoro id)."""
    lowered = name.lower()
    if lowered in OPENAI_VOICES:
        return OPENAI_VOICES[lowered]
    if lowered in table:
        return table[lowered]
    if _KOKORO_ID.fullmatch(lowered):
        return lowered
    raise SpeechRequestError(f"unknown voice {name!r} ({VOICES_HINT})", "voice", "voice_not_found")


def resolve_voice(voice: str, table: Mapping[str, str]) -> str:
    """Any accepted way of naming a voice -> a StreamVoice voice spec; ``SpeechRequestError`` naming the voice."""
    spec = voice.strip()
    if not spec:
        raise SpeechRequestError(f"'voice' must not be empty ({VOICES_HINT})", "voice")
    lowered_table = {k.lower(): v for k, v in table.items()}
    if "-" in spec:
        raise SpeechRequestError(f"voice {spec!r}: subtracting voices is not supported, only '+' mixes "
                                 f"({VOICES_HINT})", "voice")
    if "(" in spec or ("+" in spec and ":" not in spec):  # Kokoro-FastAPI: af_bella(2)+af_sky(1)
        weights: list[tuple[str, float]] = []
        for part in spec.split("+"):
            match = _PART.fullmatch(part)
            if match is None or (match.group(2) is not None and float(match.group(2)) <= 0):
                raise SpeechRequestError(f"voice {spec!r}: {part.strip()!r} is not NAME or NAME(WEIGHT) with a "
                                         f"positive weight ({VOICES_HINT})", "voice")
            weights.append((_voice_id(match.group(1), lowered_table),
                            float(match.group(2)) if match.group(2) else 1.0))
        merged: dict[str, float] = {}
        for voice_id, weight in weights:
            merged[voice_id] = merged.get(voice_id, 0.0) + weight
        if len(merged) == 1:
            return next(iter(merged))
        spec = "+".join(f"{v}:{p}" for v, p in _percents(list(merged.items())))
    elif spec.lower() in OPENAI_VOICES:
        return OPENAI_VOICES[spec.lower()]
    elif spec.lower() in lowered_table and not _KOKORO_ID.fullmatch(spec):
        return f"{spec.lower()}100"
    try:
        parse_voice_mix(spec, lowered_table)
    except VoiceMixError as exc:
        raise SpeechRequestError(f"unknown voice {voice.strip()!r}: {exc} ({VOICES_HINT})", "voice",
                                 "voice_not_found") from None
    return spec


def clean_input(text: str) -> str:
    """Only what no speech engine can take: lone surrogates become U+FFFD, control characters spaces."""
    return _CONTROL.sub(" ", _LONE_SURROGATE.sub("\ufffd", text)).strip()


def parse_speech_request(body: Any, table: Mapping[str, str]) -> SpeechRequest:
    """Validate ``{model, input, voice, response_format?, speed?, stream?}``; unknown fields are ignored."""
    if not isinstance(body, dict):
        raise SpeechRequestError("the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise SpeechRequestError("'model' is required (one of: " + ", ".join(MODELS) + ")", "model")
    if model.strip() not in MODELS:
        raise SpeechRequestError(f"unknown model {model!r} (known: {', '.join(MODELS)})", "model", "model_not_found")
    text = body.get("input")
    if not isinstance(text, str):
        raise SpeechRequestError("'input' is required and must be a string", "input")
    if len(text) > MAX_INPUT_CHARS:
        raise SpeechRequestError(f"'input' is longer than {MAX_INPUT_CHARS} characters", "input")
    text = clean_input(text)
    if not text:
        raise SpeechRequestError("'input' must not be empty", "input")
    voice = body.get("voice")
    if not isinstance(voice, str):
        raise SpeechRequestError(f"'voice' is required and must be a string ({VOICES_HINT})", "voice")
    spec = resolve_voice(voice, table)
    response_format = body.get("response_format", "mp3")
    if response_format is None:
        response_format = "mp3"
    if not isinstance(response_format, str) or response_format.lower() not in FORMATS:
        raise SpeechRequestError(f"unsupported response_format {response_format!r}: use one of "
                                 f"{', '.join(FORMATS)}", "response_format", "unsupported_format")
    speed = body.get("speed", 1.0)
    if speed is None:
        speed = 1.0
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed) \
            or not MIN_SPEED <= speed <= MAX_SPEED:
        raise SpeechRequestError(f"'speed' must be a number from {MIN_SPEED} to {MAX_SPEED}", "speed")
    stream = body.get("stream", True)
    if stream is None:
        stream = True
    if not isinstance(stream, bool):
        raise SpeechRequestError("'stream' must be true or false", "stream")
    return SpeechRequest(model=model.strip(), input=text, voice=spec, response_format=response_format.lower(),
                         speed=float(speed), stream=stream)


def listed_voices(table: Mapping[str, str], kokoro_ids: list[str]) -> list[str]:
    """The names ``GET /v1/audio/voices`` lists: Kokoro ids, the friendly names, then OpenAI's names."""
    names = sorted(set(kokoro_ids))
    names += [n for n in sorted(k.lower() for k in table) if n not in names]
    names += [n for n in OPENAI_VOICES if n not in names]
    return names
