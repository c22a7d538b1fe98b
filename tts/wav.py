"""Write WAV files atomically: a crash never leaves a half-written file that the database points to."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from tts.engine import SAMPLE_RATE


def write_wav_atomic(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> int:
    """Write 16-bit mono PCM to ``path`` via a temp file + fsync + rename; return the file size in bytes.

    The WAV is encoded in memory first, so a failing disk (full, unwritable, out of file handles) surfaces
    as a plain ``OSError`` from the file write (libsndfile would blur it into its own error), and the
    temp file is removed on any failure: nothing half-written stays on a full disk.
    """
    clipped = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    encoded = io.BytesIO()
    sf.write(encoded, clipped, sample_rate, subtype="PCM_16", format="WAV")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.part")
    try:
        with open(temp, "wb") as handle:
            handle.write(encoded.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path.stat().st_size
