"""Write WAV files atomically: a crash never leaves a half-written file that the database points to."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from tts.engine import SAMPLE_RATE


def write_wav_atomic(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> int:
    """Write 16-bit mono PCM to ``path`` via a temp file + fsync + rename; return the file size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part")
    clipped = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    with open(temp, "wb") as handle:
        sf.write(handle, clipped, sample_rate, subtype="PCM_16", format="WAV")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return path.stat().st_size
