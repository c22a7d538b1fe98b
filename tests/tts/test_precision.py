"""The bf16 path (``precision: bf16``) sounds like fp32: same durations, audio within a stated tolerance.

Tolerance on the tiny model (seeded, so the harmonic source's noise is the same): identical length and word
timings, waveform SNR against fp32 ≥ 10 dB (measured 17-19 dB), mean log-spectrum difference < 0.3 nepers
(measured 0.09-0.11; silence vs speech is ~12). On the real weights the bench compares Whisper WER instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.settings import SettingsError, build_settings
from tts.engine import EngineConfig, KokoroEngine, cpu_has_native_bf16, resolve_precision

pytestmark = pytest.mark.slow  # renders in fp32 and bf16 side by side

LINES = ["Hello there, how are you doing today?", "That was an amazing play, well done."]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> KokoroEngine:
    return KokoroEngine.load(EngineConfig(model_dir=str(tiny_model_dir), device="cpu", voice="af_heart",
                                          precision="fp32"))


def _log_spectrum(audio: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(audio, 1024)[::256] * np.hanning(1024)
    return np.log(np.abs(np.fft.rfft(frames, axis=1)) + 1e-5)


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bf16 (oneDNN has no bf16 LSTM here)")
@pytest.mark.parametrize("text", LINES)
def test_bf16_matches_fp32_within_tolerance(engine: KokoroEngine, text: str) -> None:
    try:
        engine.precision = "fp32"
        torch.manual_seed(0)
        reference = engine.speak(text)
        engine.precision = "bf16"
        torch.manual_seed(0)
        fast = engine.speak(text)
    finally:
        engine.precision = "fp32"
    assert fast.audio.dtype == np.float32 and fast.audio.shape == reference.audio.shape
    assert fast.captions == reference.captions  # same predicted durations
    error = fast.audio - reference.audio
    snr = 10 * np.log10(np.sum(reference.audio**2) / np.sum(error**2))
    assert snr >= 10
    assert np.mean(np.abs(_log_spectrum(fast.audio) - _log_spectrum(reference.audio))) < 0.3


def test_precision_setting_is_validated_and_resolved() -> None:
    assert build_settings({"precision": "BF16"}).precision == "BF16"
    with pytest.raises(SettingsError, match="precision"):
        build_settings({"precision": "int4"})
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == ("bf16" if cpu_has_native_bf16() else "fp32")  # never a failing render
    assert resolve_precision("bf16", "cuda") == "bf16"
    assert resolve_precision("auto", "cuda") == "fp32"
    assert resolve_precision("auto", "cpu") in {"fp32", "bf16"}
