"""Where a long line is cut into the pieces Kokoro renders one at a time ("long lines speak sooner").

A line is audible only once its first piece is rendered, so a long line is cut at sentence ends: its first
sentence plays while the rest renders. Short lines stay one piece (exactly as before: no extra seams where
nobody would wait anyway). A sentence with no end in sight is cut at a clause mark (``, ; : —``) once it is
long, so a run-on line does not wait for its whole self either. Kokoro's own 510-symbol limit is applied
afterwards by the caller, as before.

A render's working memory grows with its piece's length (about 1.2 MiB per phoneme on CPU, bench/README.md
"Footprint"), so ``cap_cuts`` bounds every piece at ``max_piece`` phonemes whatever the line: a piece over
the cap is cut into equal parts, each at a clause mark near its share when there is one, else between words.

Pure: it sees only each token's phoneme length and the kind of mark it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from itertools import pairwise
from typing import TypeVar

T = TypeVar("T")

#: Lines with fewer phonemes than this stay one piece (~ 100 characters of English).
SPLIT_ABOVE = 150
#: A piece is never cut shorter than this many phonemes (a lone "Oh." rides along with the next sentence).
MIN_PIECE = 8
#: A sentence longer than this is cut at its next clause mark.
CLAUSE_ABOVE = 200

SENTENCE_MARKS = frozenset("!.?…")
CLAUSE_MARKS = frozenset(",;:—")
#: Closing marks that belong to the piece before the cut (kokoro's "bumps").
CLOSERS = frozenset(")”\"'»")


class Mark(IntEnum):
    NONE = 0
    CLAUSE = 1
    SENTENCE = 2


def mark_of(symbol: str) -> Mark:
    """The kind of boundary a token ends with (its phonemes, or its text): ``left!`` ends a sentence."""
    symbol = symbol.strip().rstrip("".join(CLOSERS))
    if symbol and symbol[-1] in SENTENCE_MARKS:
        return Mark.SENTENCE
    if symbol and symbol[-1] in CLAUSE_MARKS:
        return Mark.CLAUSE
    return Mark.NONE


def is_closer(symbol: str) -> bool:
    """A token made only of closing marks (it stays with the piece before a cut)."""
    symbol = symbol.strip()
    return bool(symbol) and all(ch in CLOSERS for ch in symbol)


@dataclass(frozen=True, slots=True)
class Piece:
    """One token as the splitter sees it: its phoneme count, the mark it is, whether it is a closer."""

    phonemes: int
    mark: Mark = Mark.NONE
    closer: bool = False


def cut_points(pieces: Sequence[Piece], *, split_above: int = SPLIT_ABOVE, min_piece: int = MIN_PIECE,
               clause_above: int = CLAUSE_ABOVE) -> list[int]:
    """Indices where a new chunk starts (never 0, strictly increasing). Empty: keep the line whole."""
    if sum(p.phonemes for p in pieces) <= split_above:
        return []
    cuts: list[int] = []
    size = 0
    i = 0
    while i < len(pieces):
        size += pieces[i].phonemes
        mark = pieces[i].mark
        if mark is Mark.SENTENCE or (mark is Mark.CLAUSE and size > clause_above):
            end = i + 1
            while end < len(pieces) and (pieces[end].closer
                                         or (mark is Mark.SENTENCE and pieces[end].mark is Mark.SENTENCE)):
                size += pieces[end].phonemes  # "?!", "...", or a closing quote stay with their sentence
                end += 1
            rest = sum(p.phonemes for p in pieces[end:])
            if size >= min_piece and rest >= min_piece and end < len(pieces):
                cuts.append(end)
                size = 0
            i = end
            continue
        i += 1
    return cuts


def cap_cuts(pieces: Sequence[Piece], cuts: Sequence[int], max_piece: int) -> list[int]:
    """``cuts`` (from ``cut_points``) plus the cuts that keep every chunk at most ``max_piece`` phonemes.

    A chunk over the cap is cut into ``ceil(size / max_piece)`` parts of about equal size (a 130-phoneme line
    with a cap of 120 becomes two of ~65, not 120 + 10): each cut goes at the clause or sentence mark nearest to
    its share within the cap, else at the word boundary nearest to it. A single token longer than the cap stays
    whole (kokoro's 510-symbol limit still applies). ``max_piece`` 0: no cap."""
    if max_piece <= 0:
        return list(cuts)
    out: list[int] = []
    for start, end in pairwise([0, *cuts, len(pieces)]):
        out += _cap_chunk(pieces, start, end, max_piece)
        if end < len(pieces):
            out.append(end)
    return out


def _cap_chunk(pieces: Sequence[Piece], start: int, end: int, max_piece: int) -> list[int]:
    """Cuts inside ``pieces[start:end]`` that bring each part to at most ``max_piece`` phonemes."""
    cuts: list[int] = []
    while True:
        sizes = [p.phonemes for p in pieces[start:end]]
        total = sum(sizes)
        if total <= max_piece or end - start < 2:
            return cuts
        share = total / -(-total // max_piece)  # the size of each of the equal parts
        best: tuple[tuple[bool, float], int] | None = None  # (unmarked, distance to the share), cut index
        size = 0
        for index in range(start + 1, end):
            size += pieces[index - 1].phonemes
            if size > max_piece:
                break
            if pieces[index].closer:
                continue  # a closing mark stays with the piece before it
            marked = pieces[index - 1].mark is not Mark.NONE and size >= share / 2
            key = (not marked, abs(size - share))
            if best is None or key < best[0]:
                best = (key, index)
        cut = start + 1 if best is None else best[1]  # best None: the first token alone is over the cap
        cuts.append(cut)
        start = cut


def split_at(items: Sequence[T], cuts: Sequence[int]) -> list[list[T]]:
    """``items`` cut at ``cuts`` (from ``cut_points``)."""
    bounds = [0, *cuts, len(items)]
    return [list(items[a:b]) for a, b in pairwise(bounds) if b > a]
