"""Where the server's memory goes, in minutes: ``python -m bench.memory_probe --model-dir DIR``.

One process, no web server: imports, loads the engine with the server's default settings, then renders
``--messages`` short mentions (the memory section's lines) on ``--lanes`` threads the way the synthesis worker
does. Prints VmRSS / VmHWM (``/proc/self/status``) after each stage and every ``--every`` messages, and the CPU
seconds per audio second. Environment variables pass through (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``,
``MALLOC_*``), so one setting can be compared with another run by run. ``bench/run.py --sections memory`` is
the real server over 1,000 messages; this is the quick look behind it.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import sys
import threading
import time
from typing import Any


def memory() -> dict[str, int]:
    """VmRSS and VmHWM of this process, MiB."""
    result: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                result["rss_mb" if line.startswith("VmRSS") else "peak_mb"] = int(line.split()[1]) // 1024
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--precision", default=None, help="default: the server's (settings)")
    args = parser.parse_args(argv)

    stages: list[dict[str, Any]] = []

    def stage(name: str, **extra: Any) -> None:
        stages.append({"stage": name, **memory(), **extra})
        print(json.dumps(stages[-1]), flush=True)

    stage("python")
    import torch  # noqa: F401

    stage("import torch")
    from bench.common import load_texts
    from core.settings import Settings
    from tts.engine import EngineConfig, KokoroEngine

    stage("import tts.engine (kokoro, transformers and misaki load with the engine)")
    s = Settings()
    started = time.perf_counter()
    engine = KokoroEngine.load(EngineConfig(
        lang_code=s.lang_code, device="cpu", model_dir=args.model_dir, voice=s.voice, voices=dict(s.voices),
        speed=s.speed, precision=args.precision or s.precision, fused_vocoder=s.fused_vocoder))
    gc.collect()
    gc.freeze()  # as the server does once the engine is loaded
    stage("engine loaded", seconds=round(time.perf_counter() - started, 1), precision=engine.precision,
          fused_vocoder=engine.fused_vocoder)

    texts = sorted(load_texts(), key=len)
    short = texts[: max(20, len(texts) // 2)]  # the lines bench/run.py's memory section posts
    lines = iter(enumerate(f"@{s.username} {short[i % len(short)]}" for i in range(args.messages)))
    lock = threading.Lock()
    audio_s = [0.0]
    cpu_started = time.process_time()

    def lane() -> None:
        while True:
            with lock:
                item = next(lines, None)
            if item is None:
                return
            index, text = item
            speech = engine.speak(text)
            with lock:
                audio_s[0] += speech.audio.size / 24_000
                if (index + 1) % args.every == 0:
                    stage(f"after {index + 1} messages")

    threads = [threading.Thread(target=lane) for _ in itertools.repeat(None, args.lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_per_audio = (time.process_time() - cpu_started) / max(audio_s[0], 1e-9)
    stage("done", messages=args.messages, lanes=args.lanes, cpu_s_per_audio_s=round(cpu_per_audio, 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
