"""The fused kernel's build cache trusts nothing it did not build: real compiles with the system's C compiler.

Each test points ``XDG_CACHE_HOME`` (and the temporary folder) at its own folders and resets the module's
loaded library, so it sees a first start. Skipped without a C compiler.
"""

from __future__ import annotations

import logging
import os
import pathlib
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tts import fused_vocoder

COMPILER = fused_vocoder._compiler()
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler here")

PLANTED = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void planted(void) {
    const char *marker = getenv("SV_PLANTED_MARKER");
    FILE *f = marker ? fopen(marker, "w") : NULL;
    if (f) { fputs("planted code ran", f); fclose(f); }
}
void adain_snake(void) {}
"""


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A first start: nothing loaded yet, an empty cache home and temp folder of this test's own."""
    monkeypatch.setattr(fused_vocoder, "_LIB", None)
    monkeypatch.setattr(fused_vocoder, "_LIB_ERROR", "")
    (tmp_path / "home").mkdir()
    (tmp_path / "shared-tmp").mkdir(mode=0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "shared-tmp"))
    monkeypatch.setenv("SV_PLANTED_MARKER", str(tmp_path / "planted-ran"))
    return tmp_path


def _restart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused_vocoder, "_LIB", None)
    monkeypatch.setattr(fused_vocoder, "_LIB_ERROR", "")


def _plant(path: Path) -> None:
    """Another user's library at ``path``: its constructor leaves a marker when it is loaded."""
    source = path.with_suffix(".c")
    source.write_text(PLANTED)
    assert COMPILER is not None
    subprocess.run([COMPILER, "-shared", "-fPIC", str(source), "-o", str(path)], check=True, capture_output=True)
    source.unlink()


def _cached(fresh: Path) -> list[Path]:
    folder = fresh / "home" / "streamvoice" / "kernels"
    return sorted(folder.glob("*.so")) if folder.is_dir() else []


