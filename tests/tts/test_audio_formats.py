"""Every OpenAI response format, whole and streamed, decoded back with libsndfile."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from tests.web.test_openai_speech import decode
from tts.audio_formats import FORMATS, StreamEncoder, encode

RATE = 24_000
TONE = (0.3 * np.sin(np.arange(RATE * 2) * 2 * np.pi * 220 / RATE)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_a_whole_file_decodes_to_the_same_length(fmt: str) -> None:
    audio, rate = sf.read(io.BytesIO(encode(TONE, fmt)))
    assert rate == RATE and audio.size == TONE.size
    if fmt in {"wav", "flac"}:
        assert np.allclose(audio, TONE, atol=1 / 32767)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_a_stream_sends_bytes_before_the_end_and_decodes_whole(fmt: str) -> None:
    encoder = StreamEncoder(fmt)
    pieces = [encoder.feed(part) for part in np.array_split(TONE, 4)]
    assert pieces[0]  # something leaves with the first piece (at least the header)
    body = b"".join(pieces) + encoder.finish()
    audio, rate = decode(body)
    assert rate == RATE
    if fmt in {"wav", "flac"}:
        assert audio.size == TONE.size and np.allclose(audio, TONE, atol=1 / 32767)
    else:  # codec delay and padding, never less
        assert TONE.size <= audio.size <= TONE.size + 4000


def test_pcm_is_the_bare_little_endian_samples() -> None:
    whole = encode(TONE, "pcm")
    encoder = StreamEncoder("pcm")
    streamed = b"".join(encoder.feed(part) for part in np.array_split(TONE, 3)) + encoder.finish()
    assert whole == streamed and len(whole) == TONE.size * 2
    assert np.allclose(np.frombuffer(whole, "<i2") / 32767, TONE, atol=1 / 32767)
    assert set(FORMATS) == {"wav", "mp3", "opus", "flac", "pcm"}
