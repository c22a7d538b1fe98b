"""When a player can have finished a line that was streamed while it rendered (pure; times are passed in).

A player cannot play audio before it exists: when the render is slower than speech (a busy CPU), it plays a
sentence, waits for the next, plays it, and so on. So the earliest moment it can finish is found by walking the
blocks in the order they arrived: each starts when the one before it ended or when it arrived, whichever is
later. Audio seconds minus wall seconds since the start (the old estimate) forgot those waits and sent the next
``play`` while the player was still speaking.
"""

from __future__ import annotations

from collections.abc import Iterable


def earliest_end(started: float, arrivals: Iterable[tuple[float, float]]) -> float:
    """The earliest time a player that started at ``started`` can finish ``arrivals``: (arrival time, seconds of
    audio) per block, in order. A block that arrived before the start plays right after the one before it."""
    end = started
    for arrived, seconds in arrivals:
        end = max(end, arrived) + seconds
    return end


def unplayed_seconds(started: float, arrivals: Iterable[tuple[float, float]], now: float) -> float:
    """Audio not yet due at ``now``: the audio sent minus the audio that could have been played since ``started``."""
    return max(0.0, earliest_end(started, arrivals) - now)
