"""Small helpers shared by the benchmark sections: texts, statistics, CPU accounting, RSS."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
TEXTS_FILE = BENCH_DIR / "texts.txt"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def load_texts() -> list[str]:
    """The checked-in chat lines (5-40 words each), in file order: the benchmark's fixed data set."""
    return [line.strip() for line in TEXTS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def _system_busy_ticks() -> int:
    """All CPUs' non-idle time since boot, in clock ticks (Linux /proc/stat; 0 elsewhere)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except OSError:
        return 0
    return sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)


def _process_ticks(pid: int) -> int:
    """utime + stime of one process (children not included), in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """CPU seconds used by the watched processes, and by everything else on the machine, over a span.

    "Other" CPU is the noise indicator: on a shared machine it shows how much someone else competed.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._start = time.perf_counter()
        self._system = _system_busy_ticks()
        self._own = {pid: _process_ticks(pid) for pid in self.pids}

    def watch(self, pid: int) -> None:
        self.pids.append(pid)
        self._own[pid] = _process_ticks(pid)

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self._start
        system = (_system_busy_ticks() - self._system) / CLK_TCK
        own = sum(_process_ticks(pid) - start for pid, start in self._own.items()) / CLK_TCK
        return {"wall_s": round(wall, 3), "cpu_s": round(own, 2), "other_cpu_s": round(max(0.0, system - own), 2)}


def rss_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MiB (Linux /proc)."""
    result: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key = "rss_mb" if line.startswith("VmRSS") else "peak_rss_mb"
                    result[key] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return result


@dataclass
class Row:
    """One line of the printed table."""

    section: str
    metric: str
    streamvoice: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""


def format_table(rows: Sequence[Row]) -> str:
    header = Row("section", "metric", "StreamVoice", "bare kokoro", "ratio", "target")
    cells = [[r.section, r.metric, r.streamvoice, r.baseline, r.ratio, r.target] for r in (header, *rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = []
    for index, cell in enumerate(cells):
        lines.append("  ".join(v.ljust(w) for v, w in zip(cell, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
