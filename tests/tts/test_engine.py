"""The Kokoro engine through the real kokoro code path, with the tiny random model."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.voice_mix import VoiceMixError
from tts.engine import (
    CPU_RENDER_PHONEMES,
    MAX_PHONEMES,
    EngineConfig,
    EngineUnavailable,
    KokoroEngine,
    _split_phonemes,
)
from tts.wav import write_wav_atomic

VOICES = {"jared": "am_adam", "lex": "am_eric", "martha": "am_michael", "heart": "af_heart"}


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> KokoroEngine:
    return KokoroEngine.load(EngineConfig(model_dir=str(tiny_model_dir), device="cpu",
                                          voice="jared50_lex30_martha20", voices=VOICES))


def test_offline_english_uses_misakis_lexicon(engine: KokoroEngine) -> None:
    # en_core_web_sm cannot be downloaded here: the engine must have degraded, not failed
    assert engine.g2p_kind == "misaki-lexicon"
    phonemes = engine.phonemize("I have 3,497 viewers.")
    assert len(phonemes) == 1 and "θˈWzᵊnd" in phonemes[0]


def test_synthesis_gives_24khz_audio(engine: KokoroEngine, tmp_path: Path) -> None:
    audio = engine.synthesize("Hello there, how are you?")
    assert audio.dtype == np.float32 and audio.ndim == 1 and audio.size > 0
    size = write_wav_atomic(tmp_path / "a.wav", audio)
    info = sf.info(str(tmp_path / "a.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (24_000, 1, "PCM_16")
    assert size == (tmp_path / "a.wav").stat().st_size
    assert not list(tmp_path.glob(".*.part"))


def test_long_text_is_chunked_to_the_model_context(engine: KokoroEngine) -> None:
    chunks = engine.phonemize(" ".join(["This sentence is here to make the text long."] * 30))
    assert len(chunks) > 1 and all(len(c) <= MAX_PHONEMES for c in chunks)


def test_mix_is_the_percent_weighted_sum(engine: KokoroEngine, tiny_model_dir: Path) -> None:
    packs = {v: torch.load(tiny_model_dir / "voices" / f"{v}.pt", weights_only=True)
             for v in ("am_adam", "am_eric", "am_michael")}
    expected = 0.5 * packs["am_adam"] + 0.3 * packs["am_eric"] + 0.2 * packs["am_michael"]
    engine.set_voice("jared50_lex30_martha20", VOICES, 1.0)
    assert torch.allclose(engine.pipeline.voices["jared50_lex30_martha20"], expected, atol=1e-6)


@pytest.mark.slow  # renders the same line at several speeds and voices
def test_speed_and_voice_change_the_audio(engine: KokoroEngine) -> None:
    engine.set_voice("heart100", VOICES, 1.0)
    heart = engine.synthesize("Testing the voice.")
    engine.set_voice("jared100", VOICES, 1.0)
    jared = engine.synthesize("Testing the voice.")
    assert heart.shape == jared.shape and not np.allclose(heart, jared)
    # the tiny model predicts one frame per phoneme at speed 1; speed 0.5 doubles every duration
    engine.set_voice("jared100", VOICES, 0.5)
    slow = engine.synthesize("Testing the voice.")
    assert abs(slow.size / jared.size - 2.0) < 0.1
    engine.set_voice("jared50_lex30_martha20", VOICES, 1.0)


def test_bad_voice_is_refused_and_the_old_one_stays(engine: KokoroEngine) -> None:
    engine.set_voice("jared50_lex30_martha20", VOICES, 1.0)
    with pytest.raises(VoiceMixError):
        engine.set_voice("jared90", VOICES, 1.0)
    with pytest.raises(EngineUnavailable, match="zz_nobody"):
        engine.set_voice("zz_nobody", VOICES, 1.0)
    assert engine.voice_spec == "jared50_lex30_martha20"


def test_missing_weights_are_reported(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"no config\.json"):
        KokoroEngine.load(EngineConfig(model_dir=str(tmp_path), device="cpu", voice="af_heart"))


def test_split_phonemes_respects_the_context() -> None:
    long = ", ".join(["ðɪs ɪz ɐ tˈɛst"] * 80)
    chunks = _split_phonemes(long)
    assert all(0 < len(c) <= MAX_PHONEMES for c in chunks)
    assert "".join(chunks).replace(" ", "").replace(",", "") == long.replace(" ", "").replace(",", "")
    assert _split_phonemes("x" * 1200) == ["x" * 510, "x" * 510, "x" * 180]


def test_two_lanes_phonemize_at_once_without_garbling(engine: KokoroEngine) -> None:
    """Render lanes plan lines on their own threads; words unknown to the lexicon go through espeak-ng,
    whose global state two threads at once used to garble ("number of lines in input and output")."""
    from concurrent.futures import ThreadPoolExecutor

    lines = [f"@streamer zorblax{i} quenfrith skorvel {i} glimmerbat" for i in range(30)]
    expected = [engine.phonemize(line) for line in lines]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(engine.phonemize, lines * 2))
    assert results == expected * 2


LONG_LINE = ("I just wanted to say that this stream has been absolutely amazing tonight. The boss fight was "
             "incredible, and I can't believe you dodged that last attack with only one heart left! Keep it "
             "up, and please remember to take a break and drink some water, okay?")


def test_a_long_line_is_planned_sentence_by_sentence(engine: KokoroEngine) -> None:
    plan = engine.plan(LONG_LINE)
    spoken = ["".join(t.text + (" " if t.whitespace else "") for t in chunk.tokens).strip() for chunk in plan]
    assert spoken == ["I just wanted to say that this stream has been absolutely amazing tonight.",
                      "The boss fight was incredible, and I can't believe you dodged that last attack with "
                      "only one heart left!",
                      "Keep it up, and please remember to take a break and drink some water, okay?"]
    assert all(len(chunk.phonemes) <= MAX_PHONEMES for chunk in plan)
    # a short line with two sentences stays one chunk, as before
    assert len(engine.plan("Hello there! How are you doing today?")) == 1


def test_the_espeak_tier_cuts_long_lines_the_same_way(engine: KokoroEngine) -> None:
    from tts.engine import _phoneme_sentences
    phonemes = " ".join(["həlˈoʊ wˈɜːld ðɪs ɪz ɐ lˈɔŋ sˈɛntəns ɐbˌaʊt nˈʌθɪŋ."] * 4)
    assert _phoneme_sentences(phonemes) == ["həlˈoʊ wˈɜːld ðɪs ɪz ɐ lˈɔŋ sˈɛntəns ɐbˌaʊt nˈʌθɪŋ."] * 4
    assert _phoneme_sentences("hˈaɪ. ðˈɛɹ.") == ["hˈaɪ. ðˈɛɹ."]


RUN_ON = ("honestly this is the best stream i have watched all week and the music the jokes and the way you "
          "handle chat make my evenings so much better thank you")  # 30 words, no mark to cut at


def test_one_cpu_lane_and_a_run_on_line_is_planned_within_the_phoneme_cap(engine: KokoroEngine) -> None:
    assert (engine.lanes, engine.render_phonemes) == (1, CPU_RENDER_PHONEMES)
    plan = engine.plan(RUN_ON)
    assert len(plan) >= 2 and all(len(chunk.phonemes) <= CPU_RENDER_PHONEMES for chunk in plan)
    assert sum(len(c.phonemes) for c in plan) > CPU_RENDER_PHONEMES  # uncapped it would be one render over the cap
    spoken = " ".join("".join(t.text + (" " if t.whitespace else "") for t in chunk.tokens).strip() for chunk in plan)
    assert spoken == RUN_ON  # every word once, in order
    sizes = [len(chunk.phonemes) for chunk in plan]
    assert max(sizes) - min(sizes) < 0.5 * max(sizes)  # equal parts, not a full piece and a scrap
    from tts.engine import _phoneme_sentences  # the espeak tier caps the same way
    words = " ".join(["hˈɛloʊ"] * 40)  # 280 phonemes, no mark
    assert _phoneme_sentences(words) == [words]
    assert [len(p.split()) for p in _phoneme_sentences(words, CPU_RENDER_PHONEMES)] == [13, 13, 14]


def test_a_capped_line_renders_its_pieces_into_one_audio_and_times_every_word(engine: KokoroEngine) -> None:
    seen: list[np.ndarray] = []
    speech = engine.speak(RUN_ON, on_chunk=seen.append)
    assert len(seen) == len(engine.plan(RUN_ON)) and all(chunk.size > 0 for chunk in seen)  # seams trimmed
    assert np.array_equal(np.concatenate(seen), speech.audio)  # the pieces joined, in order, nothing lost
    words = speech.captions.words
    assert [w.text for w in words] == RUN_ON.split()
    assert all(a.end <= b.start + 1e-6 for a, b in pairwise(words))  # in time order
    assert words[-1].end <= speech.audio.size / 24_000 + 1e-6


@pytest.mark.slow  # renders a many-sentence line
def test_each_sentence_reaches_on_chunk_as_it_is_rendered(engine: KokoroEngine) -> None:
    seen: list[np.ndarray] = []
    speech = engine.speak(LONG_LINE, on_chunk=seen.append)
    assert len(seen) == 3 and all(chunk.size > 0 for chunk in seen)
    assert np.array_equal(np.concatenate(seen), speech.audio)  # the stream is exactly the stored audio
    again = engine.speak(LONG_LINE, plan=engine.plan(LONG_LINE))  # a plan made beforehand: the same timing
    assert again.audio.shape == speech.audio.shape and again.captions == speech.captions  # (kokoro's noise varies)


def test_a_piece_cut_mid_sentence_keeps_only_a_short_end_pad() -> None:
    from tts.engine import SEAM_PAD_FRAMES, _trim_seam
    durations = [14, 5, 6, 7, 17]  # start pad, three phonemes, end pad (frames of 600 samples)
    audio = np.ones(sum(durations) * 600, dtype=np.float32)
    trimmed = _trim_seam(audio, durations, "wˈɜːd")  # cut between words: the end pad shrinks
    assert trimmed.size == (14 + 5 + 6 + 7 + SEAM_PAD_FRAMES) * 600
    assert _trim_seam(audio, durations, "wˈɜːd,").size == trimmed.size  # a comma is mid-sentence too
    assert _trim_seam(audio, durations, "wˈɜːd.").size == audio.size  # a sentence end keeps its pause
    assert _trim_seam(audio, [3, 2], "wˈɜːd").size == audio.size  # no pads to read: left alone


def test_the_piece_after_a_mid_sentence_cut_keeps_a_short_start_pad_and_its_timing() -> None:
    from core.captions import FRAME_S, Token, token_times
    from tts.engine import SEAM_PAD_FRAMES, _trim_lead
    durations = [14, 5, 6, 17]  # start pad, a two-phoneme word, the end pad
    audio = np.arange(sum(durations) * 600, dtype=np.float32)
    trimmed, shorter = _trim_lead(audio, durations)
    dropped = 14 - SEAM_PAD_FRAMES
    assert shorter == [SEAM_PAD_FRAMES, 5, 6, 17] and trimmed.size == audio.size - dropped * 600
    assert trimmed[0] == audio[dropped * 600]  # the start is cut, nothing else
    word = [Token("hi", "ha", False)]
    before, after = token_times(word, durations)[0], token_times(word, shorter)[0]
    assert before is not None and after is not None
    assert after[0] == pytest.approx(before[0] - dropped * FRAME_S)  # the word moves with its audio
    assert after[1] - after[0] == pytest.approx(before[1] - before[0])
    assert _trim_lead(audio, [3, 2]) == (audio, [3, 2])
