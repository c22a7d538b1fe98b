"""Kokoro behind one small, blocking interface: text -> phoneme chunks -> 24 kHz float audio.

Everything here blocks (torch, espeak); callers run it in a worker thread, never on the event loop.
Phonemizing and rendering are separate steps so the worker can overlap G2P of the next message with the
model rendering of the current one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.voice_mix import VoiceShare, parse_voice_mix
from tts import g2p

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
REPO_ID = "hexgrad/Kokoro-82M"
MODEL_FILE = "kokoro-v1_0.pth"
#: Kokoro's context holds 510 phonemes per forward pass.
MAX_PHONEMES = 510
_SENTENCE_END = re.compile(r"(?<=[.!?;:,—…])\s+")


class EngineUnavailable(RuntimeError):
    """The model could not be loaded (no weights, no network, bad device); the reason is the message."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The settings the engine needs, copied out of ``Settings`` so the engine stays settings-agnostic."""

    lang_code: str = "a"
    device: str = "auto"
    model_dir: str = ""
    voice: str = "af_heart"
    voices: Mapping[str, str] | None = None
    speed: float = 1.0


def resolve_device(requested: str) -> str:
    """``auto`` picks CUDA when torch sees a GPU, else CPU; an explicit device must exist."""
    requested = requested.lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise EngineUnavailable("device 'cuda' requested but torch sees no CUDA GPU")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise EngineUnavailable("device 'mps' requested but it is not available")
    return requested


class KokoroEngine:
    """One KModel, one KPipeline, one mixed voice. Thread-safe: a lock serialises model calls."""

    def __init__(self, model: Any, pipeline: Any, device: str, model_dir: str, g2p_kind: str) -> None:
        self.model = model
        self.pipeline = pipeline
        self.device = device
        self.model_dir = model_dir
        self.g2p_kind = g2p_kind
        self.voice_spec = ""
        self.speed = 1.0
        self._pack: torch.Tensor | None = None
        self._lock = threading.Lock()

    # --- loading -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, config: EngineConfig) -> KokoroEngine:
        """Load the model and G2P, build the voice mix and warm up. Raises ``EngineUnavailable``."""
        from kokoro import KModel

        device = resolve_device(config.device)
        try:
            if config.model_dir:
                model_dir = Path(config.model_dir)
                for needed in ("config.json", MODEL_FILE):
                    if not (model_dir / needed).is_file():
                        raise EngineUnavailable(f"model_dir {str(model_dir)!r} has no {needed}")
                model = KModel(repo_id=REPO_ID, config=str(model_dir / "config.json"),
                               model=str(model_dir / MODEL_FILE))
            else:
                model = KModel(repo_id=REPO_ID)
            model = model.to(device).eval()
        except EngineUnavailable:
            raise
        except Exception as exc:  # hub download failure, corrupt file, CUDA error...
            raise EngineUnavailable(f"could not load the Kokoro model: {type(exc).__name__}: {exc}") from exc

        pipeline, g2p_kind = _make_pipeline(config.lang_code, model)
        engine = cls(model, pipeline, device, config.model_dir, g2p_kind)
        engine.set_voice(config.voice, config.voices or {}, config.speed)
        engine.synthesize("Hello.")  # warm-up: first call pays for lazy initialisation
        log.info("Kokoro ready on %s (G2P: %s, voice %s)", device, g2p_kind, config.voice)
        return engine

    def voice_pack(self, voice_id: str) -> torch.Tensor:
        """A base voice pack, from ``model_dir/voices`` when set, else kokoro's hub download."""
        if self.model_dir:
            path = Path(self.model_dir) / "voices" / f"{voice_id}.pt"
            if not path.is_file():
                raise EngineUnavailable(f"voice {voice_id!r} not found in {str(path.parent)!r}")
            return self.pipeline.load_single_voice(str(path))
        try:
            return self.pipeline.load_single_voice(voice_id)
        except Exception as exc:
            raise EngineUnavailable(f"could not load voice {voice_id!r}: {exc}") from exc

    def mix(self, shares: Sequence[VoiceShare]) -> torch.Tensor:
        """Percent-weighted sum of the base voice embeddings."""
        packs = [self.voice_pack(share.voice_id).float() * share.weight for share in shares]
        return torch.stack(packs).sum(dim=0)

    def set_voice(self, spec: str, voices: Mapping[str, str], speed: float) -> None:
        """Switch voice and speed; later synthesis uses them. Raises VoiceMixError/EngineUnavailable."""
        pack = self.mix(parse_voice_mix(spec, voices)).to(self.device)
        with self._lock:
            self.pipeline.voices[spec] = pack
            self._pack, self.voice_spec, self.speed = pack, spec, speed

    # --- synthesis -----------------------------------------------------------------------------------
    def phonemize(self, text: str) -> list[str]:
        """Text -> phoneme strings of at most 510 symbols each (Kokoro's context)."""
        if self.g2p_kind in {"misaki", "misaki-lexicon"}:
            _, tokens = self.pipeline.g2p(text)
            return [ps for _, ps, _ in self.pipeline.en_tokenize(tokens) if ps]
        phonemes, _ = self.pipeline.g2p(text)
        return _split_phonemes(phonemes)

    def render(self, chunks: Sequence[str]) -> np.ndarray:
        """Phoneme chunks -> mono float32 audio at 24 kHz (empty array when nothing is voiced)."""
        pieces: list[np.ndarray] = []
        with self._lock, torch.inference_mode():
            pack, speed = self._pack, self.speed
            if pack is None:
                raise EngineUnavailable("no voice set")
            for phonemes in chunks:
                output = self.pipeline.infer(self.model, phonemes[:MAX_PHONEMES], pack, speed)
                pieces.append(output.audio.detach().cpu().numpy().astype(np.float32, copy=False).reshape(-1))
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(pieces)

    def synthesize(self, text: str) -> np.ndarray:
        return self.render(self.phonemize(text))


