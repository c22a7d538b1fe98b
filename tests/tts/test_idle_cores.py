"""A low-priority render uses the cores the rest of the PC leaves idle: every core on an idle PC, one when a
game keeps them all busy; this process's own CPU time never counts as someone else's."""

from __future__ import annotations

import pytest

from tts.idle_cores import MIN_WINDOW_S, IdleCores


class Counters:
    """A PC's clock and CPU counters, advanced by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.system = 5_000.0
        self.own = 10.0

    def run(self, seconds: float, others: float, own: float = 0.0) -> None:
        """``seconds`` pass; other processes keep ``others`` cores busy and this one ``own`` cores."""
        self.now += seconds
        self.system += (others + own) * seconds
        self.own += own * seconds

    def probe(self, cores: int = 2) -> IdleCores:
        return IdleCores(cores, clock=lambda: self.now, system_busy=lambda: self.system, own_busy=lambda: self.own,
                         sleep=lambda s: self.run(s, others=self.first_window_others))

    first_window_others = 0.0


def test_an_idle_pc_gives_every_core_and_a_game_leaves_one_thread() -> None:
    pc = Counters()
    probe = pc.probe()
    assert probe.threads(limit=2) == 2  # the first look measures its own short window: idle
    pc.run(5.0, others=2.0)  # a game on both cores
    assert probe.idle() == pytest.approx(0.0, abs=1e-9) and probe.threads(limit=2) == 1
    pc.run(5.0, others=0.9)  # something busy on one core
    assert round(probe.idle(), 2) == 1.1 and probe.threads(limit=2) == 1
    pc.run(5.0, others=0.1)
    assert probe.threads(limit=2) == 2
    assert probe.threads(limit=1) == 1  # never more than the render is allowed


def test_this_processs_own_renders_are_not_someone_elses_load() -> None:
    pc = Counters()
    probe = pc.probe()
    probe.idle()
    pc.run(4.0, others=0.0, own=2.0)  # only StreamVoice rendered on both cores
    assert probe.idle() == pytest.approx(2.0)


def test_a_look_right_after_another_repeats_its_answer_and_the_first_look_waits_a_window() -> None:
    pc = Counters()
    pc.first_window_others = 2.0  # the game is already running when the first render starts
    probe = pc.probe()
    first = probe.idle()
    assert first == pytest.approx(0.0, abs=1e-9)
    pc.run(MIN_WINDOW_S / 2, others=0.0)  # too short a window to measure: the answer stands
    assert probe.idle() == first


def test_the_real_counters_give_a_sane_answer() -> None:
    probe = IdleCores()
    assert 0.0 <= probe.idle() <= probe.cores
    assert 1 <= probe.threads(limit=probe.cores) <= probe.cores
