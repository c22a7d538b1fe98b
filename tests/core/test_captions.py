"""Word timings from predicted durations: kokoro's arithmetic, words = the spoken text's, always in bounds."""

from __future__ import annotations

import pytest

from core.captions import (
    FRAME_S,
    LEAD_HALF_FRAMES,
    Captions,
    TimedChunk,
    Token,
    build_captions,
    caption_words,
    token_times,
)


def test_token_times_follow_the_phoneme_durations() -> None:
    # "hi there": pad, h, i, space, ð, ɛ, r, pad
    tokens = [Token("hi", "hi", True), Token("there", "ðɛr", False)]
    durations = [5, 2, 3, 4, 1, 1, 2, 6]
    (a_start, a_end), (b_start, b_end) = token_times(tokens, durations)  # type: ignore[misc]
    assert a_start == pytest.approx(5 * FRAME_S - LEAD_HALF_FRAMES * FRAME_S / 2)  # the leading pad, less the lead
    assert a_end == pytest.approx(a_start + (2 + 3) * FRAME_S + 4 * FRAME_S / 2)  # half the space
    assert b_start == pytest.approx(a_end)  # the other half of the space opens the next word
    assert b_end == pytest.approx(b_start + 4 * FRAME_S / 2 + (1 + 1 + 2) * FRAME_S)


def test_glued_tokens_make_one_word_and_chunks_are_offset() -> None:
    first = TimedChunk((Token("I", "I", True), Token("do", "du", False), Token("n't", "nt", True),
                        Token("know", "nO", False), Token(",", ",", False)), "I dunt nO,",
                       [4, 2, 1, 2, 2, 1, 1, 1, 3, 3, 2, 4], 30 * FRAME_S)
    second = TimedChunk((Token("ok", "Oke", False), Token(".", ".", False)), "Oke.", [4, 2, 2, 2, 3, 4],
                        17 * FRAME_S)
    captions = build_captions([first, second], "I don't know, ok.")
    assert captions.source == "tokens"
    assert [w.text for w in captions.words] == ["I", "don't", "know,", "ok."]
    assert captions.words[-1].start >= 30 * FRAME_S  # second chunk starts after the first chunk's audio
    assert captions.duration == pytest.approx(47 * FRAME_S)
    _assert_well_formed(captions)


def test_unvoiced_token_gets_a_zero_length_word_in_place() -> None:
    chunk = TimedChunk((Token("wow", "wW", True), Token("🎉", "", True), Token("nice", "nIs", False)),
                       "wW nIs", [4, 2, 2, 1, 2, 2, 2, 4], 19 * FRAME_S)
    captions = build_captions([chunk], "wow 🎉 nice")
    assert [w.text for w in captions.words] == ["wow", "🎉", "nice"]
    assert captions.words[1].start == captions.words[1].end == captions.words[0].end
    _assert_well_formed(captions)


def test_espeak_tier_spreads_each_chunk_over_its_words() -> None:
    chunks = [TimedChunk(None, "hɛloʊ ðɛɹ", [3] + [2] * 9 + [3], 24 * FRAME_S),
              TimedChunk(None, "haʊ ɑːɹ juː", [3] + [2] * 11 + [3], 28 * FRAME_S)]
    captions = build_captions(chunks, "hello there how are you")
    assert captions.source == "estimated"
    assert [w.text for w in captions.words] == ["hello", "there", "how", "are", "you"]
    assert captions.words[2].start >= 24 * FRAME_S  # "how" is in the second chunk
    assert captions.words[0].start == pytest.approx(3 * FRAME_S)  # after the leading pad's silence
    _assert_well_formed(captions)


def test_japanese_and_chinese_lines_are_timed_clause_by_clause() -> None:
    assert caption_words("こんにちは、今日の配信も楽しみ！ www") == ["こんにちは、", "今日の配信も楽しみ！", "www"]
    assert caption_words("大家好，今天的直播太精彩了") == ["大家好，", "今天的直播太精彩了"]
    assert caption_words("hello, there. ¿qué tal?") == ["hello,", "there.", "¿qué", "tal?"]  # spaces only
    chunk = TimedChunk(None, "ta↘ʨja→ xau↓, ʨi→ntʰjɛ→n tɤ ꭧɨ↗pwo→", [3] + [2] * 26 + [3], 58 * FRAME_S)
    captions = build_captions([chunk], "大家好，今天的直播")
    assert [w.text for w in captions.words] == ["大家好，", "今天的直播"]
    assert captions.words[0].end < captions.words[1].end
    _assert_well_formed(captions)


def test_json_round_trip_is_the_wire_format() -> None:
    chunk = TimedChunk((Token("hey", "hA", False),), "hA", [4, 3, 3, 4], 14 * FRAME_S)
    captions = build_captions([chunk], "hey")
    data = captions.to_dict()
    assert set(data) == {"duration", "source", "words"} and set(data["words"][0]) == {"text", "start", "end"}
    assert Captions.from_json(captions.to_json()).to_dict() == data


def test_times_are_clipped_to_the_audio() -> None:
    # durations that claim more time than the audio has (a truncated chunk): still inside [0, duration]
    chunk = TimedChunk((Token("long", "lɔŋ", False),), "lɔŋ", [10, 50, 50, 50, 10], 20 * FRAME_S)
    _assert_well_formed(build_captions([chunk], "long"))


def _assert_well_formed(captions: Captions) -> None:
    previous_end = 0.0
    for word in captions.words:
        assert 0 <= previous_end <= word.start <= word.end <= captions.duration
        previous_end = word.end
