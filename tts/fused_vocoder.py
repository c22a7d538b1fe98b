"""A fused CPU kernel for the vocoder's AdaIN + Snake chains (``fused_vocoder`` in settings).

Why: on CPU about 85 % of a render is kokoro's iSTFTNet generator, and between its convolutions every residual
block runs ``x + sin(a * (1 + gamma) * instance_norm(x) + beta) ** 2 / a``: in eager torch that is about ten
passes over a tensor of channels x 24,000/5 frames per second of audio (instance norm, scale, shift, the Snake
activation's mul/sin/pow/mul/add, and with bf16 autocast the casts to fp32 and back), a third of the render's
CPU time. This module replaces that chain with one C function that reads the convolution's output once for the
statistics and once to write the next convolution's input, in the dtype that convolution takes (bfloat16
under bf16 autocast, else float32); the statistics are accumulated in double.

The C source below is compiled once with the system's C compiler (``cc``, ``-O3 -march=native``, a vectorisable
``sin``) into ``~/.cache/streamvoice/kernels`` (about a second) and loaded with ctypes; the call
releases the GIL and uses torch's OpenMP thread count. Without a compiler, or anywhere the build fails, the
engine keeps kokoro's own forward (``install`` says why). Nothing is downloaded. Measured numbers: bench/README.md.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import types
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

_C_SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t f32_to_bf16(float f) {  /* round to nearest even, as torch does */
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* sin(v)^2, vectorisable: sin^2 has period pi, so reduce v by n * pi (Cody-Waite, pi in four parts: exact up to
 * |v| ~ 1e5) to r in [-pi/2, pi/2], then sin(r) by its Taylor series to r^11 (error < 6e-8 there). */
static inline float sin_squared(float v) {
    float n = floorf(v * 0.31830988618379067f + 0.5f);
    float r = v - n * 3.140625f;
    r -= n * 0.0009670257568359375f;
    r -= n * 6.2771141529083251953e-07f;
    r -= n * 1.2154201256553420762e-10f;
    float r2 = r * r;
    float s = r * (1.0f + r2 * (-1.6666667e-1f + r2 * (8.3333333e-3f + r2 * (-1.9841270e-4f
                  + r2 * (2.7557319e-6f + r2 * -2.5052108e-8f)))));
    return s * s;
}

/* One row of x (length values): y = (x - mean) / sqrt(var + eps) * g1 + g2 (instance norm + AdaIN, folded into
 * k and shift), out = y + sin(alpha * y)^2 / alpha (Snake). Inlined with constant dtype flags, so each of the
 * four variants below is a straight vector loop. */
static inline void row(const void *x, void *out, const int x_bf16, const int out_bf16, long length,
                       float g1, float g2, float a, float eps) {
    const float *xf = (const float *)x;
    const uint16_t *xh = (const uint16_t *)x;
    double sum = 0.0, sq = 0.0;
    #pragma omp simd reduction(+:sum, sq)
    for (long t = 0; t < length; t++) {
        double v = x_bf16 ? bf16_to_f32(xh[t]) : xf[t];
        sum += v;
        sq += v * v;
    }
    double mean = sum / (double)length;
    double var = sq / (double)length - mean * mean;
    if (var < 0.0) var = 0.0;
    float k = (float)(g1 / sqrt(var + (double)eps));
    float shift = (float)(g2 - mean * (double)k);
    float inv_a = 1.0f / a;
    #pragma omp simd
    for (long t = 0; t < length; t++) {
        float y = (x_bf16 ? bf16_to_f32(xh[t]) : xf[t]) * k + shift;
        float o = y + inv_a * sin_squared(a * y);
        if (out_bf16) ((uint16_t *)out)[t] = f32_to_bf16(o); else ((float *)out)[t] = o;
    }
}

/* Rows r = b * channels + c of x (rows x length, contiguous); x and out are bfloat16 when their flag is set,
 * else float32. */
void adain_snake(const void *x, void *out, int x_bf16, int out_bf16, long rows, long channels, long length,
                 const float *g1, const float *g2, const float *alpha, float eps, int threads) {
    long in_size = x_bf16 ? 2 : 4, out_size = out_bf16 ? 2 : 4;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const char *xr = (const char *)x + r * length * in_size;
        char *o = (char *)out + r * length * out_size;
        float a = alpha[r % channels];
        if (x_bf16 && out_bf16) row(xr, o, 1, 1, length, g1[r], g2[r], a, eps);
        else if (x_bf16) row(xr, o, 1, 0, length, g1[r], g2[r], a, eps);
        else if (out_bf16) row(xr, o, 0, 1, length, g1[r], g2[r], a, eps);
        else row(xr, o, 0, 0, length, g1[r], g2[r], a, eps);
    }
}
"""

_FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp", "-shared", "-fPIC"]
_LIB: Any = None
_LIB_ERROR = ""
_LIB_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where the compiled kernel is kept: ``$XDG_CACHE_HOME/streamvoice/kernels`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamvoice" / "kernels"


def _compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def _build(compiler: str) -> Path:
    """Compile the kernel once per (source, flags, compiler, CPU); later starts load the cached file."""
    try:
        cpu = next((line for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
                    if line.startswith("flags")), platform.processor())
    except OSError:
        cpu = platform.processor()
    key = hashlib.sha256("\0".join([_C_SOURCE, *_FLAGS, compiler, platform.machine(), cpu]).encode()).hexdigest()
    name = f"adain_snake-{key[:16]}.so"
    error = OSError("no folder to build in")
    for folder in (cache_dir(), Path(tempfile.gettempdir()) / "streamvoice-kernels"):
        if (folder / name).is_file():
            return folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return _compile(compiler, folder, name)
        except OSError as exc:  # a read-only home: try the temp folder
            error = exc
    raise error


def _compile(compiler: str, folder: Path, name: str) -> Path:
    target = folder / name
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = Path(tmp) / "adain_snake.c"
        source.write_text(_C_SOURCE)
        built = Path(tmp) / "adain_snake.so"
        done = subprocess.run([compiler, *_FLAGS, str(source), "-o", str(built), "-lm"],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{compiler} failed: {done.stderr.strip()[-400:]}")
        os.replace(built, target)  # atomic: a process starting beside us sees the whole file or none
    return target


def library() -> Any:
    """The loaded kernel (ctypes), built on first use; None when it cannot be (``unavailable_reason``)."""
    global _LIB, _LIB_ERROR
    with _LIB_LOCK:
        if _LIB is None and not _LIB_ERROR:
            try:
                compiler = _compiler()
                if compiler is None:
                    raise RuntimeError("no C compiler (cc, gcc or clang) on PATH")
                lib = ctypes.CDLL(str(_build(compiler)))
                lib.adain_snake.restype = None
                lib.adain_snake.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                            ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float, ctypes.c_int]
                _LIB = lib
            except Exception as exc:  # no compiler, a read-only home, an exotic platform...
                _LIB_ERROR = f"{type(exc).__name__}: {exc}"
        return _LIB


def unavailable_reason() -> str:
    """Why ``library()`` returned None ("" when it did not)."""
    return _LIB_ERROR


def adain_snake_reference(x: torch.Tensor, g1: torch.Tensor, g2: torch.Tensor, alpha: torch.Tensor,
                          eps: float) -> torch.Tensor:
    """What the kernel computes, in torch (float32): the definition the tests compare it with."""
    xf = x.float()
    var, mean = torch.var_mean(xf, dim=2, keepdim=True, correction=0)
    y = (xf - mean) * torch.rsqrt(var + eps) * g1.view(xf.shape[0], -1, 1) + g2.view(xf.shape[0], -1, 1)
    a = alpha.view(1, -1, 1)
    return y + torch.sin(a * y) ** 2 / a


def adain_snake(x: torch.Tensor, g1: torch.Tensor, g2: torch.Tensor, alpha: torch.Tensor, eps: float,
                out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """The fused chain on a (batch, channels, length) CPU tensor of float32 or bfloat16.

    ``g1``/``g2`` (batch x channels): the folded scale and shift, ``(1 + gamma) * norm.weight`` and
    ``(1 + gamma) * norm.bias + beta``; ``alpha`` (channels): Snake's frequency. Returns ``out_dtype``
    (default: x's dtype). Raises RuntimeError when the kernel is unavailable.
    """
    lib = library()
    if lib is None:
        raise RuntimeError(f"fused vocoder kernel unavailable: {_LIB_ERROR}")
    if x.dtype not in (torch.float32, torch.bfloat16) or x.device.type != "cpu" or x.dim() != 3:
        raise ValueError(f"expected a 3-d float32/bfloat16 CPU tensor, got {x.dtype} {tuple(x.shape)} on {x.device}")
    x = x.contiguous()
    out_dtype = out_dtype or x.dtype
    out = torch.empty(x.shape, dtype=out_dtype)
    g1 = g1.detach().float().contiguous().reshape(-1)
    g2 = g2.detach().float().contiguous().reshape(-1)
    alpha = alpha.detach().float().contiguous().reshape(-1)
    batch, channels, length = x.shape
    if g1.numel() != batch * channels or g2.numel() != batch * channels or alpha.numel() != channels:
        raise ValueError("g1/g2 need batch x channels values and alpha one per channel")
    lib.adain_snake(x.data_ptr(), out.data_ptr(), int(x.dtype == torch.bfloat16), int(out_dtype == torch.bfloat16),
                    batch * channels, channels, length, g1.data_ptr(), g2.data_ptr(), alpha.data_ptr(),
                    float(eps), torch.get_num_threads())
    return out


def _fused_forward(self: Any, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """kokoro's ``AdaINResBlock1.forward`` with each AdaIN + Snake chain in the kernel; the convolutions are the
    same modules (their hooks, the engine's pause/cancel points, still run)."""
    if x.device.type != "cpu":
        return type(self).forward(self, x, s)
    # the convolution's input dtype: under bf16 autocast it would cast its input to bfloat16 anyway
    bf16 = torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    conv_dtype = torch.bfloat16 if bf16 else torch.float32
    for c1, c2, n1, n2, a1, a2 in zip(self.convs1, self.convs2, self.adain1, self.adain2, self.alpha1, self.alpha2,
                                      strict=True):
        xt = c1(adain_snake(x, *_fold(n1, s), a1, n1.norm.eps, conv_dtype))
        xt = c2(adain_snake(xt, *_fold(n2, s), a2, n2.norm.eps, conv_dtype))
        x = xt + x
    return x


def _fold(adain: Any, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """AdaIN's style projection folded with the instance norm's affine: ``(g1, g2)`` per batch item and channel."""
    h = adain.fc(s).float()
    gamma, beta = h.view(h.size(0), 2, -1).unbind(1)
    weight, bias = adain.norm.weight.float(), adain.norm.bias.float()
    return (1 + gamma) * weight, (1 + gamma) * bias + beta


def install(model: Any) -> str:
    """Route every kokoro ``AdaINResBlock1`` of ``model`` (the generator's residual blocks) through the kernel.

    Returns "" when installed, else the reason it was not (the model is left as it was). A self-check on a
    small input compares the kernel with ``adain_snake_reference`` before anything is changed.
    """
    from kokoro.istftnet import AdaINResBlock1

    if library() is None:
        return _LIB_ERROR
    try:
        rng = torch.Generator().manual_seed(0)  # not the global generator: the caller's seeds stay theirs
        x = torch.randn(2, 8, 333, generator=rng)
        g1, g2 = torch.rand(2, 8, generator=rng) + 0.5, torch.randn(2, 8, generator=rng)
        alpha = torch.rand(8, generator=rng) + 0.2
        error = (adain_snake(x, g1, g2, alpha, 1e-5) - adain_snake_reference(x, g1, g2, alpha, 1e-5)).abs().max()
        if not float(error) < 1e-4:
            return f"self-check failed: max error {float(error):.2e}"
    except Exception as exc:
        return f"self-check failed: {type(exc).__name__}: {exc}"
    for module in model.modules():
        if isinstance(module, AdaINResBlock1):
            module.forward = types.MethodType(_fused_forward, module)
    return ""


def uninstall(model: Any) -> None:
    """Back to kokoro's own forward (the bench compares both paths in one process)."""
    for module in model.modules():
        if "forward" in vars(module) and getattr(module.forward, "__func__", None) is _fused_forward:
            del module.forward


def installed(model: Any) -> bool:
    return any(getattr(vars(m).get("forward"), "__func__", None) is _fused_forward for m in model.modules())