def _make_pipeline(lang_code: str, model: Any) -> tuple[Any, str]:
    """A KPipeline for ``lang_code``; for English, degrade gracefully when spaCy's model is unavailable."""
    from kokoro import KPipeline

    lang_code = lang_code.lower()
    if lang_code not in {"a", "b"}:
        return KPipeline(lang_code=lang_code, repo_id=REPO_ID, model=model), "espeak"
    try:
        return KPipeline(lang_code=lang_code, repo_id=REPO_ID, model=model), "misaki"
    except (Exception, SystemExit) as exc:  # spacy.cli.download may sys.exit when offline
        log.warning("misaki English G2P unavailable (%s: %s); using its lexicon with a rule tokenizer",
                    type(exc).__name__, exc)
    # Build the pipeline through a language that needs no download, then give it the English G2P.
    pipeline = KPipeline(lang_code="e", repo_id=REPO_ID, model=model)
    pipeline.lang_code = lang_code
    try:
        pipeline.g2p = g2p.lexicon_g2p(british=lang_code == "b")
        return pipeline, "misaki-lexicon"
    except Exception as exc:
        log.warning("misaki lexicon G2P failed too (%s); falling back to espeak-ng phonemes", exc)
    pipeline.g2p = g2p.espeak_g2p(british=lang_code == "b")
    return pipeline, "espeak"


def _split_phonemes(phonemes: str) -> list[str]:
    """Cut a long phoneme string at pauses so every chunk fits Kokoro's 510-symbol context."""
    chunks: list[str] = []
    current = ""
    for piece in _SENTENCE_END.split(phonemes.strip()):
        while len(piece) > MAX_PHONEMES:
            cut = piece.rfind(" ", 0, MAX_PHONEMES)
            cut = cut if cut > 0 else MAX_PHONEMES
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        candidate = f"{current} {piece}".strip()
        if len(candidate) > MAX_PHONEMES:
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [c for c in chunks if c]
