"""StreamVoice benchmarks against the bare kokoro library: ``python bench/run.py [--weights DIR] [--tiny]``.

Five measurements, each against a baseline measured in the same run (bench/README.md describes them):

1. synthesis  - chat lines one at a time: seconds of compute per second of audio, server vs bare KPipeline loop
2. backlog    - a burst of queued lines: time until every WAV is on disk, server vs the bare sequential loop
3. latency    - a mention posted while the server drains a bits backlog and ingests chat: time until playable
4. ingest     - App messages per second over WebSocket and HTTP with synthesis running, latency, rows in the DB
5. memory     - server RSS with the model loaded and while 1,000 messages go through, vs the bare library;
   burst/game - (bench/footprint.py) a 300-mention burst's peak RSS and the RSS 20 s after it drained, and a
                stand-in game's rate while mentions render: today's behaviour and the new defaults side by side

Prints a table and writes everything to ``--out`` as JSON. ``--tiny`` is the CI mode: the tiny random model and
a few messages, all sections in well under two minutes; nothing is asserted about timings.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in {None, ""}:  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any

import aiohttp
import soundfile as sf

from bench.common import REPO_ROOT, CpuMeter, Row, format_table, load_texts, median, rss_mb, slope
from bench.footprint import TINY_FOOTPRINT, FootprintPlan, section_footprint
from bench.footprint import rows as footprint_rows
from bench.long_lines import section_long_lines
from bench.server import USERNAME, ServerProcess, write_settings

log = logging.getLogger("bench")

#: The 15-word mentions posted by the latency probe (from bench/texts.txt).
PROBE_WORDS = 15


@dataclass(frozen=True)
class Plan:
    """How much of each measurement to do."""

    texts: int = 100
    block: int = 10
    backlog: int = 100
    latency_backlog: int = 30
    probes: int = 5
    background_rate: float = 200.0
    ingest_seconds: float = 10.0
    ws_window: int = 128
    http_connections: int = 32
    memory_messages: int = 1000
    memory_chunk: int = 100
    bare_memory_messages: int = 100
    engine_lines: int = 12
    long_lines: int = 4


TINY_PLAN = Plan(texts=6, block=3, backlog=8, latency_backlog=6, probes=2, background_rate=200.0, ingest_seconds=2.0,
                 memory_messages=40, memory_chunk=10, bare_memory_messages=10, engine_lines=2, long_lines=1)


def note(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def cycle(texts: list[str], count: int, start: int = 0) -> list[str]:
    return [texts[(start + i) % len(texts)] for i in range(count)]


def wav_seconds(path: Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def spoken(server: ServerProcess, text: str) -> str:
    """What the server will say for ``@streamer <text>`` (the baseline synthesises exactly this)."""
    from core.chat import IncomingChat, Source
    from core.queue_rules import ChatMemory, decide

    decision = decide(IncomingChat(sent_by="bench", text=f"@{USERNAME} {text}", source=Source.APP_HTTP),
                      server.settings, ChatMemory(), 0.0)
    return decision.spoken_text


class Client:
    """The benchmark's own App: posts chat lines and waits for their WAVs."""

    def __init__(self, server: ServerProcess, session: aiohttp.ClientSession, tag: str) -> None:
        self.server = server
        self.session = session
        self.tag = tag
        self.count = 0

    async def post(self, text: str, *, bits: int | None = None, mention: bool = True) -> int:
        self.count += 1
        body: dict[str, Any] = {"sent_by": f"{self.tag}{self.count}",
                                "text": f"@{USERNAME} {text}" if mention else text}
        path = "/api/messages"
        if bits is not None:
            body["bits_amount"], path = bits, "/api/bits"
        async with self.session.post(f"{self.server.base_url}{path}", json=body) as response:
            result = await response.json()
            if response.status != 202:
                raise RuntimeError(f"{path} answered {response.status}: {result}")
            return int(result["id"])

    async def wait_wavs(self, ids: list[int], timeout: float, interval: float = 0.01) -> dict[int, float]:
        """Poll until every id's WAV is on disk (written atomically: existing means complete)."""
        remaining = set(ids)
        seen: dict[int, float] = {}
        deadline = time.perf_counter() + timeout
        while remaining:
            for message_id in list(remaining):
                if self.server.wav(message_id).exists():
                    seen[message_id] = time.perf_counter()
                    remaining.discard(message_id)
            if not remaining:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(remaining)} WAV(s) not written within {timeout:.0f}s "
                                   f"(ids {sorted(remaining)[:5]})")
            await asyncio.sleep(interval)
        return seen

    async def wait_ready(self, message_id: int, timeout: float, interval: float = 0.005) -> float:
        """Poll the database until the row is ``ready`` (its /audio URL answers): the moment it is playable."""
        deadline = time.perf_counter() + timeout
        while True:
            status = await asyncio.to_thread(self.server.status_of, message_id)
            if status in {"ready", "playing", "played"}:
                return time.perf_counter()
            if status == "error" or time.perf_counter() > deadline:
                raise RuntimeError(f"message {message_id} is {status!r}, not ready")
            await asyncio.sleep(interval)


