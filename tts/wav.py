"""Write WAV files atomically: a crash never leaves a half-written file that the database points to."""

from __future__ import annotations

import contextlib
import io
import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from tts.engine import SAMPLE_RATE

#: The RIFF and data sizes of a WAV whose length is not known yet (a progressive stream, ``streaming_header``).
UNKNOWN_SIZE = 0xFFFFFFFF


def pcm16(audio: np.ndarray) -> np.ndarray:
    """float audio -> 16-bit samples, the one conversion both the WAV file and a progressive stream use, so a
    stream's bytes are exactly the file's (clip to [-1, 1], scale by 32767, round half to even)."""
    clipped = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return np.rint(clipped * np.float32(32767)).astype("<i2")


def streaming_header(sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 44-byte header of 16-bit mono PCM whose sizes say "unknown" (0xFFFFFFFF: read until the end), for
    audio sent while it is still being rendered; the file written at the end has the exact sizes."""
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", UNKNOWN_SIZE) + b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", UNKNOWN_SIZE))


def write_wav_atomic(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> int:
    """Write 16-bit mono PCM to ``path`` via a temp file + fsync + rename; return the file size in bytes.

    The WAV is encoded in memory first, so a failing disk (full, unwritable, out of file handles) surfaces
    as a plain ``OSError`` from the file write (libsndfile would blur it into its own error), and the
    temp file is removed on any failure: nothing half-written stays on a full disk.
    """
    encoded = io.BytesIO()
    sf.write(encoded, pcm16(audio), sample_rate, subtype="PCM_16", format="WAV")
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
