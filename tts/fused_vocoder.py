"""A fused CPU kernel for the vocoder's AdaIN + Snake chains (``fused_vocoder`` in settings).

Why: on CPU about 85 % of a render is kokoro's iSTFTNet generator, and between its convolutions every residual
block runs ``x + sin(a * (1 + gamma) * instance_norm(x) + beta) ** 2 / a``: in eager torch that is about ten
passes over a tensor of channels x 24,000/5 frames per second of audio (instance norm, scale, shift, the Snake
activation's mul/sin/pow/mul/add, and with bf16 autocast the casts to fp32 and back), a third of the render's
CPU time. This module replaces that chain with one C function that reads the convolution's output once for the
statistics and once to write the next convolution's input, in the dtype that convolution takes (bfloat16
under bf16 autocast, else float32); the statistics are accumulated in double.

The C source (``tts/kernels/adain_snake.c``, package data) is compiled once with the system's C compiler (``cc``,
``-O3 -march=native``, a vectorisable ``sin``) into a private ``~/.cache/streamvoice/kernels`` (about a second;
``library`` says what is trusted there) and loaded with ctypes; the call
releases the GIL and uses torch's OpenMP thread count. Without a compiler, or anywhere the build fails, the
engine keeps kokoro's own forward (``install`` says why). Nothing is downloaded. Measured numbers: bench/README.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import threading
import types
from importlib import resources
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

_FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp", "-shared", "-fPIC"]
_LIB: Any = None
_LIB_ERROR = ""
_LIB_LOCK = threading.Lock()


def kernel_source() -> str:
    """The C source, shipped as package data (``tts/kernels/adain_snake.c``)."""
    return resources.files("tts").joinpath("kernels/adain_snake.c").read_text(encoding="utf-8")


def cache_dir() -> Path:
    """Where the compiled kernel is kept: ``$XDG_CACHE_HOME/streamvoice/kernels`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamvoice" / "kernels"


def _compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def cpu_features(cpuinfo: str | None = None, machine: str | None = None) -> str | None:
    """The CPU's feature flags, which ``-march=native`` compiles for: x86's ``flags`` line or aarch64's
    ``Features`` line of ``/proc/cpuinfo``. None where they cannot be read (then the build is never cached: a
    cached file from another CPU could crash with SIGILL)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return None
    machine = (machine or platform.machine()).lower()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in {"flags", "features"} and value.strip():
            return f"{machine}: {' '.join(sorted(value.split()))}"
    return None


def cache_key(compiler: str, source: str | None = None, cpu: str | None = None) -> str | None:
    """What a cached build depends on: source, flags, the compiler and its version, the CPU's features.
    None when the CPU's features are unknown (no caching)."""
    cpu = cpu if cpu is not None else cpu_features()
    if cpu is None:
        return None
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30,
                                 check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = [source if source is not None else kernel_source(), *_FLAGS, shutil.which(compiler) or compiler,
             version, cpu]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _ours(path: Path, *, folder: bool) -> bool:
    """``path`` is a real folder/file (no symlink) owned by this user that nobody else may write to."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    kind = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    owner = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return kind and owner and not st.st_mode & 0o022


def private_cache_dir() -> Path | None:
    """The cache folder, created 0700; None when it cannot be made, or it (or the folder holding it) is not ours
    alone: another user who can write there could plant a library, or swap the folder for theirs."""
    folder = cache_dir()
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        if not (_ours(folder.parent, folder=True) and _ours(folder, folder=True)):
            return None
        if os.lstat(folder).st_mode & 0o077:  # ours and nobody else's to write: others need not read it either
            folder.chmod(0o700)
    except OSError:
        return None
    return folder


def _compile(compiler: str, folder: Path, name: str, source: str) -> Path:
    """Build into a fresh private folder inside ``folder``, then move the result to ``folder/name`` atomically (a
    process starting beside us sees the whole file or none)."""
    target = folder / name
    with tempfile.TemporaryDirectory(dir=folder) as tmp:  # mkdtemp: 0700, a new name
        c_file = Path(tmp) / "adain_snake.c"
        c_file.write_text(source)
        built = Path(tmp) / "adain_snake.so"
        done = subprocess.run([compiler, *_FLAGS, str(c_file), "-o", str(built), "-lm"],
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{compiler} failed: {done.stderr.strip()[-400:]}")
        built.chmod(0o600)
        digest = Path(tmp) / "adain_snake.sha256"
        digest.write_text(_sha256(built))
        os.replace(built, target)
        os.replace(digest, _digest_path(target))  # last: a build cut short is never trusted
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest_path(library_path: Path) -> Path:
    return library_path.with_suffix(".sha256")


def _intact(path: Path) -> bool:
    """The cached file is ours alone and byte for byte what we built: loading a truncated library can kill the
    process (SIGBUS) before any error could be caught, so it is checked against the digest written beside it."""
    digest = _digest_path(path)
    try:
        return _ours(path, folder=False) and _ours(digest, folder=False) and \
            digest.read_text(encoding="ascii").strip() == _sha256(path)
    except (OSError, UnicodeDecodeError):
        return False


def _load(path: Path) -> Any:
    lib = ctypes.CDLL(str(path))
    lib.adain_snake.restype = None
    lib.adain_snake.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float, ctypes.c_int]
    return lib


def _load_uncached(compiler: str, source: str) -> Any:
    """Build in a fresh private temporary folder, load, and remove the folder (the loaded library stays mapped)."""
    with tempfile.TemporaryDirectory(prefix="streamvoice-kernel-") as tmp:
        return _load(_compile(compiler, Path(tmp), "adain_snake.so", source))


def _load_cached(compiler: str, source: str, key: str, folder: Path) -> Any:
    """The cached build when it is ours and loads; else (missing, not ours, corrupt) built again, once."""
    target = folder / f"adain_snake-{key[:24]}.so"
    if os.path.lexists(target):
        if _intact(target):
            try:
                return _load(target)
            except (OSError, AttributeError) as exc:  # the digest matched, yet the loader refuses it
                log.warning("cached fused vocoder kernel %s does not load (%s); rebuilding it", target, exc)
        else:
            log.warning("cached fused vocoder kernel %s is damaged or not ours alone; rebuilding it", target)
        target.unlink()
    try:
        return _load(_compile(compiler, folder, target.name, source))
    except (OSError, AttributeError) as exc:
        for leftover in (target, _digest_path(target)):
            with contextlib.suppress(OSError):
                leftover.unlink()
        log.warning("the rebuilt fused vocoder kernel does not load either (%s)", exc)
        raise


def library() -> Any:
    """The loaded kernel (ctypes), built on first use; None when it cannot be (``unavailable_reason``).

    Only a file this process just built, or one in the private cache folder (0700, ours) that is ours and
    nobody else's to write, is ever loaded. The cache key covers the source, flags, compiler and version, and
    the CPU's features; where the features cannot be read, or the cache folder is not private, the kernel is
    built in a fresh private temporary folder on each start instead (about a second)."""
    global _LIB, _LIB_ERROR
    with _LIB_LOCK:
        if _LIB is None and not _LIB_ERROR:
            try:
                compiler = _compiler()
                if compiler is None:
                    raise RuntimeError("no C compiler (cc, gcc or clang) on PATH")
                source = kernel_source()
                key = cache_key(compiler, source)
                folder = private_cache_dir() if key is not None else None
                if key is not None and folder is None:
                    log.warning("kernel cache folder %s cannot be made private to this user; building the fused "
                                "vocoder kernel uncached", cache_dir())
                if key is None or folder is None:
                    _LIB = _load_uncached(compiler, source)
                else:
                    _LIB = _load_cached(compiler, source, key, folder)
            except Exception as exc:  # no compiler, an exotic platform, a build that does not load...
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
