"""The floor: kokoro's own ``KPipeline`` in a plain loop, writing one WAV per text.

English ``KPipeline(lang_code='a')`` cannot be built offline (misaki downloads spaCy's ``en_core_web_sm``), so
the pipeline comes from ``tts.engine._make_pipeline``: the same offline G2P the server uses (misaki's lexicon
with a rule tokenizer). Everything after G2P is kokoro's own code: ``KPipeline.__call__`` -> ``KModel``.
The voice is the same percent mix the server uses. Torch runs with its default thread settings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from core.voice_mix import parse_voice_mix
from tts.engine import MODEL_FILE, REPO_ID, SAMPLE_RATE, _make_pipeline, resolve_device


class BareKokoro:
    def __init__(self, model_dir: Path, device: str, voice: str, voices: dict[str, str]) -> None:
        from kokoro import KModel

        started = time.perf_counter()
        self.device = resolve_device(device)
        self.model = KModel(repo_id=REPO_ID, config=str(model_dir / "config.json"),
                            model=str(model_dir / MODEL_FILE)).to(self.device).eval()
        self.pipeline: Any
        self.pipeline, self.g2p_kind = _make_pipeline("a", self.model)
        packs = [self.pipeline.load_single_voice(str(model_dir / "voices" / f"{share.voice_id}.pt")).float()
                 * share.weight for share in parse_voice_mix(voice, voices)]
        self.pack = torch.stack(packs).sum(dim=0)
        self.synthesize("Hello.")  # warm-up, as the server does
        self.load_s = time.perf_counter() - started

    def synthesize(self, text: str) -> np.ndarray:
        pieces = [result.audio.numpy() for result in self.pipeline(text, voice=self.pack, speed=1.0)
                  if result.audio is not None]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def to_wav(self, text: str, path: Path) -> float:
        """Synthesise ``text`` into ``path``; returns the seconds of audio."""
        audio = self.synthesize(text)
        sf.write(str(path), np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")
        return audio.size / SAMPLE_RATE

    def loop(self, texts: list[str], out_dir: Path) -> tuple[float, float, list[float]]:
        """The bare sequential loop: (wall seconds, audio seconds, per-text wall seconds)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        audio_s, each = 0.0, []
        started = time.perf_counter()
        for index, text in enumerate(texts):
            t0 = time.perf_counter()
            audio_s += self.to_wav(text, out_dir / f"{index}.wav")
            each.append(time.perf_counter() - t0)
        return time.perf_counter() - started, audio_s, each
