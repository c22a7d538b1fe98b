"""The footprint on a streamer's PC: a raid-sized burst (peak RSS), the memory after it drains, and a stand-in game.

Run by ``bench/run.py`` (sections ``burst`` and ``game``, part of the memory measurements); each row compares
two servers side by side in the same run:

- ``today``: the tree's behaviour before the gaming-PC settings: ``cpu_priority: normal`` on this tree, or,
  with ``--before DIR``, that older source tree with its own defaults;
- ``new``: this tree with its defaults (``cpu_priority: low``, ``cpu_threads: auto``).

Rows:

- **burst**: ``burst`` mentions of 6-30 words (``bench/texts.txt``) posted at once; the server's RSS sampled
  every 0.25 s until every WAV is on disk: the peak (``VmHWM``) and the time to drain;
- **return**: the server's RSS 20 s after the last WAV (``return_after_s``);
- **game**: one CPU-bound worker process per core counting loop iterations per second (a modern game keeps
  every core busy). The game runs alone, then while one server gets a 6-30-word mention every
  ``game_period_s`` (slower than playback), alone again, then the other server, alone again. Reported per
  server: the game's mean rate and its worst second during the mentions, each against its rate alone (the
  mean of the alone phases next to it), and the mentions' time from POST to their WAV on disk (ready), p90.
  Each ready mention is played through at once (``/api/play``, ``/api/played/{id}``), so the next mention is
  the next item to play, as in a stream where a line has played before the next one arrives. The game alone
  has a worst second too (a shared or virtual machine's noise): it is printed, as the floor of what the
  worst-second row can show there. Beside them, the server's own CPU seconds in that window, per mention, and
  what they leave the game at best: ``1 - server CPU s / (cores x window s)``, the mean no scheduling can
  beat, since every CPU second a render takes is one the game does not get.

``python bench/footprint.py --weights DIR`` runs only these rows (``--burst``, ``--mentions``..., ``--set
new:cpu_priority=normal`` to give one server another setting).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in {None, ""}:  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

import aiohttp
import psutil

from bench.common import REPO_ROOT, Row, format_table, load_texts, percentile, rss_mb
from bench.server import USERNAME, ServerProcess, write_settings


@dataclass(frozen=True)
class FootprintPlan:
    burst: int = 300
    return_after_s: float = 20.0
    game_mentions: int = 6
    game_period_s: float = 9.0
    game_alone_s: float = 12.0
    game_workers: int = 0  # 0: one per core


TINY_FOOTPRINT = FootprintPlan(burst=4, return_after_s=1.0, game_mentions=1, game_period_s=1.0, game_alone_s=3.0)

#: What each variant's server is told (besides the bench's own settings); ``--before`` replaces ``today``'s tree.
TODAY_SETTINGS: dict[str, Any] = {"cpu_priority": "normal"}
NEW_SETTINGS: dict[str, Any] = {}


def mention_lines(texts: list[str]) -> list[str]:
    """The bench lines of 6-30 words, in file order."""
    return [t for t in texts if 6 <= len(t.split()) <= 30]


def note(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def post(session: aiohttp.ClientSession, server: ServerProcess, text: str, sender: str) -> int:
    async with session.post(f"{server.base_url}/api/messages",
                            json={"sent_by": sender, "text": f"@{USERNAME} {text}"}) as response:
        body = await response.json()
        if response.status != 202:
            raise RuntimeError(f"/api/messages answered {response.status}: {body}")
        return int(body["id"])


async def wait_wav(server: ServerProcess, message_id: int, timeout: float, interval: float = 0.02) -> float:
    """The moment ``message_id``'s WAV exists (written atomically, the row is ready right after)."""
    deadline = time.perf_counter() + timeout
    path = server.wav(message_id)
    while not path.exists():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"message {message_id}: no WAV within {timeout:.0f}s")
        await asyncio.sleep(interval)
    return time.perf_counter()


