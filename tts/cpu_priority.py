"""OS scheduling priority for the threads that render speech, so a game on the same PC keeps its cores.

``cpu_priority: low`` (settings) lowers the priority of the render threads only: the HTTP/WebSocket side, the
database and playback keep the normal priority and stay responsive. The priority is per thread:

- Linux (and other POSIX systems where ``setpriority(PRIO_PROCESS, tid)`` addresses one thread): the
  thread's nice value goes up by ``LOW_NICE``. A thread created by a render thread inherits its nice value,
  so torch's OpenMP workers, which a render thread creates the first time it runs a parallel region (libgomp
  keeps one team per thread that starts parallel work), run at the same low priority. Lowering needs no
  privilege; raising it back does (``CAP_SYS_NICE`` or ``RLIMIT_NICE``), so a thread that was lowered stays
  low: the synthesis worker keeps a separate thread at normal priority for the renders that must not wait.
- Windows: ``SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL)``. Windows threads do not
  inherit a thread priority: torch's OpenMP workers start at normal priority (the render thread itself, the
  one that runs the non-parallel parts, is lowered).
- Elsewhere (macOS: ``setpriority`` there addresses the whole process) nothing is changed, and the log says so.

Pure OS calls; no torch here.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

#: Nice value added to a render thread at ``low`` priority: CFS weight 110 against a game thread's 1024, so
#: where both want the same core the game gets ~90 % of it; on an idle core the render runs at full speed.
LOW_NICE = 10
#: Windows ``THREAD_PRIORITY_BELOW_NORMAL``.
_WIN_BELOW_NORMAL = -1
PRIORITIES = ("low", "normal")


def supported() -> bool:
    """True where a single thread's priority can be lowered (Linux, Windows)."""
    return sys.platform.startswith("linux") or sys.platform == "win32"


def lower_current_thread(platform: str = sys.platform) -> bool:
    """Lower the calling thread's scheduling priority (see the module doc); False when nothing was changed."""
    try:
        if platform.startswith("linux"):
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            if current < LOW_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, LOW_NICE)
            return True
        if platform == "win32":
            kernel32 = _kernel32()
            if kernel32.SetThreadPriority(kernel32.GetCurrentThread(), _WIN_BELOW_NORMAL):
                return True
            raise OSError(f"SetThreadPriority failed (error {kernel32.GetLastError()})")
    except OSError as exc:  # a sandbox that forbids it: the render runs at normal priority
        log.warning("could not lower the render thread's priority (%s); it runs at normal priority", exc)
        return False
    log.info("cpu_priority low is not supported on %s; render threads run at normal priority", platform)
    return False


def _kernel32() -> Any:
    """Windows' kernel32 through ctypes (only called on Windows)."""
    import ctypes

    return ctypes.windll.kernel32  # type: ignore[attr-defined]


def thread_nice(native_id: int) -> int:
    """A thread's nice value (Linux: ``getpriority(PRIO_PROCESS, tid)``)."""
    return os.getpriority(os.PRIO_PROCESS, native_id)


def process_threads() -> list[int]:
    """Native ids of this process's threads (Linux ``/proc/self/task``; empty elsewhere)."""
    try:
        return sorted(int(name) for name in os.listdir("/proc/self/task"))
    except OSError:
        return []