# --- 1. synthesis overhead ----------------------------------------------------------------------------------------
async def section_synthesis(bare: Any, servers: dict[str, ServerProcess], texts: list[str], plan: Plan,
                            work: Path) -> dict[str, Any]:
    """One line at a time (POST, wait for its WAV, next), in blocks interleaved with the bare loop."""
    lines = cycle(texts, plan.texts)
    any_server = next(iter(servers.values()))
    said = [spoken(any_server, t) for t in lines]
    totals: dict[str, dict[str, float]] = {name: {"wall_s": 0.0, "audio_s": 0.0} for name in ["bare", *servers]}
    per_message: dict[str, list[float]] = {name: [] for name in totals}
    async with aiohttp.ClientSession() as session:
        clients = {name: Client(server, session, f"s1{name[:1]}") for name, server in servers.items()}
        for index, block in enumerate(chunks(list(range(len(lines))), plan.block)):
            wall, audio, each = bare.loop([said[i] for i in block], work / "bare-synthesis" / str(index))
            totals["bare"]["wall_s"] += wall
            totals["bare"]["audio_s"] += audio
            per_message["bare"] += each
            for name, client in clients.items():
                for i in block:
                    started = time.perf_counter()
                    message_id = await client.post(lines[i])
                    done = (await client.wait_wavs([message_id], timeout=600, interval=0.002))[message_id]
                    totals[name]["wall_s"] += done - started
                    totals[name]["audio_s"] += wav_seconds(client.server.wav(message_id))
                    per_message[name].append(done - started)
    result: dict[str, Any] = {"messages": len(lines), "block": plan.block}
    for name, total in totals.items():
        result[name] = {**{k: round(v, 3) for k, v in total.items()},
                        "compute_per_audio_s": round(total["wall_s"] / max(total["audio_s"], 1e-9), 4),
                        "per_message_p50_s": round(median(per_message[name]), 4)}
    for name in servers:
        ratio = result[name]["compute_per_audio_s"] / result["bare"]["compute_per_audio_s"]
        result[name]["ratio_vs_bare"] = round(ratio, 3)
    return result