def test_a_kernel_planted_in_the_shared_temp_folder_never_runs(fresh: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``~/.cache`` unusable (here: a file where the folder should be): nothing is built or looked for in a
    predictable folder of the shared temp directory, so what another user plants there is never loaded."""
    (fresh / "home").rmdir()
    (fresh / "home").write_text("not a folder")
    assert fused_vocoder.library() is not None  # built in a private folder of its own, used, removed
    shared = fresh / "shared-tmp"
    predictable = [p for p in shared.rglob("*") if p.suffix == ".so"]
    for path in predictable:  # what a first start left where others can see it: replaced by another user's
        path.unlink()
        _plant(path)
    (shared / "streamvoice-kernels").mkdir(exist_ok=True)
    for name in ("adain_snake.so", *(p.name for p in predictable)):
        if not (shared / "streamvoice-kernels" / name).exists():
            _plant(shared / "streamvoice-kernels" / name)
    _restart(monkeypatch)
    lib = fused_vocoder.library()
    assert lib is not None and "streamvoice-kernels" not in str(lib._name)
    assert not (fresh / "planted-ran").exists(), "a library planted by someone else ran inside the server"


def test_a_cache_folder_others_can_write_to_is_not_used(fresh: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    assert fused_vocoder.library() is not None
    [built] = _cached(fresh)
    built.unlink()
    _plant(built)  # someone who could write to the folder put their library under the right name
    built.parent.chmod(0o777)
    _restart(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="tts.fused_vocoder"):
        assert fused_vocoder.library() is not None
    assert not (fresh / "planted-ran").exists()
    assert len([r for r in caplog.records if "cannot be made private" in r.getMessage()]) == 1


def test_a_cached_file_that_is_not_ours_alone_is_rebuilt(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fused_vocoder.library() is not None
    [built] = _cached(fresh)
    built.unlink()
    _plant(built)
    built.chmod(0o666)  # anyone may rewrite it: it cannot be proven ours
    if os.getuid() == 0:
        os.chown(built, 65534, 65534)  # and owned by someone else
    _restart(monkeypatch)
    assert fused_vocoder.library() is not None
    assert not (fresh / "planted-ran").exists()
    assert os.stat(built).st_mode & 0o077 == 0


def test_cache_folder_is_created_private(fresh: Path) -> None:
    assert fused_vocoder.library() is not None
    folder = fresh / "home" / "streamvoice" / "kernels"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert [p.stat().st_mode & 0o077 for p in _cached(fresh)] == [0]


START = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
from tts import fused_vocoder
{patch}
print("loaded" if fused_vocoder.library() is not None else "unavailable: " + fused_vocoder.unavailable_reason())
"""


def _start(fresh: Path, patch: str = "") -> tuple[str, list[str]]:
    """A new server process's first use of the kernel (the dynamic loader caches libraries by path for the life
    of a process, so a damaged file is only seen by a new one): what it printed, and its kernel log lines."""
    env = {**os.environ, "XDG_CACHE_HOME": str(fresh / "home")}
    done = subprocess.run([sys.executable, "-c", START.format(patch=patch)], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    return done.stdout.strip(), [line for line in done.stderr.splitlines() if "tts.fused_vocoder" in line]


def test_a_corrupt_cached_kernel_is_rebuilt_once_with_one_line(fresh: Path) -> None:
    assert _start(fresh) == ("loaded", [])
    [built] = _cached(fresh)
    built.write_bytes(built.read_bytes()[:1000])  # a crash mid-copy, a full disk
    outcome, lines = _start(fresh)
    assert outcome == "loaded"
    assert len(lines) == 1 and lines[0].startswith("WARNING") and "rebuilding" in lines[0], lines
    assert [p.name for p in _cached(fresh)] == [built.name] and built.stat().st_size > 1000
    assert _start(fresh) == ("loaded", [])  # and from then on, quietly, from the cache


def test_a_rebuild_that_does_not_load_either_warns(fresh: Path) -> None:
    assert _start(fresh) == ("loaded", [])
    [built] = _cached(fresh)
    built.write_bytes(b"\x7fELF garbage")
    broken = ("def broken(compiler, folder, name, source):\n"
              "    (folder / name).write_bytes(b'\\x7fELF still garbage')\n"
              "    return folder / name\n"
              "fused_vocoder._compile = broken")
    outcome, lines = _start(fresh, broken)
    assert outcome.startswith("unavailable: "), outcome
    assert len(lines) == 2 and all(line.startswith("WARNING") for line in lines), lines
    assert "rebuilding" in lines[0] and "does not load either" in lines[1], lines
    assert not built.exists()  # nothing unloadable is left to trip over at the next start


def _fake_cpu(monkeypatch: pytest.MonkeyPatch, cpuinfo: str, machine: str) -> None:
    real = pathlib.Path.read_text

    def read_text(self: pathlib.Path, *args: object, **kwargs: object) -> str:
        return cpuinfo if str(self) == "/proc/cpuinfo" else real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pathlib.Path, "read_text", read_text)
    monkeypatch.setattr("platform.machine", lambda: machine)


ARM_A = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
ARM_B = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 sve sve2\n"


def test_the_cache_key_covers_the_cpu_outside_x86(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """aarch64's /proc/cpuinfo says ``Features``, not ``flags``: another CPU must get another build (a cached
    ``-march=native`` build from a bigger CPU would crash with SIGILL)."""
    _fake_cpu(monkeypatch, ARM_A, "aarch64")
    assert fused_vocoder.library() is not None
    first = _cached(fresh)
    _restart(monkeypatch)
    _fake_cpu(monkeypatch, ARM_B, "aarch64")
    assert fused_vocoder.library() is not None
    second = _cached(fresh)
    assert len(first) == 1 and len(second) == 2, (first, second)


def test_without_known_cpu_features_nothing_is_cached(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cpu(monkeypatch, "processor\t: 0\nmodel name\t: some CPU\n", "riscv64")
    assert fused_vocoder.library() is not None
    assert _cached(fresh) == []
    assert fused_vocoder.cpu_features(ARM_A, "aarch64") == "aarch64: aes asimd crc32 evtstrm fp pmull sha1 sha2"
    assert fused_vocoder.cpu_features("flags\t: sse2 avx\n", "x86_64") == "x86_64: avx sse2"
    assert fused_vocoder.cpu_features("", "x86_64") is None


def test_the_kernel_source_ships_as_package_data() -> None:
    source = fused_vocoder.kernel_source()
    assert "void adain_snake(" in source
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "kernels/*.c" in pyproject["tool"]["setuptools"]["package-data"]["tts"]
