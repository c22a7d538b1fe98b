"""Run the real ``streamvoice`` command in a subprocess (its own working folder, settings, signals).

``slow_load=`` makes the model load take that many seconds longer (a first start's download, a slow disk):
the command then runs through this module as ``python -m tests.web.server_process``, which wraps
``KokoroEngine.load`` with a sleep and calls the real ``assembly.cli.run``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.helpers import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
SLOW_LOAD_ENV = "SV_TEST_SLOW_MODEL_LOAD_S"  # not STREAMVOICE_*: that prefix is a settings override


def write_settings(folder: Path, tiny_model_dir: Path, **changes: Any) -> Path:
    """A settings.yaml in ``folder`` with data under ``folder/data`` and a free port."""
    values: dict[str, Any] = {
        "username": "streamer", "model_dir": str(tiny_model_dir), "audio_dir": "data/audio",
        "database_url": "sqlite:///data/sv.db", "device": "cpu", "port": free_port(), "voice": "heart100",
    }
    values.update(changes)
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def command() -> list[str]:
    """The installed console script when it runs this tree's CLI (what the README runs), else
    ``python -m assembly`` (a virtualenv whose script was installed from an older tree)."""
    script = Path(sys.executable).with_name("streamvoice")
    if script.is_file() and "assembly.cli" in script.read_text(encoding="utf-8", errors="replace"):
        return [str(script)]
    return [sys.executable, "-m", "assembly"]


def start(cwd: Path, *args: str, slow_load: float = 0.0, log_name: str = "server.log") -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if slow_load:
        env[SLOW_LOAD_ENV] = str(slow_load)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        argv = [sys.executable, "-m", "tests.web.server_process", *args]
    else:
        argv = [*command(), *args]
    handle = open(cwd / log_name, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(argv, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, env=env)


async def wait_up(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> dict[str, Any]:
    """Wait until ``/api/health`` answers; returns its body."""
    async with aiohttp.ClientSession() as session:
        async def up() -> dict[str, Any] | None:
            assert process.poll() is None, "server exited"
            try:
                async with session.get(f"{base}/api/health") as response:
                    return dict(await response.json()) if response.status == 200 else None
            except aiohttp.ClientConnectionError:
                return None

        body: dict[str, Any] = await wait_for(up, timeout=timeout, interval=0.2)
        return body


def interrupt(process: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 60) -> float:
    """Send ``sig`` and wait for the exit; returns the seconds it took."""
    began = time.monotonic()
    process.send_signal(sig)
    process.wait(timeout)
    return time.monotonic() - began


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)


def _main() -> int:
    """``python -m tests.web.server_process ARGS``: streamvoice with a model load slowed by $SLOW_LOAD_ENV."""
    import threading

    from tts.engine import EngineConfig, KokoroEngine

    delay = float(os.environ.get(SLOW_LOAD_ENV, "0"))
    real_load = KokoroEngine.load

    def slow_load(config: EngineConfig) -> KokoroEngine:
        threading.Event().wait(delay)  # like a download: blocks this thread, not the event loop
        return real_load(config)

    KokoroEngine.load = slow_load  # type: ignore[method-assign]
    from assembly.cli import run

    run(sys.argv[1:])  # like the ``streamvoice`` command: ends the process even while a load still runs
    return 0


if __name__ == "__main__":
    sys.exit(_main())