# --- 2. backlog drain ---------------------------------------------------------------------------------------------
async def section_backlog(bare: Any, servers: dict[str, ServerProcess], texts: list[str], plan: Plan,
                          work: Path) -> dict[str, Any]:
    """A burst of lines queued at once: bare loop on the first half, each server on all, bare on the second half."""
    lines = cycle(texts, plan.backlog, start=plan.texts)
    any_server = next(iter(servers.values()))
    said = [spoken(any_server, t) for t in lines]
    half = len(lines) // 2
    meter = CpuMeter([os.getpid()])
    wall1, audio1, _ = bare.loop(said[:half], work / "bare-backlog" / "a")
    bare_cpu = meter.read()
    result: dict[str, Any] = {"messages": len(lines)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        for name, server in servers.items():
            client = Client(server, session, f"s2{name[:1]}")
            meter = CpuMeter([server.pid])
            started = time.perf_counter()
            ids = await asyncio.gather(*(client.post(line) for line in lines))
            posted = time.perf_counter()
            seen = await client.wait_wavs(ids, timeout=3600)
            done = max(seen.values())
            audio = sum(wav_seconds(server.wav(i)) for i in ids)
            result[name] = {"wall_s": round(done - started, 3), "post_s": round(posted - started, 3),
                            "audio_s": round(audio, 3), "compute_per_audio_s": round((done - started) / audio, 4),
                            "cpu": meter.read()}
    meter = CpuMeter([os.getpid()])
    wall2, audio2, _ = bare.loop(said[half:], work / "bare-backlog" / "b")
    bare_cpu2 = meter.read()
    bare_wall, bare_audio = wall1 + wall2, audio1 + audio2
    result["bare"] = {"wall_s": round(bare_wall, 3), "audio_s": round(bare_audio, 3),
                      "compute_per_audio_s": round(bare_wall / bare_audio, 4),
                      "cpu": {k: round(bare_cpu[k] + bare_cpu2[k], 2) for k in bare_cpu}}
    for name in servers:
        result[name]["speedup_vs_bare"] = round(bare_wall / result[name]["wall_s"], 3)
    return result


# --- 3. first-audio latency ---------------------------------------------------------------------------------------
def start_loadgen(server: ServerProcess, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "bench.loadgen", "--url", server.base_url, *args],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_loadgen(process: subprocess.Popen[str], timeout: float = 300) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"load generator failed ({process.returncode}): {err[-2000:]}")
    return json.loads(out)


