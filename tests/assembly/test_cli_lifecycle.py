"""The ``streamvoice`` command as a person runs it: its own folder, a second start, a busy port, Ctrl-C.

Every test runs the real command in a subprocess on a real SQLite file: one server per data folder,
a busy port or a damaged database ends the start with one line, a stop is prompt at any point.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests import dbutil
from tests.helpers import wait_for
from tests.web import server_process as sp

pytestmark = pytest.mark.slow  # real streamvoice processes, signals and second starts


def _settings_port(path: Path) -> int:
    import yaml

    return int(yaml.safe_load(path.read_text())["port"])


def _output(cwd: Path, name: str = "server.log") -> str:
    return (cwd / name).read_text(encoding="utf-8", errors="replace")


def _one_line_failure(process: subprocess.Popen[bytes], cwd: Path, name: str) -> str:
    """The process exits non-zero within a few seconds with exactly one line and no traceback."""
    assert process.wait(30) != 0
    text = _output(cwd, name).strip()
    assert "Traceback" not in text, text
    assert len(text.splitlines()) == 1, text
    assert text.startswith("streamvoice: "), text
    return text


async def test_second_instance_is_refused_before_touching_the_first(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Then the first stops at once on Ctrl-C although an App is connected (its WebSocket is closed)."""
    settings = sp.write_settings(tmp_path, tiny_model_dir)
    port = _settings_port(settings)
    base = f"http://127.0.0.1:{port}"
    first = sp.start(tmp_path, "--settings", str(settings))
    try:
        await sp.wait_up(base, first)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base}/api/messages", json={"sent_by": "v", "text": "@streamer hi"}) as r:
                assert r.status == 202
                message_id = (await r.json())["id"]
            url = "sqlite:///" + str(tmp_path / "data" / "sv.db")
            # what the live instance is doing right now, as startup recovery would see it: an item playing and
            # a WAV whose row is not committed yet. A second start must not "repair" either. (The live instance
            # leaves a row it did not set playing alone, and never claims one that is not pending.)
            dbutil.execute(url, "UPDATE messages SET status = 'playing' WHERE id = ?", (message_id,))
            newest = tmp_path / "data" / "audio" / "999.wav"
            newest.write_bytes(b"RIFF")

            second = sp.start(tmp_path, "--settings", str(settings), log_name="second.log")
            line = _one_line_failure(second, tmp_path, "second.log")
            assert f"pid {first.pid}" in line and f"port {port}" in line, line
            assert dbutil.row(url, message_id)["status"] == "playing"
            assert newest.exists()
            assert first.poll() is None
            async with session.get(f"{base}/api/health") as response:
                assert (await response.json())["db"] == "ok"

            async with session.ws_connect(f"{base}/api/ws") as app_socket:
                assert (await app_socket.receive_json(timeout=10))["type"] == "state"
                took = sp.interrupt(first, signal.SIGINT, timeout=60)
                while (closed := await app_socket.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
                    pass  # state events sent before the stop
    finally:
        sp.stop(first)
    print(f"SIGINT with an open WebSocket: exited in {took:.2f} s")
    assert closed.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING}
    assert took < 5, f"stopping took {took:.1f} s"
    assert first.returncode == 0


async def test_busy_port_is_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = sp.write_settings(tmp_path, tiny_model_dir, port=port)
        process = sp.start(tmp_path, "--settings", str(settings))
        try:
            line = _one_line_failure(process, tmp_path, "server.log")
        finally:
            sp.stop(process)
    assert str(port) in line and "in use" in line, line


async def test_a_voice_name_that_breaks_voice_specs_is_refused_naming_its_key(tiny_model_dir: Path,
                                                                             tmp_path: Path) -> None:
    """``voices: {robot2: ...}`` was accepted, then every line of a viewer who typed ``!voice robot2`` failed."""
    settings = sp.write_settings(tmp_path, tiny_model_dir, viewer_voice_command=True,
                                 voices={"heart": "af_heart", "robot2": "am_adam"})
    process = sp.start(tmp_path, "--settings", str(settings))
    try:
        line = _one_line_failure(process, tmp_path, "server.log")
    finally:
        sp.stop(process)
    assert "voices.robot2" in line and "letters only" in line, line


