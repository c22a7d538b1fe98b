"""A real StreamVoice server for the benchmark: ``python -m assembly --settings <generated file>`` as a subprocess
(``python -m web.cli`` in a source tree older than ``assembly/``, for ``--before``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import REPO_ROOT
from core.settings import Settings
from service.settings_file import load_settings

USERNAME = "streamer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_settings(directory: Path, model_dir: Path, device: str, **extra: Any) -> Path:
    """A settings file (JSON is valid YAML) for one benchmark server in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "username": USERNAME, "model_dir": str(model_dir), "device": device,
        "audio_dir": str(directory / "audio"), "database_url": f"sqlite:///{directory / 'streamvoice.db'}",
        "host": "127.0.0.1", "port": free_port(), "autoplay_cooldown": 0,
        # every benchmark message is its own chatter: no duplicate-delivery or cooldown effects
        "per_user_cooldown": 0, "read_username_mentions": False, "read_username_bits": False,
    }
    values.update(extra)
    path = directory / "settings.yaml"
    path.write_text(json.dumps(values, indent=2), encoding="utf-8")
    return path


def entry_module(root: Path) -> str:
    """The module that starts the server in ``root``: ``assembly``, or ``web.cli`` in trees older than it.

    ``-m assembly`` in an older tree would not fail: Python would find this checkout's ``assembly`` through the
    editable install and run it over the old tree's packages, a mixture that is neither version.
    """
    return "assembly" if (root / "assembly" / "__main__.py").is_file() else "web.cli"


class ServerProcess:
    """Start, wait for the engine, talk to, and stop one server process."""

    def __init__(self, settings_path: Path, log_path: Path, root: Path = REPO_ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.settings_path = settings_path
        self.root = root
        self.settings: Settings = load_settings(settings_path)
        self.log_path = log_path
        self.base_url = f"http://{self.settings.host}:{self.settings.port}"
        self.audio_dir = Path(self.settings.audio_dir)
        self.db_path = Path(self.settings.database_url.removeprefix("sqlite:///"))
        self._env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.load_s = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 600.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMVOICE_")}
        # the server's own source tree first (``--before`` runs an older tree side by side)
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env.update(self._env)
        started = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", entry_module(self.root), "--settings", str(self.settings_path),
                 "--log-level", "WARNING"],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT)
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}: see {self.log_path}")
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"server did not become ready in {timeout:.0f}s: see {self.log_path}")
                try:
                    async with session.get(f"{self.base_url}/api/health") as response:
                        engine = (await response.json()).get("engine", "")
                        if engine.startswith("ready"):
                            break
                        if engine.startswith("unavailable"):
                            raise RuntimeError(f"engine unavailable: {engine}")
                except (aiohttp.ClientError, OSError):
                    pass
                await asyncio.sleep(0.1)
        self.load_s = time.perf_counter() - started

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # --- reading the server's state straight from its files ---------------------------------------------
    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)

    def wav(self, message_id: int) -> Path:
        return self.audio_dir / f"{message_id}.wav"

    def count_rows(self) -> int:
        with self.db() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def status_of(self, message_id: int) -> str | None:
        with self.db() as connection:
            row = connection.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
            return row[0] if row else None
