"""Per-item voices in the engine and the bounded cache of mixed packs (tts/voice_packs.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import SharedEngineLoader
from tts.engine import EngineConfig, EngineUnavailable, KokoroEngine
from tts.voice_packs import MIXED_PACKS, LruCache

VOICES = {"jared": "am_adam", "lex": "am_eric", "martha": "am_michael", "heart": "af_heart", "bella": "af_bella"}


@pytest.fixture
def engine(engine_loader: SharedEngineLoader, tiny_model_dir: Path) -> KokoroEngine:
    engine = engine_loader(EngineConfig(model_dir=str(tiny_model_dir), device="cpu",
                                        voice="jared50_lex30_martha20", voices=VOICES))
    engine.voice_packs.clear()
    return engine


def test_lru_cache_keeps_the_most_recent_entries_only() -> None:
    built: list[str] = []

    def build(key: str) -> str:
        if key == "bad":
            raise ValueError("no such pack")
        built.append(key)
        return key.upper()

    cache: LruCache[str] = LruCache(build, size=2)
    assert cache.get("a") == "A" and cache.get("b") == "B" and cache.get("a") == "A"
    cache.get("c")  # evicts "b", the least recently used
    assert "a" in cache and "c" in cache and "b" not in cache and len(cache) == 2
    with pytest.raises(ValueError):
        cache.get("bad")
    assert "bad" not in cache and built == ["a", "b", "c"]
    with pytest.raises(ValueError):
        LruCache(build, size=0)


def _say(engine: KokoroEngine, voice: str | None) -> np.ndarray:
    torch.manual_seed(7)  # kokoro's decoder adds noise: same seed, same noise
    return engine.synthesize("Hi there.", voice=voice)


@pytest.mark.slow  # renders the same line in several voices and compares them
def test_a_per_item_voice_sounds_like_that_voice_and_leaves_the_engine_voice_alone(engine: KokoroEngine) -> None:
    default = _say(engine, None)
    mixed = _say(engine, "af_heart:60+am_adam:40")
    assert engine.voice_spec == "jared50_lex30_martha20"
    assert mixed.shape == default.shape and not np.allclose(mixed, default)
    packs = {v: engine.voice_pack(v).float() for v in ("af_heart", "am_adam")}
    assert torch.allclose(engine.voice_packs.get("af_heart:60+am_adam:40"),
                          0.6 * packs["af_heart"] + 0.4 * packs["am_adam"], atol=1e-6)
    assert engine._voice("jared50_lex30_martha20")[0] is engine._voice(None)[0]  # the engine's own voice


def test_the_mixed_pack_cache_is_bounded(engine: KokoroEngine) -> None:
    ids = list(dict.fromkeys(VOICES.values()))
    specs = [f"{ids[n % 5]}:{10 + n % 80}+{ids[(n + 1) % 5]}:{90 - n % 80}" for n in range(MIXED_PACKS * 2)]
    for spec in dict.fromkeys(specs):
        engine.check_voice(spec)
    assert len(engine.voice_packs) == MIXED_PACKS
    assert engine.voice_packs.builds >= MIXED_PACKS + 1


def test_a_missing_pack_fails_that_render_only(engine: KokoroEngine) -> None:
    with pytest.raises(EngineUnavailable, match="zz_nobody"):
        engine.synthesize("hello", voice="zz_nobody")
    assert "zz_nobody" not in engine.voice_packs
    results = engine.speak_batch(["Hi.", "Hi."], ["zz_nobody", "heart100"])
    assert isinstance(results[0], EngineUnavailable)
    assert not isinstance(results[1], Exception) and results[1].audio.size > 0


def test_a_batch_renders_each_message_in_its_own_voice(engine: KokoroEngine) -> None:
    engine.max_batch = 4
    try:
        torch.manual_seed(3)
        heart_speech, jared_speech = engine.speak_batch(["Two voices.", "Two voices."], ["heart100", "jared100"])
    finally:
        engine.max_batch = 1
    assert not isinstance(heart_speech, Exception) and not isinstance(jared_speech, Exception)
    heart, jared = heart_speech.audio, jared_speech.audio
    assert heart.shape == jared.shape and not np.allclose(heart, jared)
    assert "heart100" in engine.voice_packs and "jared100" in engine.voice_packs


def test_an_ipa_pronunciation_reaches_the_model_as_those_phonemes(engine: KokoroEngine) -> None:
    """``pronunciations: {kokoro: /kˈOkəɹO/}`` through the engine's real G2P tier (misaki lexicon, offline)."""
    from core.spoken_text import SpeechRules, normalize_chat_text

    rules = SpeechRules(username="streamer", pronunciations=(("kokoro", "/kˈOkəɹO/"),))
    spoken = normalize_chat_text("I love kokoro", rules)
    assert engine.phonemize(spoken) == [engine.phonemize("I love")[0] + " kˈOkəɹO"]
    smuggled = normalize_chat_text("I love [kokoro](/ʃɪt/)", SpeechRules(username="streamer"))
    assert "ʃɪt" not in "".join(engine.phonemize(smuggled))


def test_g2p_tiers_without_markup_read_the_word(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The espeak tier has no ``[word](/ipa/)`` markup: it gets the plain word, never brackets or slashes."""
    seen: list[str] = []
    real_g2p = engine.pipeline.g2p

    def espeak_like(text: str) -> tuple[str, None]:
        seen.append(text)
        return real_g2p(text)[0], None

    monkeypatch.setattr(engine, "g2p_kind", "espeak")
    monkeypatch.setattr(engine.pipeline, "g2p", espeak_like)
    engine.phonemize("I love [kokoro](/kˈOkəɹO/) a lot")
    assert seen == ["I love kokoro a lot"]