async def clear_queue(server: ServerProcess) -> None:
    """Empty the mentions queue (the burst's unplayed WAVs): the game's mentions must each be the next item to
    play, as in a stream that has caught up. Left in place, the burst's 300 ready items stay ahead of every game
    mention, so ``cpu_priority: low`` rightly renders the mention at low priority (the queue is far ahead of
    playback) and the ready time measured the backlog, not the render."""
    async with aiohttp.ClientSession() as session, \
            session.post(f"{server.base_url}/api/clear", json={"queue": "mentions"}) as response:
        if response.status != 200:
            raise RuntimeError(f"/api/clear answered {response.status}: {await response.text()}")


async def play_through(session: aiohttp.ClientSession, server: ServerProcess) -> None:
    """A player that has finished the line before the next one comes (a mention every 9 s is slower than
    playback): start the oldest ready item and report it played at once, so the next mention is the next item
    to play, as in a stream (without this every later mention would wait behind unplayed ones)."""
    async with session.post(f"{server.base_url}/api/play") as response:
        if response.status != 200:
            return
        playing = (await response.json())["playing"]["id"]
    async with session.post(f"{server.base_url}/api/played/{playing}") as response:
        await response.read()


# --- burst and return ---------------------------------------------------------------------------------------
async def burst_and_return(server: ServerProcess, lines: list[str], plan: FootprintPlan) -> dict[str, Any]:
    loaded = rss_mb(server.pid)
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            now = rss_mb(server.pid)
            if "rss_mb" in now:
                samples.append((time.perf_counter(), now["rss_mb"]))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    texts = [lines[i % len(lines)] for i in range(plan.burst)]
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        ids = await asyncio.gather(*(post(session, server, t, f"raid{i}") for i, t in enumerate(texts)))
        done = await asyncio.gather(*(wait_wav(server, i, timeout=3600, interval=0.1) for i in ids))
    drained = max(done)
    peak = rss_mb(server.pid).get("peak_rss_mb", 0.0)
    await asyncio.sleep(plan.return_after_s)
    after = rss_mb(server.pid).get("rss_mb", 0.0)
    stop.set()
    await sampler
    return {
        "messages": plan.burst, "rss_loaded_mb": loaded.get("rss_mb"), "peak_rss_mb": peak,
        "rss_after_drain_mb": after, "return_after_s": plan.return_after_s,
        "drain_s": round(drained - started, 1), "first_ready_s": round(min(done) - started, 2),
        "max_sampled_rss_mb": max((rss for _, rss in samples), default=0.0),
        "samples": [(round(t - started, 2), rss) for t, rss in samples[::4]],
    }


# --- the stand-in game --------------------------------------------------------------------------------------
def _game_worker(counts: SynchronizedArray, start: float, stop: Any) -> None:  # type: ignore[type-arg]
    """Count loop iterations into ``counts[second since start]`` until ``stop`` is set."""
    slots = len(counts)
    slot, n = 0, 0
    next_edge = start + 1.0
    while not stop.is_set():
        for _ in range(2000):
            n += 1
        now = time.monotonic()
        if now >= next_edge:
            if slot < slots:
                counts[slot] = n
            slot, n = int(now - start), 0
            next_edge = start + slot + 1.0
            if slot >= slots:
                return


class Game:
    """``workers`` processes busy on every core; ``rates(a, b)``: total iterations per second, per second."""

    def __init__(self, workers: int, seconds: int) -> None:
        context = multiprocessing.get_context("fork")  # starts at once (spawn would re-import the bench)
        self.start_at = time.monotonic() + 1.0  # the processes start before the first counted second
        self.stop_event = context.Event()
        self.counts = [context.Array("d", seconds, lock=False) for _ in range(workers)]
        self.processes = [context.Process(target=_game_worker, args=(c, self.start_at, self.stop_event), daemon=True)
                          for c in self.counts]

    def __enter__(self) -> Game:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    def second(self) -> float:
        return time.monotonic() - self.start_at

    def rates(self, first: float, last: float) -> list[float]:
        """Total rate of every whole second in ``[first, last)`` (seconds since the game started)."""
        low, high = int(first) + 1, int(last)
        return [sum(c[s] for c in self.counts) for s in range(max(low, 0), min(high, len(self.counts[0])))]


