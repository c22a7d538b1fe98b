"""The bare library's memory, in a process of its own: ``python -m bench.bare_memory --model-dir DIR``.

Loads kokoro (KModel + KPipeline, the server's offline G2P) like bench/baseline.py, records RSS, synthesises
``--messages`` short chat lines to WAV files and records the peak. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.common import load_texts, rss_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)

    import os
    import warnings

    warnings.filterwarnings("ignore")
    import torch

    from bench.baseline import BareKokoro
    from core.settings import DEFAULT_VOICES

    bare = BareKokoro(Path(args.model_dir), args.device, "jared50_lex30_martha20", dict(DEFAULT_VOICES))
    loaded = rss_mb(os.getpid())
    texts = sorted(load_texts(), key=len)
    short = texts[: max(20, len(texts) // 2)]
    lines = [short[i % len(short)] for i in range(args.messages)]
    if bare.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    bare.loop(lines, Path(args.out_dir))
    after = rss_mb(os.getpid())
    result = {"messages": args.messages, "rss_loaded_mb": loaded.get("rss_mb"), "rss_after_mb": after.get("rss_mb"),
              "peak_rss_mb": after.get("peak_rss_mb")}
    if bare.device == "cuda":
        result["gpu"] = {"allocated_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                         "reserved_mb": round(torch.cuda.max_memory_reserved() / 2**20, 1)}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
