"""The fused vocoder kernel (``fused_vocoder`` in settings) computes what kokoro's AdaIN + Snake chain computes.

Tolerances: the kernel against its torch definition, max abs error ≤ 1e-4 on float32 input (measured ~2e-6:
float32 sin vs the kernel's polynomial, statistics in double) and one bfloat16 step when it writes bfloat16.
The whole engine on the tiny model, fused against unfused, both fp32 and seeded: same length and word timings,
waveform SNR ≥ 80 dB (measured 122.7 dB); bf16 + fused against fp32 (the shipped default against the
reference): same length and timings, SNR ≥ 10 dB and mean log-spectrum difference < 0.3 nepers (measured
17.4 dB and 0.114, the same as bf16 alone: the bound ``test_precision`` holds bf16 to). On the real
weights the bench compares Whisper WER instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.settings import SettingsError, build_settings
from tts import fused_vocoder
from tts.engine import EngineConfig, KokoroEngine, cpu_has_native_bf16

pytestmark = pytest.mark.slow  # builds the C kernel and renders with and without it

needs_kernel = pytest.mark.skipif(fused_vocoder.library() is None,
                                reason=f"no fused kernel here: {fused_vocoder.unavailable_reason()}")

LINE = "Hello there, how are you doing today?"


def _chain_as_kokoro_does(x: torch.Tensor, adain: torch.nn.Module, s: torch.Tensor, alpha: torch.Tensor
                          ) -> torch.Tensor:
    """``AdaINResBlock1``'s lines: ``n1(x, s)`` then Snake, with kokoro's own modules."""
    xt = adain(x, s)
    return xt + (1 / alpha) * (torch.sin(alpha * xt) ** 2)


@needs_kernel
def test_kernel_matches_kokoros_adain_and_snake() -> None:
    from kokoro.istftnet import AdaIN1d

    torch.manual_seed(1)
    adain = AdaIN1d(128, 16).eval()
    adain.norm.weight.data.uniform_(0.5, 1.5)  # kokoro's are ones/zeros; folding must not rely on it
    adain.norm.bias.data.normal_()
    alpha = (torch.rand(1, 16, 1) * 2 + 0.1)
    s = torch.randn(2, 128)
    x = torch.randn(2, 16, 1000) * 5 + 3
    with torch.inference_mode():
        expected = _chain_as_kokoro_does(x, adain, s, alpha)
        g1, g2 = fused_vocoder._fold(adain, s)
        got = fused_vocoder.adain_snake(x, g1, g2, alpha, adain.norm.eps)
        assert got.dtype == torch.float32 and got.shape == x.shape
        assert float((got - expected).abs().max()) <= 1e-4
        half = fused_vocoder.adain_snake(x.bfloat16(), g1, g2, alpha, adain.norm.eps)
        assert half.dtype == torch.bfloat16
        from_half = _chain_as_kokoro_does(x.bfloat16().float(), adain, s, alpha)
        step = from_half.abs().clamp(min=1e-3) * 2.0**-7  # one bfloat16 rounding step
        assert bool(((half.float() - from_half).abs() <= step).all())


@needs_kernel
def test_kernel_rejects_what_it_cannot_compute() -> None:
    ones = torch.ones(1, 4)
    with pytest.raises(ValueError):
        fused_vocoder.adain_snake(torch.ones(1, 4, 8, dtype=torch.float64), ones, ones, torch.ones(4), 1e-5)
    with pytest.raises(ValueError):
        fused_vocoder.adain_snake(torch.ones(1, 4, 8), ones, ones, torch.ones(3), 1e-5)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> KokoroEngine:
    return KokoroEngine.load(EngineConfig(model_dir=str(tiny_model_dir), device="cpu", voice="af_heart",
                                          precision="fp32", fused_vocoder="off"))


def _speak(engine: KokoroEngine, text: str, precision: str, fused: bool) -> tuple[np.ndarray, object]:
    engine.precision = precision
    engine.use_fused_vocoder("on" if fused else "off")
    torch.manual_seed(0)  # the harmonic source's noise
    speech = engine.speak(text)
    return speech.audio, speech.captions


def _snr(reference: np.ndarray, audio: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((audio - reference) ** 2)))


def _log_spectrum(audio: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(audio, 1024)[::256] * np.hanning(1024)
    return np.log(np.abs(np.fft.rfft(frames, axis=1)) + 1e-5)


@needs_kernel
@pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bf16 (oneDNN has no bf16 LSTM here)")
def test_fused_engine_matches_fp32_within_tolerance(engine: KokoroEngine) -> None:
    try:
        reference, captions = _speak(engine, LINE, "fp32", fused=False)
        fused, fused_captions = _speak(engine, LINE, "fp32", fused=True)
        assert engine.fused_vocoder
        default, default_captions = _speak(engine, LINE, "bf16", fused=True)
    finally:
        engine.precision = "fp32"
        engine.use_fused_vocoder("off")
    assert fused.dtype == np.float32 and fused.shape == reference.shape and fused_captions == captions
    assert _snr(reference, fused) >= 80
    assert default.shape == reference.shape and default_captions == captions
    assert _snr(reference, default) >= 10
    assert np.mean(np.abs(_log_spectrum(default) - _log_spectrum(reference))) < 0.3


@needs_kernel
def test_off_restores_kokoros_forward(engine: KokoroEngine) -> None:
    from kokoro.istftnet import AdaINResBlock1

    blocks = [m for m in engine.model.modules() if isinstance(m, AdaINResBlock1)]
    assert blocks and engine.use_fused_vocoder("auto") and fused_vocoder.installed(engine.model)
    assert not engine.use_fused_vocoder("off") and not fused_vocoder.installed(engine.model)
    assert all("forward" not in vars(m) for m in blocks)


def test_without_a_compiler_the_engine_keeps_kokoros_forward(engine: KokoroEngine,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(fused_vocoder, "_LIB", None)
    monkeypatch.setattr(fused_vocoder, "_LIB_ERROR", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CC", raising=False)
    with caplog.at_level("WARNING", logger="tts.engine"):
        assert not engine.use_fused_vocoder("on")
    assert "no C compiler" in fused_vocoder.unavailable_reason() and "no C compiler" in caplog.text
    assert not fused_vocoder.installed(engine.model)
    assert engine.synthesize("Still speaking.").size > 0


def test_setting_is_validated() -> None:
    assert build_settings({}).fused_vocoder == "auto"
    assert build_settings({"fused_vocoder": False}).fused_vocoder == "off"  # YAML's bare `off`
    assert build_settings({"fused_vocoder": "on"}).fused_vocoder == "on"
    with pytest.raises(SettingsError, match="fused_vocoder"):
        build_settings({"fused_vocoder": "fast"})
