"""One G2P pipeline per language on the one model: real espeak-ng G2P, the tiny model renders every language."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.language_settings import DEFAULT_VOICES
from tests.helpers import SharedEngineLoader
from tts.engine import EngineConfig, KokoroEngine
from tts.language_pipelines import LanguagePipelines

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
    pipelines = LanguagePipelines("a", (engine.pipeline, engine.g2p_kind), lambda code: (made.append(code) or
                                                                                        (object(), "espeak")))
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
