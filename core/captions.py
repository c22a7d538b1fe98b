"""Per-item word timings ("captions"): which word is spoken when, for the overlay's highlighted text.

Produced at synthesis time from Kokoro's own predicted durations (``pred_dur``: one count of 25 ms frames per
input phoneme, 600 samples at 24 kHz each), stored with the item as JSON and served unchanged by
``GET /api/items/{id}/captions`` and the WebSocket ``play`` frame (format: docs/captions.md).

Two sources:

- ``tokens``: the misaki G2P tiers give tokens (text, phonemes, whitespace); each token's time is the sum of
  its phonemes' durations, the same arithmetic as kokoro's ``KPipeline.join_timestamps``. Tokens not
  separated by whitespace ("do" + "n't", "amazing" + ",") form one word, so the words are the spoken text's.
- ``estimated``: the plain espeak-ng tier (and misaki's Japanese and Chinese readers) has no tokens; each
  chunk's audio is spread over its words in proportion to their phoneme (or character) count. Japanese and
  Chinese put no spaces between words: their clauses (cut after 、。，！？) are the caption's words.

Pure functions on plain numbers: no torch, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

#: Audio seconds per predicted-duration frame (600 samples at 24 kHz).
FRAME_S = 600 / 24_000
Source = Literal["tokens", "estimated"]
#: A clause of text written without spaces (Japanese, Chinese), with the full-width marks that close it.
_CLAUSE = re.compile(r"[^、。，！？：；]+[、。，！？：；]*|[、。，！？：；]+")
#: Words start this many half-frames before the frame count says. kokoro's ``join_timestamps`` uses 6 (3 frames,
#: 75 ms); on the real weights that puts boundaries ~35 ms early: the RMS near a boundary, relative to the
#: speech median, was 0.55 at kokoro's offset, 0.21 at 1.5 frames, and 0.46 at random points (5 lines,
#: 67 boundaries; tests/tts/test_word_timings.py checks it when real weights are at hand).
LEAD_HALF_FRAMES = 3


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Captions:
    duration: float
    source: Source
    words: tuple[Word, ...]

    def to_dict(self) -> dict[str, Any]:
        """The wire format (without the item id): ``{"duration", "source", "words": [{text, start, end}]}``."""
        return {"duration": round(self.duration, 3), "source": self.source,
                "words": [{"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3)} for w in self.words]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Captions:
        data = json.loads(raw)
        words = tuple(Word(str(w["text"]), float(w["start"]), float(w["end"])) for w in data["words"])
        source: Source = "tokens" if data["source"] == "tokens" else "estimated"
        return cls(float(data["duration"]), source, words)


@dataclass(frozen=True, slots=True)
class Token:
    """A G2P token as timing needs it: its text, its phonemes and whether whitespace follows it."""

    text: str
    phonemes: str
    whitespace: bool


@dataclass(frozen=True, slots=True)
class TimedChunk:
    """One rendered chunk: its tokens (None on the espeak tier), phonemes, frame durations, audio length."""

    tokens: Sequence[Token] | None
    phonemes: str
    durations: Sequence[int]
    audio_s: float


def token_times(tokens: Sequence[Token], durations: Sequence[int]) -> list[tuple[float, float] | None]:
    """Start/end seconds of each token within its chunk, following ``KPipeline.join_timestamps`` (but for the
    lead before the first word, ``LEAD_HALF_FRAMES``).

    ``durations`` has one entry per model input symbol: the start pad, each phoneme (a space between
    tokens is a phoneme too) and the end pad. Half of a space's duration goes to each neighbouring token's gap.
    Tokens without phonemes (or beyond the durations) get None.
    """
    out: list[tuple[float, float] | None] = []
    if len(durations) < 3:
        return [None] * len(tokens)
    half = FRAME_S / 2
    left = right = max(0, 2 * durations[0] - LEAD_HALF_FRAMES)  # in half-frames
    i = 1
    for token in tokens:
        if i >= len(durations) - 1:
            out.append(None)
            continue
        if not token.phonemes:
            if token.whitespace:  # kokoro's own arithmetic for a bare space
                i += 1
                if i < len(durations):
                    left = right + durations[i]
                    right = left + durations[i]
                i += 1
            out.append(None)
            continue
        j = i + len(token.phonemes)
        if j >= len(durations):
            out.append(None)
            continue
        start = left
        token_frames = sum(durations[i:j])
        space = durations[j] if token.whitespace else 0
        left = right + 2 * token_frames + space
        out.append((start * half, left * half))
        right = left + space
        i = j + (1 if token.whitespace else 0)
    return out


def _words_from_tokens(chunk: TimedChunk, offset: float) -> list[Word]:
    assert chunk.tokens is not None
    times = token_times(chunk.tokens, chunk.durations)
    words: list[Word] = []
    text, start, end = "", None, None
    for token, span in zip(chunk.tokens, times, strict=True):
        text += token.text
        if span is not None:
            start = span[0] if start is None else start
            end = span[1]
        if token.whitespace and text.strip():
            words.append(_word(text, start, end, offset, words))
            text, start, end = "", None, None
    if text.strip():
        words.append(_word(text, start, end, offset, words))
    return words


def _word(text: str, start: float | None, end: float | None, offset: float, before: list[Word]) -> Word:
    previous = before[-1].end if before else offset
    if start is None or end is None:  # nothing voiced (an emoji, a symbol): a zero-length word in place
        return Word(text.strip(), previous, previous)
    return Word(text.strip(), offset + start, offset + end)


def _estimated_words(chunk: TimedChunk, text_words: Sequence[str], offset: float) -> list[Word]:
    """Spread the chunk's audio over ``text_words`` by phoneme count (character count when they differ)."""
    if not text_words:
        return []
    voiced = chunk.audio_s
    lead = 0.0
    if len(chunk.durations) >= 3:  # the pads are silence: leave them out of the spread
        lead = chunk.durations[0] * FRAME_S
        voiced = max(0.0, sum(chunk.durations[1:-1]) * FRAME_S)
    ph_words = chunk.phonemes.split()
    weights = ([len(w) for w in ph_words] if len(ph_words) == len(text_words)
               else [len(w) for w in text_words])
    total = sum(weights) or 1
    words, t = [], offset + lead
    for word, weight in zip(text_words, weights, strict=True):
        span = voiced * weight / total
        words.append(Word(word, t, t + span))
        t += span
    return words


