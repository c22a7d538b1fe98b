"""Kill -9 the real server process mid-work: no accepted message is lost, no half WAV is served."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import soundfile as sf
import yaml

from tests import dbutil
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.slow  # kill -9 of a real streamvoice process under load

REPO = Path(__file__).resolve().parents[2]


def start(settings_path: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "-m", "assembly", "--settings", str(settings_path)], cwd=REPO,
                            stdout=handle, stderr=subprocess.STDOUT)


async def wait_up(session: aiohttp.ClientSession, base: str, process: subprocess.Popen[bytes]) -> None:
    async def up() -> bool:
        assert process.poll() is None, "server exited"
        try:
            async with session.get(f"{base}/api/health") as response:
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    await wait_for(up, timeout=90, interval=0.2)


async def test_kill_loses_no_accepted_message(tiny_model_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    settings_path = tmp_path / "settings.yaml"
    database_url = f"sqlite:///{tmp_path / 'data' / 'sv.db'}"
    settings_path.write_text(yaml.safe_dump({
        "username": "streamer", "model_dir": str(tiny_model_dir), "audio_dir": str(tmp_path / "data" / "audio"),
        "database_url": database_url, "device": "cpu", "port": port, "voice": "heart100",
    }))
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    server = start(settings_path, log)
    accepted: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, base, server)

            async def send(n: int) -> None:
                body = {"sent_by": f"v{n}", "text": f"@streamer crash test {n}"}
                async with session.post(f"{base}/api/messages", json=body) as response:
                    if response.status == 202:
                        accepted.append((await response.json())["id"])

            await asyncio.gather(*(send(n) for n in range(12)))
            os.kill(server.pid, signal.SIGKILL)
            server.wait(10)
            assert len(accepted) == 12
            stored = {r["id"] for r in dbutil.rows(database_url)}
            assert set(accepted) <= stored

            server = start(settings_path, log)
            await wait_up(session, base, server)

            def all_ready() -> bool:
                return all(dbutil.row(database_url, i)["status"] == "ready" for i in accepted)

            await wait_for(all_ready, timeout=120, interval=0.2)
            for message_id in accepted:
                path = dbutil.row(database_url, message_id)["audio_path"]
                assert sf.info(path).samplerate == 24_000
            async with session.get(f"{base}/audio/{accepted[0]}.wav") as response:
                assert response.status == 200
            assert not list((tmp_path / "data" / "audio").glob(".*.part"))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()


