"""Where long lines are cut: sentence ends, clause marks in long sentences, nothing short."""

from __future__ import annotations

from core.speech_chunks import Mark, Piece, cap_cuts, cut_points, is_closer, mark_of, split_at


def words(*spec: str) -> list[Piece]:
    """``"20"`` a 20-phoneme word, ``"20."`` one that ends a sentence, ``"20,"`` a clause, ``")"`` a closer."""
    pieces = []
    for word in spec:
        if word == ")":
            pieces.append(Piece(1, Mark.NONE, closer=True))
            continue
        size = int(word.rstrip(".,"))
        pieces.append(Piece(size, mark_of(word)))
    return pieces


def test_marks_read_the_end_of_a_token() -> None:
    assert mark_of("lˈɛft!") is Mark.SENTENCE and mark_of("?!") is Mark.SENTENCE and mark_of("…") is Mark.SENTENCE
    assert mark_of("ˈʌp,") is Mark.CLAUSE and mark_of(";") is Mark.CLAUSE and mark_of("—") is Mark.CLAUSE
    assert mark_of("wˈɔTəɹ") is Mark.NONE and mark_of("") is Mark.NONE
    assert mark_of('okay."') is Mark.SENTENCE  # a closing quote after the stop
    assert is_closer(")") and is_closer("”") and not is_closer("a)") and not is_closer("")


def test_a_short_line_stays_whole_whatever_its_sentences() -> None:
    assert cut_points(words("20.", "20.", "20.")) == []  # 60 phonemes: nobody waits for it
    assert cut_points(words("150")) == []


def test_a_long_line_is_cut_after_each_sentence() -> None:
    pieces = words("30", "30.", "30", "30.", "30", "30.")
    assert cut_points(pieces) == [2, 4]
    assert split_at(list("abcdef"), [2, 4]) == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_tiny_sentences_ride_with_the_next_and_the_tail_is_never_tiny() -> None:
    # "Oh." (5) is below the minimum piece: it stays with what follows; a 5-phoneme tail stays with its sentence
    assert cut_points(words("5.", "80", "80.", "5.")) == []
    assert cut_points(words("5.", "80", "80.", "60", "5.")) == [3]
    assert cut_points(words("10.", "80", "80.")) == [1]  # "Hello all." is a piece of its own


def test_runs_of_marks_and_closers_stay_with_their_sentence() -> None:
    pieces = words("90", "1.", "1.", ")", "90", "40.")
    assert cut_points(pieces) == [4]


def test_a_long_sentence_is_cut_at_a_clause_mark_only_when_long() -> None:
    assert cut_points(words("60,", "60,", "60,", "60.")) == []  # every clause < 200: one sentence, one piece
    assert cut_points(words("120", "90,", "60,", "60.")) == [2]  # the first comma past 200 phonemes
    assert cut_points(words("300")) == []  # no mark at all: left whole (kokoro's 510 limit still applies)


def sizes(pieces: list[Piece], cuts: list[int]) -> list[int]:
    return [sum(p.phonemes for p in part) for part in split_at(pieces, cuts)]


def test_the_cap_bounds_every_piece_of_a_run_on_line_in_equal_parts() -> None:
    run_on = words(*["10"] * 30)  # 300 phonemes, no mark at all: left whole without a cap
    assert cut_points(run_on) == []
    cuts = cap_cuts(run_on, cut_points(run_on), 120)
    assert sizes(run_on, cuts) == [100, 100, 100]  # three equal parts, not 120 + 120 + 60
    thirteen = words(*["10"] * 13)
    assert sizes(thirteen, cap_cuts(thirteen, [], 120)) == [60, 70]  # not 120 + 10 (a tie: the shorter first)


def test_the_cap_cuts_at_a_clause_mark_near_the_share_before_a_bare_word_boundary() -> None:
    pieces = words("30", "30", "10,", "30", "30", "30")  # 160 phonemes; the comma sits at 70 of the 80 share
    assert cap_cuts(pieces, [], 120) == [3]
    early = words("10,", "30", "30", "30", "30", "30")  # a comma far before the share (< half of it): ignored
    assert cap_cuts(early, [], 120) == [3]


def test_the_cap_keeps_existing_cuts_and_closers_and_leaves_short_or_single_tokens() -> None:
    pieces = words("80", "80.", "50", "50", "50.")
    assert cut_points(pieces) == [2]
    assert cap_cuts(pieces, [2], 120) == [1, 2, 3]  # each sentence over the cap is cut; the sentence cut stays
    assert cap_cuts(words("40", "60", ")", "60"), [], 120) == [3]  # the closer stays with the piece before it
    assert cap_cuts(words("40", "40"), [], 120) == []
    assert cap_cuts(words("300"), [], 120) == []  # one token cannot be cut (kokoro's 510 limit applies)
    assert cap_cuts(words(*["10"] * 30), [], 0) == []  # 0: no cap