def server_cpu_s(server: ServerProcess) -> float:
    """The server process's CPU seconds so far (every thread, user and system)."""
    times = psutil.Process(server.pid).cpu_times()
    return float(times.user + times.system)


async def game_rows(servers: dict[str, ServerProcess], lines: list[str], plan: FootprintPlan) -> dict[str, Any]:
    workers = plan.game_workers or os.cpu_count() or 1
    total = 7200  # seconds the counters can hold (a phase lasts until its last mention is ready)
    result: dict[str, Any] = {"workers": workers, "mentions": plan.game_mentions, "period_s": plan.game_period_s}
    alone: list[list[float]] = []
    windows: dict[str, tuple[float, float]] = {}
    cpu_used: dict[str, float] = {}
    latencies: dict[str, list[float]] = {}
    with Game(workers, total) as game:
        await asyncio.sleep(max(0.0, -game.second()))

        async def idle() -> None:
            begin = game.second()
            await asyncio.sleep(plan.game_alone_s)
            alone.append(game.rates(begin, game.second()))

        async with aiohttp.ClientSession() as session:
            await idle()
            for name, server in servers.items():
                begin = game.second()
                cpu_before = server_cpu_s(server)
                pending = []

                async def ready_after(server: ServerProcess, message_id: int, posted: float) -> float:
                    ready = await wait_wav(server, message_id, timeout=600) - posted
                    await play_through(session, server)
                    return ready

                for k in range(plan.game_mentions):
                    posted = time.perf_counter()
                    message_id = await post(session, server, lines[(7 * k) % len(lines)], f"g{name}{k}")
                    pending.append(asyncio.create_task(ready_after(server, message_id, posted)))
                    await asyncio.sleep(max(0.0, posted + plan.game_period_s - time.perf_counter()))
                latencies[name] = list(await asyncio.gather(*pending))
                windows[name] = (begin, game.second())
                cpu_used[name] = server_cpu_s(server) - cpu_before
                await idle()
    for index, (name, (begin, end)) in enumerate(windows.items()):
        base_rates = alone[index] + alone[index + 1]
        base = sum(base_rates) / max(len(base_rates), 1)
        rates = game.rates(begin, end)
        lat = latencies[name]
        result[name] = {
            "alone_rate": round(base), "mean_rate": round(sum(rates) / max(len(rates), 1)),
            "worst_second": min(rates, default=0.0),
            # no whole second inside the window (a tiny-model mention ready at once): no ratio, not a 0
            "mean_ratio": round(sum(rates) / len(rates) / base, 3) if base and rates else None,
            "worst_ratio": round(min(rates) / base, 3) if base and rates else None,
            # the same machine with the game alone: its own worst second is the floor of what this row can show
            "alone_worst_ratio": round(min(base_rates) / base, 3) if base and base_rates else None,
            "ready_p90_s": round(percentile(lat, 90), 2), "ready_max_s": round(max(lat, default=0.0), 2),
            "ready_s": [round(x, 2) for x in lat], "seconds": len(rates),
            "server_cpu_s": round(cpu_used[name], 1),
            "cpu_s_per_mention": round(cpu_used[name] / max(len(lat), 1), 2),
            "mean_ceiling": round(1 - cpu_used[name] / ((os.cpu_count() or 1) * (end - begin)), 3)
            if end > begin else None,
        }
    return result


# --- orchestration ------------------------------------------------------------------------------------------
def variant_roots(before: str | None, extra: dict[str, dict[str, Any]] | None = None
                  ) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each variant's source tree and settings; ``extra``: more settings per variant (``--set``)."""
    extra = extra or {}
    today = (Path(before).resolve(), {}) if before else (REPO_ROOT, TODAY_SETTINGS)
    return {"today": (today[0], {**today[1], **extra.get("today", {})}),
            "new": (REPO_ROOT, {**NEW_SETTINGS, **extra.get("new", {})})}


