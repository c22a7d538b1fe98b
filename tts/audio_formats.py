"""Audio in the formats OpenAI's speech API answers with, through soundfile/libsndfile (no other native library).

``encode`` makes a whole file (exact headers). ``StreamEncoder`` makes the same formats piece by piece, for a
response sent while the rest still renders: each ``feed`` returns the bytes that are final now. A stream
cannot go back to fix its header, so:

- ``wav`` starts with ``tts.wav.streaming_header`` (sizes "unknown", read to the end), as ``/audio/{id}.wav``;
- ``mp3`` is constant bitrate (64 kbit/s), so a decoder's length estimate from the size is right, and the
  stream's first frame is the silent placeholder libsndfile keeps for the VBR tag;
- ``flac`` says "total samples unknown" in its STREAMINFO (allowed by the format);
- ``opus`` (Ogg) pages leave about once a second of audio (libsndfile's page latency);
- ``pcm`` is the bare 16-bit samples.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile as sf

from tts.engine import SAMPLE_RATE
from tts.wav import pcm16, streaming_header

#: format -> (libsndfile major format, subtype, extra SoundFile arguments)
_SNDFILE: dict[str, tuple[str, str, dict[str, Any]]] = {
    "wav": ("WAV", "PCM_16", {}),
    "flac": ("FLAC", "PCM_16", {}),
    "mp3": ("MP3", "MPEG_LAYER_III", {"bitrate_mode": "CONSTANT", "compression_level": 0.6}),
    "opus": ("OGG", "OPUS", {}),
}
FORMATS = ("wav", "mp3", "opus", "flac", "pcm")


def _samples(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)


def encode(audio: np.ndarray, fmt: str, sample_rate: int = SAMPLE_RATE) -> bytes:
    """The whole of ``audio`` (float, mono) as a file of format ``fmt``."""
    if fmt == "pcm":
        return pcm16(audio).tobytes()
    major, subtype, extra = _SNDFILE[fmt]
    buffer = io.BytesIO()
    data = pcm16(audio) if fmt == "wav" else _samples(audio)
    sf.write(buffer, data, sample_rate, format=major, subtype=subtype, **extra)
    return buffer.getvalue()


class _AppendOnly(io.RawIOBase):
    """A file libsndfile writes into whose bytes leave as they are written (``take``). A write below what has
    left already (a header fixed up at the end) is dropped: those bytes are on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._base = 0
        self._pos = 0

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        start = self._pos
        if start + size > self._base:
            skip = max(0, self._base - start)
            offset = start + skip - self._base
            end = offset + size - skip
            if end > len(self._pending):
                self._pending.extend(bytes(end - len(self._pending)))
            self._pending[offset:end] = view[skip:]
        self._pos = start + size
        return size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        size = self._base + len(self._pending)
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        return b""

    def readinto(self, buffer: Any) -> int:
        return 0

    def take(self) -> bytes:
        out = bytes(self._pending)
        self._base += len(out)
        self._pending.clear()
        return out


class StreamEncoder:
    """``feed`` each rendered piece, ``finish`` once; both return the bytes to send now."""

    def __init__(self, fmt: str, sample_rate: int = SAMPLE_RATE) -> None:
        self.fmt = fmt
        self._started = False
        self._sink: _AppendOnly | None = None
        self._file: sf.SoundFile | None = None
        if fmt in {"wav", "pcm"}:
            return
        major, subtype, extra = _SNDFILE[fmt]
        self._sink = _AppendOnly()
        self._file = sf.SoundFile(self._sink, "w", samplerate=sample_rate, channels=1, format=major,
                                  subtype=subtype, **extra)

    def feed(self, audio: np.ndarray) -> bytes:
        if self._file is None:
            head = b""
            if self.fmt == "wav" and not self._started:
                head = streaming_header()
            self._started = True
            return head + pcm16(audio).tobytes()
        assert self._sink is not None
        self._file.write(_samples(audio))
        return self._sink.take()

    def finish(self) -> bytes:
        if self._file is None:
            return b"" if self._started or self.fmt == "pcm" else streaming_header()
        assert self._sink is not None
        self._file.close()
        return self._sink.take()

    def close(self) -> None:
        """Drop the encoder without output (the client went away)."""
        if self._file is not None and not self._file.closed:
            self._file.close()
