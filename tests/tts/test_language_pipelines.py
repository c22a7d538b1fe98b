"""One G2P pipeline per language on the one model: real espeak-ng G2P, the tiny model renders every language."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from core.language_settings import DEFAULT_VOICES, missing_for_offline
from tests.helpers import SharedEngineLoader
from tts.engine import EngineConfig, KokoroEngine
from tts.language_pipelines import LanguagePipelines, prepare_japanese

LINES = {
    "e": "hola a todos, qué buena jugada",
    "f": "bonjour tout le monde, quelle belle action",
    "i": "ciao ragazzi, che bella giocata",
    "p": "oi pessoal, que jogada linda",
    "h": "नमस्ते दोस्तों, बहुत अच्छा खेल",
}


@pytest.fixture
def engine(engine_loader: SharedEngineLoader, tiny_model_dir: Path) -> KokoroEngine:
    return engine_loader(EngineConfig(model_dir=str(tiny_model_dir), device="cpu", voice="af_heart",
                                      voices={"heart": "af_heart"}))


@pytest.mark.parametrize("code", sorted(LINES))
def test_each_espeak_language_is_phonemized_by_its_own_g2p_and_rendered(engine: KokoroEngine, code: str) -> None:
    plan = engine.plan(LINES[code], code)
    phonemes = " ".join(chunk.phonemes for chunk in plan)
    assert phonemes and phonemes != " ".join(c.phonemes for c in engine.plan(LINES[code]))  # not English G2P
    pipeline, kind = engine.pipelines.get(code)
    assert kind == "espeak" and pipeline.lang_code == code and pipeline.model is None  # G2P only: one model
    speech = engine.speak(LINES[code], voice=DEFAULT_VOICES[code], lang=code)
    assert speech.audio.size > 0 and np.isfinite(speech.audio).all()
    assert speech.captions.source == "estimated" and speech.captions.words  # espeak timings are estimated


def test_languages_are_built_lazily_once(engine: KokoroEngine) -> None:
    made: list[str] = []

    def make(code: str) -> tuple[object, str]:
        made.append(code)
        return object(), "espeak"

    pipelines = LanguagePipelines("a", (engine.pipeline, engine.g2p_kind), make)
    assert pipelines.languages == ("a",)
    threads = [threading.Thread(target=pipelines.get, args=("e",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == ["e"] and pipelines.get(None)[0] is engine.pipeline


def test_a_language_without_g2p_fails_only_its_lines(engine: KokoroEngine) -> None:
    def broken(code: str) -> tuple[object, str]:
        raise ImportError("You need to `pip install misaki[ja]`")

    pipelines = LanguagePipelines("a", (engine.pipeline, engine.g2p_kind), broken)
    with pytest.raises(RuntimeError, match="no G2P for language 'j'"):
        pipelines.get("j")
    results = engine.speak_batch(["hello there", LINES["e"]], ["af_heart", "ef_dora"], [None, "e"])
    assert all(not isinstance(r, Exception) and r.audio.size for r in results)


def test_batch_keeps_each_line_in_its_language(engine: KokoroEngine) -> None:
    results = engine.speak_batch([LINES["f"], LINES["i"]], ["ff_siwis", "if_sara"], ["f", "i"])
    for result in results:
        assert not isinstance(result, Exception) and result.audio.size > 0
    assert {"f", "i"} <= set(engine.pipelines.languages)


#: Japanese and Chinese chat lines, and a syllable their reading must contain (misaki's G2P, not espeak's).
CJK_LINES = {
    "j": ("こんにちは、今日の配信も楽しみにしてました！", "koɲɲiʨiβa"),
    "z": ("大家好，今天的直播太精彩了！", "ʨi→ntʰjɛ→n"),
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every connection attempt fails and is recorded: the G2P must read with what is installed."""
    tried: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        tried.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield tried


@pytest.mark.parametrize("code", sorted(CJK_LINES))
def test_japanese_and_chinese_are_read_by_misaki_offline_and_rendered(engine: KokoroEngine, code: str,
                                                                      no_network: list[object]) -> None:
    install = missing_for_offline(code)
    if install is not None:
        pytest.skip(f"{code}: its G2P packages are not installed here ({install})")
    text, syllable = CJK_LINES[code]
    plan = engine.plan(text, code)
    pipeline, kind = engine.pipelines.get(code)
    assert kind == {"j": "misaki-ja", "z": "misaki-zh"}[code] and pipeline.model is None
    assert syllable in " ".join(chunk.phonemes for chunk in plan)
    speech = engine.speak(text, voice=DEFAULT_VOICES[code], lang=code)
    assert speech.audio.size > 0 and np.isfinite(speech.audio).all()
    assert speech.captions.source == "estimated" and speech.captions.words
    assert no_network == []  # nothing was fetched: dictionaries come from the installed packages


def test_japanese_never_reaches_the_downloading_readers() -> None:
    if missing_for_offline("j") is not None:
        pytest.skip(f"j: its G2P packages are not installed here ({missing_for_offline('j')})")
    prepare_japanese()
    import unidic_lite
    from misaki import cutlet, ja

    tagger = cutlet.Tagger()
    assert unidic_lite.DICDIR in tagger.dictionary_info[0]["filename"]  # unidic-lite's, never unidic's
    if "pyopenjtalk" not in sys.modules:  # not installed: the stand-in refuses its downloading reader
        with pytest.raises(RuntimeError, match="downloads its dictionary"):
            ja.pyopenjtalk.run_frontend("テスト")


@pytest.mark.parametrize("code", sorted(LINES))
def test_each_espeak_language_reads_and_sounds_exactly_like_plain_kokoro(engine: KokoroEngine, code: str) -> None:
    """Same phonemes as ``KPipeline(lang_code=X)``, and the same audio for the same random draw (Kokoro's
    vocoder starts each harmonic at a random phase and adds noise, so two renders of a line differ otherwise)."""
    from kokoro import KPipeline

    plain = KPipeline(lang_code=code, repo_id="hexgrad/Kokoro-82M", model=engine.model)
    pack = engine.voice_packs.get(DEFAULT_VOICES[code])
    ours = [chunk.phonemes for chunk in engine.plan(LINES[code], code)]
    theirs = [result.phonemes for result in plain(LINES[code], voice=pack)]
    assert ours == theirs
    torch.manual_seed(7)
    audio = engine.speak(LINES[code], voice=DEFAULT_VOICES[code], lang=code).audio
    torch.manual_seed(7)
    reference = np.concatenate([r.audio.numpy() for r in plain(LINES[code], voice=pack) if r.audio is not None])
    assert audio.shape == reference.shape and np.array_equal(audio, reference)
