"""Memory with a thousand viewers, each in their own voice: ``python -m bench.voices_memory --model-dir DIR``.

Loads the engine as the server does (``KokoroEngine.load``), then, for ``--chatters`` distinct logins in
``voice_mode: per_user``, resolves each chatter's mix (``core.viewer_voice``) and builds its style pack through
the engine's bounded cache, exactly as synthesis does; every ``--render-every``-th chatter is also rendered
("Hi there.") in their voice. Records RSS after loading, after all chatters, and the peak. ``--cache-size``
overrides the cache bound (a huge value shows what an unbounded cache would cost). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--chatters", type=int, default=1000)
    parser.add_argument("--render-every", type=int, default=100)
    parser.add_argument("--cache-size", type=int, default=0, help="0: the engine's default bound")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    from bench.common import rss_mb
    from core.settings import DEFAULT_VOICES, Settings
    from core.viewer_voice import resolve_voice
    from tts.engine import EngineConfig, KokoroEngine

    voices_dir = os.path.join(args.model_dir, "voices")
    english = sorted(name[:-3] for name in os.listdir(voices_dir) if name[:2] in {"af", "am", "bf", "bm"})
    settings = Settings(voice_mode="per_user", voice_pool=tuple(english))
    engine = KokoroEngine.load(EngineConfig(model_dir=args.model_dir, device=args.device,
                                            voice=settings.voice, voices=dict(DEFAULT_VOICES)))
    if args.cache_size:
        engine.voice_packs.size = args.cache_size
    loaded = rss_mb(os.getpid())

    started = time.perf_counter()
    resolve_s = 0.0
    renders = 0
    for n in range(args.chatters):
        t0 = time.perf_counter()
        spec = resolve_voice(f"viewer_{n:04d}", settings)
        resolve_s += time.perf_counter() - t0
        engine.check_voice(spec)
        if args.render_every and n % args.render_every == 0:
            engine.synthesize("Hi there.", voice=spec)
            renders += 1
    after = rss_mb(os.getpid())
    result = {
        "model_dir": args.model_dir, "device": engine.device, "pool": len(english), "chatters": args.chatters,
        "renders": renders, "cache_size": engine.voice_packs.size, "cached_packs": len(engine.voice_packs),
        "packs_built": engine.voice_packs.builds, "seconds": round(time.perf_counter() - started, 1),
        "resolve_us_per_chatter": round(resolve_s / max(1, args.chatters) * 1e6, 1),
        "rss_loaded_mb": loaded.get("rss_mb"), "rss_after_mb": after.get("rss_mb"),
        "peak_rss_mb": after.get("peak_rss_mb"),
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
