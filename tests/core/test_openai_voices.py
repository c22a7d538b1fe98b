"""The OpenAI-compatible request rules, without I/O."""

from __future__ import annotations

from typing import Any

import pytest

from core.openai_voices import (
    OPENAI_VOICES,
    SpeechRequestError,
    clean_input,
    listed_voices,
    parse_speech_request,
    resolve_voice,
)
from core.settings import DEFAULT_VOICES
from core.voice_mix import parse_voice_mix


@pytest.mark.parametrize(("voice", "spec"), [
    ("af_heart", "af_heart"),
    ("jared50_lex30_martha20", "jared50_lex30_martha20"),
    ("af_heart:60+am_adam:40", "af_heart:60+am_adam:40"),
    ("bella", "bella100"),
    ("Nova", "af_nova"),
    ("af_bella(2)+af_sky(1)", "af_bella:67+af_sky:33"),
    ("af_bella + af_sky", "af_bella:50+af_sky:50"),
    ("af_bella(1)+af_sky(1)+am_adam(1)", "af_bella:34+af_sky:33+am_adam:33"),
    ("nova(3)+onyx(1)", "af_nova:75+am_onyx:25"),
    ("bella(1)+af_bella(1)", "af_bella"),  # the same voice twice is that voice
    ("af_heart(0.5)", "af_heart"),
    ("af_heart(99)+am_adam(0.001)", "af_heart:99+am_adam:1"),  # every voice keeps at least 1 %
])
def test_every_way_of_naming_a_voice_becomes_a_streamvoice_spec(voice: str, spec: str) -> None:
    resolved = resolve_voice(voice, DEFAULT_VOICES)
    assert resolved == spec
    assert parse_voice_mix(resolved, DEFAULT_VOICES)  # the engine's grammar takes it


@pytest.mark.parametrize(("voice", "says"), [
    ("darth", "'darth'"), ("af_bella(0)+af_sky(1)", "positive weight"), ("af_bella-af_sky", "subtracting"),
    ("", "empty"), ("af_bella(x)", "NAME(WEIGHT)"), ("jared50_lex30", "100"), ("nobody(1)+af_sky", "'nobody'"),
])
def test_an_unknown_voice_is_named_with_where_to_list_voices(voice: str, says: str) -> None:
    with pytest.raises(SpeechRequestError) as raised:
        resolve_voice(voice, DEFAULT_VOICES)
    assert raised.value.param == "voice" and says in str(raised.value) and "/v1/audio/voices" in str(raised.value)


def test_every_openai_name_maps_to_a_kokoro_id() -> None:
    assert set(OPENAI_VOICES) == {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage",
                                  "shimmer", "verse"}
    assert all(resolve_voice(name, {}) == target for name, target in OPENAI_VOICES.items())


def _body(**change: Any) -> dict[str, Any]:
    return {"model": "tts-1", "input": "hello", "voice": "alloy", **change}


def test_a_request_with_defaults() -> None:
    request = parse_speech_request(_body(), DEFAULT_VOICES)
    assert (request.voice, request.response_format, request.speed, request.stream) == ("af_alloy", "mp3", 1.0, True)
    request = parse_speech_request(_body(response_format="FLAC", speed=4, stream=False, extra="ignored"), {})
    assert (request.response_format, request.speed, request.stream) == ("flac", 4.0, False)


@pytest.mark.parametrize(("change", "param"), [
    ({"model": "whisper-1"}, "model"), ({"model": None}, "model"), ({"input": ""}, "input"),
    ({"input": " \x00 "}, "input"), ({"input": "x" * 4097}, "input"), ({"input": 5}, "input"),
    ({"speed": 0.24}, "speed"), ({"speed": 4.01}, "speed"), ({"speed": True}, "speed"),
    ({"speed": float("nan")}, "speed"), ({"response_format": "aac"}, "response_format"),
    ({"stream": "yes"}, "stream"), ({"voice": 3}, "voice"),
])
def test_bad_requests_name_their_field(change: dict[str, Any], param: str) -> None:
    with pytest.raises(SpeechRequestError) as raised:
        parse_speech_request(_body(**change), DEFAULT_VOICES)
    assert raised.value.param == param


def test_aac_lists_the_formats_there_are() -> None:
    with pytest.raises(SpeechRequestError, match="mp3, opus, wav, flac, pcm"):
        parse_speech_request(_body(response_format="aac"), {})


def test_input_keeps_its_text_but_not_what_no_engine_can_take() -> None:
    assert clean_input("  $5.50 at 3:30, e.g. https://x.gg  ") == "$5.50 at 3:30, e.g. https://x.gg"
    assert clean_input("a\x07b\ud800c") == "a b\ufffdc"
    assert parse_speech_request(_body(input="x" * 4096), {}).input == "x" * 4096


def test_listed_voices_are_ids_then_names_then_openai_names() -> None:
    names = listed_voices({"Bella": "af_bella"}, ["af_heart", "af_bella"])
    assert names[:3] == ["af_bella", "af_heart", "bella"] and names[3:] == list(OPENAI_VOICES)