async def section_latency(bare: Any, servers: dict[str, ServerProcess], texts: list[str], plan: Plan) -> dict[str, Any]:
    probes = [t for t in texts if len(t.split()) == PROBE_WORDS][: plan.probes]
    while len(probes) < plan.probes:
        probes.append(" ".join(" ".join(texts).split()[len(probes) * PROBE_WORDS :][:PROBE_WORDS]))
    any_server = next(iter(servers.values()))
    # the floor: the same lines through the bare loop, on an otherwise idle machine
    bare_each = []
    for text in probes:
        said = spoken(any_server, text)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            bare.synthesize(said)
            runs.append(time.perf_counter() - started)
        bare_each.append(median(runs))
    backlog_lines = sorted(texts, key=len, reverse=True)
    result: dict[str, Any] = {"probe_words": PROBE_WORDS, "probes": len(probes),
                              "bare_s": [round(v, 3) for v in bare_each], "bare_median_s": round(median(bare_each), 3)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        for name, server in servers.items():
            client = Client(server, session, f"s3{name[:1]}")
            idle = []  # the same lines on the idle server: what scheduling adds is busy / idle
            for text in probes:
                started = time.perf_counter()
                message_id = await client.post(text)
                idle.append(await client.wait_ready(message_id, timeout=600) - started)
            # the backlog waits in the bits queue; the active queue (mentions) is empty, so a mention is next
            await asyncio.gather(*(client.post(line, bits=100, mention=False)
                                   for line in cycle(backlog_lines, plan.latency_backlog)))
            load = start_loadgen(server, "--mode", "ws", "--seconds", "3600", "--rate", str(plan.background_rate),
                                 "--kinds", "plain,plain,plain,bits", "--prefix", f"bg{name[:1]}")
            await asyncio.sleep(1.0)
            latencies = []
            for index, text in enumerate(probes):
                await asyncio.sleep(0.5 + 0.37 * index)  # land at different points of the item being rendered
                started = time.perf_counter()
                message_id = await client.post(text)
                latencies.append(await client.wait_ready(message_id, timeout=600) - started)
            load.send_signal(signal.SIGINT)
            background = finish_loadgen(load)
            background.pop("stored_ids", None)
            pending = await asyncio.to_thread(_pending_bits, server)
            result[name] = {"latency_s": [round(v, 3) for v in latencies], "median_s": round(median(latencies), 3),
                            "max_s": round(max(latencies), 3),
                            "ratio_vs_bare": round(median(latencies) / median(bare_each), 3),
                            "idle_s": [round(v, 3) for v in idle], "idle_median_s": round(median(idle), 3),
                            "ratio_busy_vs_idle": round(median(latencies) / median(idle), 3),
                            "bits_still_pending_after": pending,
                            "background_load": {k: background[k] for k in ("sent", "rate_per_s", "latency_ms")}}
            if pending == 0:
                result[name]["warning"] = "the bits backlog ran out: raise Plan.latency_backlog"
    return result


def _pending_bits(server: ServerProcess) -> int:
    with server.db() as connection:
        return int(connection.execute("SELECT COUNT(*) FROM messages WHERE queue = 'bits' AND status = 'pending'")
                   .fetchone()[0])


# --- 4. ingest ----------------------------------------------------------------------------------------------------
async def section_ingest(server: ServerProcess, plan: Plan) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for mode, extra in (("ws", ["--window", str(plan.ws_window)]),
                        ("http", ["--connections", str(plan.http_connections)])):
        before = await asyncio.to_thread(server.count_rows)
        meter = CpuMeter([server.pid])
        run = finish_loadgen(start_loadgen(server, "--mode", mode, "--seconds", str(plan.ingest_seconds),
                                           "--prefix", f"in{mode}", *extra))
        cpu = meter.read()
        ids = run.pop("stored_ids")
        with server.db() as connection:
            present = {row[0] for row in connection.execute("SELECT id FROM messages WHERE id > 0")}
        after = len(present)
        missing = [i for i in ids if i not in present]
        synthesising = await asyncio.to_thread(_synthesis_progress, server)
        result[mode] = {**run, "rows_before": before, "rows_after": after, "rows_added": after - before,
                        "acked_ids_missing_from_db": len(missing), "all_acked_in_db": not missing,
                        "server_cpu": cpu, "synthesis": synthesising}
    return result


def _synthesis_progress(server: ServerProcess) -> dict[str, int]:
    with server.db() as connection:
        return {status: count for status, count in
                connection.execute("SELECT status, COUNT(*) FROM messages GROUP BY status")}


# --- 5. memory ----------------------------------------------------------------------------------------------------
async def section_memory(server: ServerProcess, texts: list[str], plan: Plan, model_dir: Path, device: str,
                         work: Path) -> dict[str, Any]:
    short = sorted(texts, key=len)[: max(20, len(texts) // 2)]
    loaded = rss_mb(server.pid)
    samples = [{"messages": 0, **loaded}]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        client = Client(server, session, "s5m")
        done = 0
        while done < plan.memory_messages:
            count = min(plan.memory_chunk, plan.memory_messages - done)
            ids = await asyncio.gather(*(client.post(t) for t in cycle(short, count, start=done)))
            await client.wait_wavs(ids, timeout=3600, interval=0.05)
            done += count
            samples.append({"messages": done, **rss_mb(server.pid)})
    xs = [s["messages"] / 100 for s in samples[1:]]
    ys = [s["rss_mb"] for s in samples[1:]]
    late = len(xs) // 2  # allocator arenas and oneDNN caches fill up first; a leak keeps growing after
    result: dict[str, Any] = {
        "messages": plan.memory_messages, "sample_every": plan.memory_chunk, "samples": samples,
        "server_rss_loaded_mb": loaded.get("rss_mb"), "server_peak_rss_mb": samples[-1].get("peak_rss_mb"),
        "server_rss_growth_mb": round(ys[-1] - ys[0], 1) if ys else 0.0,
        "server_rss_slope_mb_per_100_messages": round(slope(xs, ys), 3),
        "server_rss_slope_second_half_mb_per_100_messages": round(slope(xs[late:], ys[late:]), 3),
    }
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-m", "bench.bare_memory", "--model-dir", str(model_dir), "--device", device,
                          "--messages", str(plan.bare_memory_messages), "--out-dir", str(work / "bare-memory")],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"bare memory run failed: {out.stderr[-2000:]}")
    bare = json.loads(out.stdout)
    result["bare"] = bare
    result["ratio_loaded_rss"] = round(loaded["rss_mb"] / bare["rss_loaded_mb"], 3)
    result["ratio_peak_rss"] = round(samples[-1]["peak_rss_mb"] / bare["peak_rss_mb"], 3)
    result["gpu"] = bare.get("gpu") or "skipped: CPU run (no GPU memory to measure)"
    return result


# --- orchestration ------------------------------------------------------------------------------------------------
def prepare_model(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    from tts.tiny_model import build_tiny_model

    if args.weights:
        weights = Path(args.weights).resolve()
        if not (weights / "config.json").is_file():
            raise SystemExit(f"--weights {weights}: no config.json there")
        return weights, "real Kokoro-82M weights"
    if args.tiny:
        return build_tiny_model(work / "tiny-model"), "tiny random model (CI mode)"
    note("no --weights: using a RANDOM-INITIALISED full-size Kokoro-82M (same compute, meaningless audio)")
    return build_tiny_model(work / "random-full-model", full_size=True), "random-initialised full-size model"


async def start_servers(roots: dict[str, Path], work: Path, model_dir: Path, device: str, tag: str
                        ) -> dict[str, ServerProcess]:
    servers: dict[str, ServerProcess] = {}
    for name, root in roots.items():
        folder = work / f"{tag}-{name}"
        server = ServerProcess(write_settings(folder, model_dir, device), folder / "server.log", root=root)
        await server.start()
        note(f"server '{name}' ({root}) ready in {server.load_s:.1f}s on port {server.settings.port}")
        servers[name] = server
    return servers


def stop_all(servers: dict[str, ServerProcess]) -> None:
    for server in servers.values():
        server.stop()


async def run(args: argparse.Namespace, plan: Plan, work: Path) -> dict[str, Any]:
    import torch

    from bench.baseline import BareKokoro
    from core.settings import DEFAULT_VOICES

    model_dir, model_kind = prepare_model(args, work)
    texts = load_texts()
    roots = {"streamvoice": REPO_ROOT}
    if args.before:
        roots["before"] = Path(args.before).resolve()
    sections = set(args.sections.split(","))
    note(f"model: {model_kind} ({model_dir}); loading the bare kokoro baseline")
    bare = BareKokoro(model_dir, args.device, "jared50_lex30_martha20", dict(DEFAULT_VOICES))
    meta = {
        "model": model_kind, "model_dir": str(model_dir), "device": bare.device, "g2p": bare.g2p_kind,
        "tiny": args.tiny, "plan": plan.__dict__, "cpu_count": os.cpu_count(), "torch": torch.__version__,
        "torch_threads_bare": torch.get_num_threads(), "python": platform.python_version(),
        "machine": platform.machine(), "servers": {k: str(v) for k, v in roots.items()},
        "baseline": "kokoro KPipeline loop (G2P: the server's offline misaki lexicon + rule tokenizer, because "
                    "KPipeline('a') needs spaCy's en_core_web_sm from the internet), torch default threads",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    results: dict[str, Any] = {"meta": meta}
    started = time.perf_counter()
    if "engines" in sections:
        note("0/5 engines: StreamVoice fp32/bf16 (with and without the fused vocoder), bare kokoro, int8 ONNX peer, "
             "interleaved, 1 thread each")
        results["engines"] = section_engines(args, model_dir, work, plan)
    if sections & {"synthesis", "backlog", "latency"}:
        servers = await start_servers(roots, work, model_dir, args.device, "main")
        try:
            if "synthesis" in sections:
                note(f"1/5 synthesis: {plan.texts} lines one at a time")
                results["synthesis"] = await section_synthesis(bare, servers, texts, plan, work)
            if "backlog" in sections:
                note(f"2/5 backlog: {plan.backlog} lines queued at once")
                results["backlog"] = await section_backlog(bare, servers, texts, plan, work)
            if "latency" in sections:
                note(f"3/5 latency: {plan.probes} mentions while draining a bits backlog under chat load")
                results["latency"] = await section_latency(bare, servers, texts, plan)
        finally:
            stop_all(servers)
    if "longlines" in sections:
        note(f"6 long lines: {plan.long_lines} ~300-character mentions vs their first sentence alone, first audio")
        servers = await start_servers({"streamvoice": REPO_ROOT}, work, model_dir, args.device, "longlines")
        try:
            results["longlines"] = await section_long_lines(servers["streamvoice"], texts, plan.long_lines)
        finally:
            stop_all(servers)
    if "ingest" in sections:
        for name, root in roots.items():
            note(f"4/5 ingest ({name}): {plan.ingest_seconds:.0f}s WebSocket, {plan.ingest_seconds:.0f}s HTTP")
            servers = await start_servers({name: root}, work, model_dir, args.device, "ingest")
            try:
                results.setdefault("ingest", {})[name] = await section_ingest(servers[name], plan)
            finally:
                stop_all(servers)
    if sections & {"burst", "game"}:
        footprint = TINY_FOOTPRINT if args.tiny else FootprintPlan()
        footprint = FootprintPlan(**{**footprint.__dict__, **({"burst": args.burst} if args.burst else {})})
        results["footprint"] = await section_footprint(model_dir, args.device, work, footprint, args.before,
                                                       sections & {"burst", "game"})
    if "memory" in sections:
        note(f"5/5 memory: {plan.memory_messages} messages, RSS every {plan.memory_chunk}")
        servers = await start_servers({"streamvoice": REPO_ROOT}, work, model_dir, args.device, "memory")
        try:
            results["memory"] = await section_memory(servers["streamvoice"], texts, plan, model_dir, args.device, work)
        finally:
            stop_all(servers)
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    return results


def section_engines(args: argparse.Namespace, model_dir: Path, work: Path, plan: Plan) -> dict[str, Any]:
    """bench/engines.py in a process of its own (it pins torch to one thread), its JSON read back."""
    from bench.peer import FILE_NAME

    peer = Path(args.peer) if args.peer else REPO_ROOT / "bench" / "results" / "peer" / FILE_NAME
    command = [sys.executable, str(REPO_ROOT / "bench" / "engines.py"), "--weights", str(model_dir),
               "--lines", str(plan.engine_lines), "--out", str(work / "engines")]
    if peer.is_file() and not args.tiny:
        command += ["--peer", str(peer)]
    if args.asr_python and not args.tiny:
        command += ["--asr-python", args.asr_python]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    result: dict[str, Any] = json.loads((work / "engines" / "engines.json").read_text(encoding="utf-8"))
    return result


def table(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []

    def variants(section: dict[str, Any]) -> list[str]:
        return [k for k in ("streamvoice", "before") if k in section]

    if "synthesis" in results:
        s = results["synthesis"]
        for name in variants(s):
            rows.append(Row("1 synthesis", f"compute s / audio s ({name}, n={s['messages']})",
                            f"{s[name]['compute_per_audio_s']:.3f}", f"{s['bare']['compute_per_audio_s']:.3f}",
                            f"{s[name]['ratio_vs_bare']:.3f}", "<= 1.10"))
    if "backlog" in results:
        b = results["backlog"]
        for name in variants(b):
            rows.append(Row("2 backlog", f"{b['messages']} queued -> all WAVs on disk, s ({name})",
                            f"{b[name]['wall_s']:.1f}", f"{b['bare']['wall_s']:.1f}",
                            f"{b[name]['wall_s'] / b['bare']['wall_s']:.3f}", "< 1.00"))
    if "latency" in results:
        lat = results["latency"]
        for name in variants(lat):
            rows.append(Row("3 latency", f"{PROBE_WORDS}-word mention -> playable, median s ({name})",
                            f"{lat[name]['median_s']:.2f} (max {lat[name]['max_s']:.2f}; idle server "
                            f"{lat[name]['idle_median_s']:.2f})", f"{lat['bare_median_s']:.2f}",
                            f"{lat[name]['ratio_vs_bare']:.2f}", "report"))
    for name, ingest in results.get("ingest", {}).items():
        for mode in ("ws", "http"):
            r = ingest[mode]
            rows.append(Row("4 ingest", f"{mode} msgs/s, p50/p99 ms ({name})",
                            f"{r['rate_per_s']:.0f}/s, {r['latency_ms']['p50']:.1f}/{r['latency_ms']['p99']:.1f}",
                            "", "", ">= 5000/s, p99 < 50" if mode == "ws" else "report"))
            rows.append(Row("4 ingest", f"{mode} acked rows in DB ({name})",
                            f"{r['stored'] - r['acked_ids_missing_from_db']}/{r['stored']}", "", "", "all"))
    if "longlines" in results:
        ll = results["longlines"]
        rows.append(Row("6 long lines", f"~300-char mention: POST -> first audio byte, median s (n={len(ll['lines'])})",
                        f"{ll['median_long_first_audio_s']:.2f} (whole line {ll['median_long_whole_s']:.2f})",
                        f"{ll['median_first_sentence_s']:.2f} (1st sentence alone)",
                        f"{ll['median_ratio_first_audio']:.2f} (max {ll['max_ratio_first_audio']:.2f}; "
                        f"whole {ll['median_ratio_whole']:.2f})", "<= 1.2"))
    if "memory" in results:
        m = results["memory"]
        rows.append(Row("5 memory", "RSS with the model loaded, MiB", f"{m['server_rss_loaded_mb']:.0f}",
                        f"{m['bare']['rss_loaded_mb']:.0f}", f"{m['ratio_loaded_rss']:.2f}", "report"))
        rows.append(Row("5 memory", f"peak RSS after {m['messages']} messages, MiB", f"{m['server_peak_rss_mb']:.0f}",
                        f"{m['bare']['peak_rss_mb']:.0f} ({m['bare']['messages']} msgs)", f"{m['ratio_peak_rss']:.2f}",
                        "report"))
        rows.append(Row("5 memory", "RSS slope, MiB per 100 messages (all / 2nd half)",
                        f"{m['server_rss_slope_mb_per_100_messages']:+.2f} / "
                        f"{m['server_rss_slope_second_half_mb_per_100_messages']:+.2f}", "", "", "~0"))
        gpu = m["gpu"]
        rows.append(Row("5 memory", "GPU peak allocated/reserved",
                        gpu if isinstance(gpu, str) else f"{gpu['allocated_mb']:.0f}/{gpu['reserved_mb']:.0f} MiB"))
    if "footprint" in results:  # StreamVoice column: the new defaults; baseline column: today's behaviour
        rows.extend(footprint_rows(results["footprint"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="folder with real Kokoro-82M weights (config.json, kokoro-v1_0.pth, voices/)")
    parser.add_argument("--tiny", action="store_true", help="CI mode: tiny random model, a few messages")
    parser.add_argument("--out", default="bench/results/results.json", help="where to write the full results (JSON)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (server and baseline alike)")
    parser.add_argument("--sections", default="engines,synthesis,backlog,latency,longlines,ingest,memory,burst,game")
    parser.add_argument("--peer", help="the int8 ONNX peer model (python bench/peer.py DIR builds it; default "
                                       "bench/results/peer/kokoro-v1.0.int8.onnx when present, else skipped)")
    parser.add_argument("--asr-python", default=os.environ.get("ASR_PYTHON"),
                        help="a Python with faster-whisper for WER per path")
    parser.add_argument("--texts", type=int, help="lines for section 1 (default 100)")
    parser.add_argument("--backlog", type=int, help="lines for section 2 (default 100)")
    parser.add_argument("--memory-messages", type=int, help="messages for section 5 (default 1000)")
    parser.add_argument("--ingest-seconds", type=float, help="seconds per ingest run (default 10)")
    parser.add_argument("--long-lines", type=int, help="long mentions for section 6 (default 4)")
    parser.add_argument("--burst", type=int, help="mentions posted at once in the burst row (default 300)")
    parser.add_argument("--before", help="also benchmark a server from this source tree (e.g. a `git archive` of an "
                                         "older commit) in sections 1-4, side by side")
    parser.add_argument("--workdir", help="keep servers' files here (default: a temporary folder, deleted)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    plan = TINY_PLAN if args.tiny else Plan()
    overrides = {"texts": args.texts, "backlog": args.backlog, "memory_messages": args.memory_messages,
                 "ingest_seconds": args.ingest_seconds, "long_lines": args.long_lines}
    plan = Plan(**{**plan.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    work = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="streamvoice-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = asyncio.run(run(args, plan, work))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    rows = table(results)
    results["table"] = [row.__dict__ for row in rows]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    meta = results["meta"]
    print(f"\nStreamVoice benchmark - {meta['model']} on {meta['device']} ({meta['cpu_count']} CPUs, torch "
          f"{meta['torch']}), G2P {meta['g2p']}, {meta['duration_s']:.0f}s")
    if not results["meta"]["model"].startswith("real"):
        print("NOTE: not real weights - timings reflect the architecture, the audio is noise.")
    if "engines" in results:
        from bench.engines import table as engines_table

        print(engines_table(results["engines"]))
        print()
    print(format_table(rows))
    print(f"\nfull results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
