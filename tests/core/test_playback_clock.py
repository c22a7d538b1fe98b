"""When a player can have finished a streamed line: waits for slow sentences count."""

from __future__ import annotations

import pytest

from core.playback_clock import earliest_end, unplayed_seconds


def test_a_render_faster_than_speech_ends_when_the_audio_does() -> None:
    assert earliest_end(10.0, [(9.5, 2.0), (10.5, 3.0), (11.0, 1.0)]) == pytest.approx(16.0)


def test_a_player_waiting_for_slow_sentences_ends_later_than_audio_since_start() -> None:
    # 2 s of audio at the start, the other 3 s only 8 s later (a busy CPU): it cannot end before 21 s
    arrivals = [(10.0, 2.0), (18.0, 1.0), (18.5, 2.0)]
    assert earliest_end(10.0, arrivals) == pytest.approx(21.0)
    assert unplayed_seconds(10.0, arrivals, now=18.5) == pytest.approx(2.5)  # not 0: 5 s of audio - 8.5 s wall
    assert unplayed_seconds(10.0, arrivals, now=30.0) == 0.0