def caption_words(text: str) -> list[str]:
    """The text's words for estimated timings: split at spaces, and Japanese/Chinese runs after each clause."""
    return [clause for word in text.split() for clause in _CLAUSE.findall(word)]


def build_captions(chunks: Sequence[TimedChunk], text: str) -> Captions:
    """Word timings for a whole item from its rendered chunks, in order; times clipped to the audio."""
    duration = sum(c.audio_s for c in chunks)
    if chunks and all(c.tokens is not None for c in chunks):
        words, offset = [], 0.0
        for chunk in chunks:
            words.extend(_words_from_tokens(chunk, offset))
            offset += chunk.audio_s
        return Captions(duration, "tokens", _clip(words, duration))
    # espeak tier: hand the text's words to chunks in proportion to their phoneme words
    text_words = caption_words(text)
    counts = [max(1, len(c.phonemes.split())) for c in chunks]
    total = sum(counts) or 1
    words, offset, taken = [], 0.0, 0
    for n, chunk in enumerate(chunks):
        share = (len(text_words) - taken if n == len(chunks) - 1
                 else round(len(text_words) * sum(counts[: n + 1]) / total) - taken)
        words.extend(_estimated_words(chunk, text_words[taken : taken + share], offset))
        taken += share
        offset += chunk.audio_s
    return Captions(duration, "estimated", _clip(words, duration))


def _clip(words: list[Word], duration: float) -> tuple[Word, ...]:
    """Monotonic and inside ``[0, duration]`` whatever rounding did."""
    out: list[Word] = []
    floor = 0.0
    for w in words:
        start = min(max(w.start, floor), duration)
        end = min(max(w.end, start), duration)
        out.append(Word(w.text, start, end))
        floor = end
    return tuple(out)