async def test_damaged_database_file_is_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = sp.write_settings(tmp_path, tiny_model_dir)
    database = tmp_path / "data" / "sv.db"
    database.parent.mkdir()
    database.write_bytes(b"this is not a database, it was overwritten by something else" * 100)
    process = sp.start(tmp_path, "--settings", str(settings))
    try:
        line = _one_line_failure(process, tmp_path, "server.log")
    finally:
        sp.stop(process)
    assert str(database) in line, line
    assert database.read_bytes().startswith(b"this is not a database")  # left as it was for the person


async def test_run_in_another_folder_reads_its_settings_and_stops_cleanly_mid_synthesis(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    """``streamvoice`` started in a folder other than the repository (which has its own settings.yaml) reads
    that folder's file; SIGTERM while the lanes render leaves no row ``synthesizing`` and exits at once."""
    settings = sp.write_settings(tmp_path, tiny_model_dir, username="folder_streamer")
    port = _settings_port(settings)
    base = f"http://127.0.0.1:{port}"
    url = "sqlite:///" + str(tmp_path / "data" / "sv.db")
    process = sp.start(tmp_path)  # no --settings: ./settings.yaml
    try:
        body = await sp.wait_up(base, process)
        assert body["settings"]["file"] == str(settings)
        assert (tmp_path / "data" / "sv.db").is_file()  # the relative paths of this folder's file
        async with aiohttp.ClientSession() as session:
            async def engine_ready() -> bool:
                async with session.get(f"{base}/api/health") as response:
                    return str((await response.json())["engine"]).startswith("ready")

            await wait_for(engine_ready, timeout=120, interval=0.2)
            text = "@folder_streamer " + "a long line to keep the lanes busy for a while. " * 6
            answers = await asyncio.gather(*(session.post(f"{base}/api/messages",
                                                          json={"sent_by": f"v{n}", "text": text})
                                             for n in range(30)))
            assert {a.status for a in answers} == {202}
        await wait_for(lambda: dbutil.rows(url, "status = 'synthesizing'"), timeout=30, interval=0.02)
        took = sp.interrupt(process, signal.SIGTERM, timeout=60)
    finally:
        sp.stop(process)
    print(f"SIGTERM while synthesising: exited in {took:.2f} s")
    assert took < 10, f"stopping took {took:.1f} s"
    assert process.returncode == 0
    assert dbutil.rows(url, "status = 'synthesizing'") == []
    with sqlite3.connect(tmp_path / "data" / "sv.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_ctrl_c_during_the_model_load_stops_at_once(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The load (a download on a first start) takes 120 s here; SIGINT must not wait for it."""
    settings = sp.write_settings(tmp_path, tiny_model_dir)
    port = _settings_port(settings)
    base = f"http://127.0.0.1:{port}"
    process = sp.start(tmp_path, "--settings", str(settings), slow_load=120)
    try:
        body = await sp.wait_up(base, process)
        assert body["engine"] == "loading"
        async with aiohttp.ClientSession() as session:
            for n in range(3):
                async with session.post(f"{base}/api/messages",
                                        json={"sent_by": "v", "text": f"@streamer {n}"}) as response:
                    assert response.status == 202
        took = sp.interrupt(process, signal.SIGINT, timeout=60)
    finally:
        sp.stop(process)
    print(f"SIGINT during model load: exited in {took:.2f} s")
    assert took < 10, f"stopping took {took:.1f} s"
    assert process.returncode == 0
    rows = dbutil.rows("sqlite:///" + str(tmp_path / "data" / "sv.db"))
    assert [r["status"] for r in rows] == ["pending"] * 3


async def test_a_database_reached_through_a_symlink_is_the_same_instance(tiny_model_dir: Path,
                                                                          tmp_path: Path) -> None:
    """A second ``streamvoice`` in another folder whose database file is a symlink to the first one's is refused
    before it touches anything (recovery on a live database, writes beside the live server)."""
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    (second_dir / "data").mkdir(parents=True)
    settings = sp.write_settings(first_dir, tiny_model_dir)
    base = f"http://127.0.0.1:{_settings_port(settings)}"
    first = sp.start(first_dir, "--settings", str(settings))
    try:
        await sp.wait_up(base, first)
        (second_dir / "data" / "sv.db").symlink_to(first_dir / "data" / "sv.db")
        other = sp.write_settings(second_dir, tiny_model_dir)  # its own audio folder and port
        second = sp.start(second_dir, "--settings", str(other), log_name="second.log")
        try:
            line = _one_line_failure(second, second_dir, "second.log")
        finally:
            sp.stop(second)
        assert f"pid {first.pid}" in line and str(first_dir / "data") in line, line
        assert first.poll() is None
    finally:
        sp.stop(first)