def parse_sets(values: list[str]) -> dict[str, dict[str, Any]]:
    """``--set today:cpu_priority=normal`` (or ``new:``, or no prefix for both) -> settings per variant."""
    out: dict[str, dict[str, Any]] = {"today": {}, "new": {}}
    for value in values:
        target, _, assignment = value.partition(":") if ":" in value.split("=", 1)[0] else ("", "", value)
        key, sep, raw = assignment.partition("=")
        if not sep or target not in {"", "today", "new"}:
            raise SystemExit(f"--set {value!r}: expected [today:|new:]KEY=VALUE")
        try:
            parsed: Any = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw
        for name in ([target] if target else ["today", "new"]):
            out[name][key] = parsed
    return out


async def start(name: str, root: Path, extra: dict[str, Any], work: Path, model_dir: Path, device: str,
                tag: str) -> ServerProcess:
    folder = work / f"{tag}-{name}"
    server = ServerProcess(write_settings(folder, model_dir, device, **extra), folder / "server.log", root=root)
    await server.start()
    return server


async def section_footprint(model_dir: Path, device: str, work: Path, plan: FootprintPlan, before: str | None,
                            parts: set[str], only: set[str] | None = None,
                            extra: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    lines = mention_lines(load_texts())
    variants = {k: v for k, v in variant_roots(before, extra).items() if only is None or k in only}
    result: dict[str, Any] = {"variants": {k: {"root": str(r), "settings": e} for k, (r, e) in variants.items()},
                              "plan": plan.__dict__}
    servers: dict[str, ServerProcess] = {}
    try:  # one fresh server per variant: the burst first (its peak is the process's), then the game
        for name, (root, extra) in variants.items():
            servers[name] = await start(name, root, extra, work, model_dir, device, "footprint")
        if "burst" in parts:
            result["burst"] = {}
            for name, server in servers.items():
                note(f"burst ({name}): {plan.burst} mentions of 6-30 words at once, then "
                     f"{plan.return_after_s:.0f}s idle")
                result["burst"][name] = await burst_and_return(server, lines, plan)
                summary = {k: v for k, v in result["burst"][name].items() if k != "samples"}
                note(f"burst ({name}): {json.dumps(summary)}")
        if "game" in parts:
            for server in servers.values():
                await clear_queue(server)
            note(f"game: one busy process per core; {plan.game_mentions} mentions every {plan.game_period_s:.0f}s "
                 f"per server, alone phases of {plan.game_alone_s:.0f}s between")
            result["game"] = await game_rows(servers, lines, plan)
            for name in servers:
                note(f"game ({name}): {json.dumps(result['game'][name])}")
    finally:
        for server in servers.values():
            server.stop()
    return result


def rows(result: dict[str, Any]) -> list[Row]:
    """Table rows: ``new`` in the StreamVoice column, ``today`` in the baseline column, ratio new/today."""
    out: list[Row] = []

    def ratio(new: float | None, today: float | None) -> str:
        return f"{new / today:.2f}" if new is not None and today else ""

    def num(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    burst = result.get("burst")
    if burst and {"new", "today"} <= set(burst):
        new, today = burst["new"], burst["today"]
        out.append(Row("5 burst", f"{new['messages']} mentions of 6-30 words at once: peak RSS, MiB (new / today)",
                       f"{new['peak_rss_mb']:.0f}", f"{today['peak_rss_mb']:.0f}",
                       ratio(new["peak_rss_mb"], today["peak_rss_mb"]), "<= 1229 (1.2 GiB)"))
        out.append(Row("5 burst", "  loaded RSS / drain s / first ready s",
                       f"{new['rss_loaded_mb']:.0f} / {new['drain_s']:.0f} / {new['first_ready_s']:.1f}",
                       f"{today['rss_loaded_mb']:.0f} / {today['drain_s']:.0f} / {today['first_ready_s']:.1f}",
                       ratio(new["drain_s"], today["drain_s"]), "report"))
        out.append(Row("5 return", f"RSS {new['return_after_s']:.0f} s after the burst drained, MiB",
                       f"{new['rss_after_drain_mb']:.0f}", f"{today['rss_after_drain_mb']:.0f}",
                       ratio(new["rss_after_drain_mb"], today["rss_after_drain_mb"]), "<= 1024 (1.0 GiB)"))
    game = result.get("game")
    if game and {"new", "today"} <= set(game):
        new, today = game["new"], game["today"]
        label = f"{game['workers']} busy workers, a mention every {game['period_s']:.0f}s (n={game['mentions']})"
        out.append(Row("5 game", f"{label}: game mean rate vs alone", num(new["mean_ratio"]),
                       num(today["mean_ratio"]), ratio(new["mean_ratio"], today["mean_ratio"]), ">= 0.90"))
        out.append(Row("5 game", "game's worst second vs alone", num(new["worst_ratio"]),
                       num(today["worst_ratio"]), ratio(new["worst_ratio"], today["worst_ratio"]), ">= 0.70"))
        if "alone_worst_ratio" in new and "alone_worst_ratio" in today:
            out.append(Row("5 game", "  the game alone: its worst second vs its mean (the machine's noise)",
                           num(new["alone_worst_ratio"]), num(today["alone_worst_ratio"]), "", "report"))
        out.append(Row("5 game", "mention POST -> ready, p90 s (max)",
                       f"{new['ready_p90_s']:.2f} ({new['ready_max_s']:.2f})",
                       f"{today['ready_p90_s']:.2f} ({today['ready_max_s']:.2f})",
                       ratio(new["ready_p90_s"], today["ready_p90_s"]), "<= 3.0"))
        if "cpu_s_per_mention" in new and "cpu_s_per_mention" in today:
            out.append(Row("5 game", "server CPU s per mention; best game mean it leaves",
                           f"{new['cpu_s_per_mention']:.2f}; {num(new['mean_ceiling'])}",
                           f"{today['cpu_s_per_mention']:.2f}; {num(today['mean_ceiling'])}",
                           ratio(new["cpu_s_per_mention"], today["cpu_s_per_mention"]), "report"))
    return out


def main(argv: list[str] | None = None) -> int:
    from tts.tiny_model import build_tiny_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="real Kokoro-82M weights (default: the tiny random model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--parts", default="burst,game")
    parser.add_argument("--burst", type=int, default=FootprintPlan.burst)
    parser.add_argument("--return-after", type=float, default=FootprintPlan.return_after_s)
    parser.add_argument("--mentions", type=int, default=FootprintPlan.game_mentions)
    parser.add_argument("--period", type=float, default=FootprintPlan.game_period_s)
    parser.add_argument("--alone", type=float, default=FootprintPlan.game_alone_s)
    parser.add_argument("--before", help="a source tree for 'today' (default: this tree with cpu_priority normal)")
    parser.add_argument("--variants", default="today,new", help="which servers to run (default both)")
    parser.add_argument("--set", action="append", default=[], metavar="[today:|new:]KEY=VALUE",
                        help="a setting for one server (or both), e.g. new:cpu_priority=normal; repeatable")
    parser.add_argument("--out", default="bench/results/footprint.json")
    args = parser.parse_args(argv)
    plan = FootprintPlan(burst=args.burst, return_after_s=args.return_after, game_mentions=args.mentions,
                         game_period_s=args.period, game_alone_s=args.alone)
    with tempfile.TemporaryDirectory(prefix="streamvoice-footprint-") as tmp:
        work = Path(tmp)
        model_dir = Path(args.weights).resolve() if args.weights else build_tiny_model(work / "tiny-model")
        result = asyncio.run(section_footprint(model_dir, args.device, work, plan, args.before,
                                               set(args.parts.split(",")), set(args.variants.split(",")),
                                               parse_sets(args.set)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(format_table(rows(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
