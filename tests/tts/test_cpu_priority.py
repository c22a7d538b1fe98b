"""Render threads at a lower OS priority (Linux nice values read back), torch's worker threads included, and
the ``cpu_threads`` cap on a render's intra-op threads (the real kokoro path, tiny model)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tts import cpu_priority
from tts.cpu_priority import LOW_NICE, lower_current_thread, process_threads, thread_nice
from tts.engine import EngineConfig, KokoroEngine
from tts.idle_cores import IdleCores

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def on_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a fresh thread and return its result (or raise its exception)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised below
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> KokoroEngine:
    return KokoroEngine.load(EngineConfig(model_dir=str(tiny_model_dir), device="cpu",
                                          voice="af_heart", cpu_priority="low"))


@linux_only
def test_lowering_changes_only_the_calling_thread() -> None:
    main_nice = thread_nice(threading.get_native_id())

    def lower() -> tuple[bool, int]:
        return lower_current_thread(), thread_nice(threading.get_native_id())

    changed, nice = on_thread(lower)
    assert changed and nice == max(LOW_NICE, main_nice)
    assert thread_nice(threading.get_native_id()) == main_nice  # the caller (the event loop's side) is untouched


class FakeKernel32:
    """Records ``SetThreadPriority`` calls the way Windows' kernel32 takes them."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok
        self.calls: list[tuple[str, int]] = []

    def GetCurrentThread(self) -> str:  # the Win32 names
        return "pseudo-handle"

    def SetThreadPriority(self, handle: str, priority: int) -> int:
        self.calls.append((handle, priority))
        return 1 if self.ok else 0

    def GetLastError(self) -> int:
        return 5


def test_windows_lowers_the_calling_thread_below_normal(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel32 = FakeKernel32(ok=True)
    monkeypatch.setattr(cpu_priority, "_kernel32", lambda: kernel32)
    assert cpu_priority.lower_current_thread(platform="win32")
    assert kernel32.calls == [("pseudo-handle", -1)]  # THREAD_PRIORITY_BELOW_NORMAL on the current thread


def test_a_refused_or_unsupported_lowering_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_priority, "_kernel32", lambda: FakeKernel32(ok=False))
    assert not cpu_priority.lower_current_thread(platform="win32")
    assert not cpu_priority.lower_current_thread(platform="darwin")  # setpriority is per process there


@linux_only
def test_torch_worker_threads_of_a_low_render_thread_run_low_too(engine: KokoroEngine) -> None:
    engine.set_cpu_threads(2)
    before = set(process_threads())

    def render() -> tuple[int, list[int]]:
        lower_current_thread()
        engine.synthesize("Hello there, how are you today?")
        me = threading.get_native_id()
        # threads this render created and that are still alive: torch's OpenMP team for this thread
        workers = [tid for tid in process_threads() if tid not in before and tid != me]
        return thread_nice(me), [thread_nice(tid) for tid in workers]

    try:
        render_nice, worker_nices = on_thread(render)
    finally:
        engine.set_cpu_threads(0)
    assert render_nice >= LOW_NICE
    assert worker_nices, "a 2-thread render starts at least one OpenMP worker"
    assert all(nice >= LOW_NICE for nice in worker_nices)


def test_cpu_threads_caps_a_renders_threads_and_the_lanes(engine: KokoroEngine) -> None:
    seen: list[int] = []
    engine.set_cpu_threads(1)
    try:
        engine.configure_parallelism()
        assert (engine.cpu_threads, engine.lanes) == (1, 1)  # one thread in all: one line at a time
        on_thread(lambda: engine.speak("One thread.", on_chunk=lambda audio: seen.append(torch.get_num_threads())))
    finally:
        engine.set_cpu_threads(0)
        engine.configure_parallelism()
    assert seen == [1]
    assert engine.cpu_threads >= 1  # auto: every core torch saw at import


def test_the_engine_keeps_the_configured_priority(engine: KokoroEngine) -> None:
    assert engine.cpu_priority == "low"


def test_low_priority_with_auto_threads_renders_on_the_cores_a_game_leaves(engine: KokoroEngine) -> None:
    """A game keeps every core busy: a render's OpenMP barriers would wait on it, so ``low`` + ``auto`` = one
    thread per render then, and every core on an idle PC; ``normal`` (or an explicit ``cpu_threads``) gets
    every core it is allowed."""
    def threads_seen() -> list[int]:
        seen: list[int] = []
        on_thread(lambda: engine.speak("Threads.", on_chunk=lambda audio: seen.append(torch.get_num_threads())))
        return seen

    class Probe(IdleCores):
        idle_now = 0.0

        def idle(self) -> float:
            return self.idle_now

    real_probe, engine.idle_cores = engine.idle_cores, Probe()
    engine.set_cpu_threads(0)
    assert threads_seen() == [1]  # a game has every core
    if engine.cpu_threads > 1:
        Probe.idle_now = float(engine.cpu_threads)
        assert threads_seen() == [engine.cpu_threads]  # an idle PC: every core torch saw
    try:
        engine.cpu_priority = "normal"
        assert threads_seen() == [engine.cpu_threads]  # auto at normal priority: every core torch saw
        engine.cpu_priority = "low"
        engine.set_cpu_threads(2)
        assert threads_seen() == [2]  # an explicit cpu_threads is kept at low priority too
    finally:
        engine.cpu_priority = "low"
        engine.set_cpu_threads(0)
        engine.idle_cores = real_probe
