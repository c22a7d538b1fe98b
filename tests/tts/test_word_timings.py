"""Word timings from the engine: the spoken words, in order, inside the audio; on real weights, at quiet points.

The real-weights test runs only when ``STREAMVOICE_TEST_WEIGHTS`` names a Kokoro-82M folder
(``config.json``, ``kokoro-v1_0.pth``, ``voices/``); CI has none.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.captions import Captions
from tts.engine import SAMPLE_RATE, EngineConfig, KokoroEngine

pytestmark = pytest.mark.slow  # renders whole lines to time every word

VOICES = {"jared": "am_adam", "lex": "am_eric", "martha": "am_michael", "heart": "af_heart"}
LINES = ["Hello there, how are you? I don't know, it's $5.50 at 3:30!",
         "That was an amazing play, well done.",
         # three sentences of ~66 phonemes: long enough to be cut at sentence ends, short enough to render fast
         " ".join(["This sentence is here to make the text long enough for two chunks."] * 3)]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> KokoroEngine:
    return KokoroEngine.load(EngineConfig(model_dir=str(tiny_model_dir), device="cpu", voice="heart100",
                                          voices=VOICES))


def assert_well_formed(captions: Captions, audio: np.ndarray, text: str) -> None:
    assert captions.duration == pytest.approx(audio.size / SAMPLE_RATE)
    assert [w.text for w in captions.words] == text.split()
    previous = 0.0
    for word in captions.words:
        assert previous <= word.start <= word.end <= captions.duration
        previous = word.end


@pytest.mark.parametrize("text", LINES, ids=["numbers", "short", "two-chunks"])
def test_speak_times_every_spoken_word_inside_the_audio(engine: KokoroEngine, text: str) -> None:
    speech = engine.speak(text)
    assert speech.captions.source == "tokens"
    assert_well_formed(speech.captions, speech.audio, text)
    assert speech.captions.words[-1].end > 0.5 * speech.captions.duration  # spread over the audio, not bunched
    chunks = len(engine.plan(text))
    assert (chunks > 1) is (text == LINES[2])  # the long line really takes the several-chunk path
    if chunks > 1:  # later chunks are offset by the audio before them
        assert speech.captions.words[-1].start > engine.render(engine.phonemize(text)[:1]).size / SAMPLE_RATE


def test_speak_matches_synthesize_and_batches_time_alike(engine: KokoroEngine) -> None:
    import torch

    torch.manual_seed(3)
    alone = engine.speak(LINES[1])
    torch.manual_seed(3)
    assert np.array_equal(alone.audio, engine.synthesize(LINES[1]))
    batched = engine.speak_batch([LINES[1], LINES[0]])
    first = batched[0]
    assert not isinstance(first, Exception)
    assert first.captions.to_dict() == alone.captions.to_dict()  # same durations, same timings


def test_espeak_tier_is_marked_estimated(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    from tts import g2p

    monkeypatch.setattr(engine.pipeline, "g2p", g2p.espeak_g2p(british=False))
    monkeypatch.setattr(engine, "g2p_kind", "espeak")
    speech = engine.speak(LINES[1])
    assert speech.captions.source == "estimated"
    assert_well_formed(speech.captions, speech.audio, LINES[1])


REAL = os.environ.get("STREAMVOICE_TEST_WEIGHTS", "")
REAL_LINES = ["That was an amazing play, I can not believe you hit that shot from across the map.",
              "Hello everyone, thanks for the follow and welcome to the stream tonight.",
              "Could you please tell me which keyboard you are using right now?",
              "My favourite part was when the boss fell off the bridge and everybody started laughing.",
              "Good luck in the next round, you have got this, just stay calm and keep moving."]


def _quietest_near(envelope: np.ndarray, t: float) -> float:
    """The lowest RMS within ±15 ms of ``t`` seconds."""
    lo, hi = int(max(0.0, t - 0.015) * SAMPLE_RATE), int((t + 0.015) * SAMPLE_RATE)
    return float(envelope[lo:max(hi, lo + 1)].min())


@pytest.mark.skipif(not REAL, reason="set STREAMVOICE_TEST_WEIGHTS to a Kokoro-82M weights folder")
def test_real_word_boundaries_fall_near_low_energy_points() -> None:
    engine = KokoroEngine.load(EngineConfig(model_dir=REAL, device="cpu", voice="af_heart"))
    rng = np.random.default_rng(0)
    at_bounds: list[float] = []
    at_random: list[float] = []
    for text in REAL_LINES:
        speech = engine.speak(text)
        assert_well_formed(speech.captions, speech.audio, text)
        audio = speech.audio.astype(np.float64)
        envelope = np.sqrt(np.convolve(audio**2, np.ones(720) / 720, mode="same"))  # 30 ms RMS
        speech_median = float(np.median(envelope[envelope > 0.05 * envelope.max()]))

        words = speech.captions.words
        at_bounds += [_quietest_near(envelope, w.start) / speech_median for w in words[1:]]
        at_random += [_quietest_near(envelope, t) / speech_median
                      for t in rng.uniform(words[0].start, words[-1].end, 60)]
    bounds, random = float(np.median(at_bounds)), float(np.median(at_random))
    print(f"boundary RMS / speech median: {bounds:.2f} (random points {random:.2f}, n={len(at_bounds)})")
    assert bounds < 0.35 and bounds < 0.8 * random
