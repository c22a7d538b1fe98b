"""Crash campaign: ``kill -9`` a real server at random points under load, restart, and audit its files.

    python -m bench.crash_campaign --rounds 50            # a developer's long run (tiny model)
    python -m bench.crash_campaign --rounds 2 --json out  # what CI runs (tests/bench/test_crash_campaign.py)

Each round starts ``python -m assembly`` (``bench.server.ServerProcess``) on a fresh port over the same database
and audio folder, drives it like the App (HTTP posts from several clients, a pipelined WebSocket, PLAY and
the autoplay toggle) and sends SIGKILL at a random moment: sometimes during startup (recovery, model load),
usually under load. After every kill the SQLite file is read directly: every acknowledged message must be
there exactly once. After the last round the server starts once more and the campaign waits until the
backlog is synthesised, then checks:

- lost: acknowledged messages not stored (or stored under another id);
- duplicated: a message stored more than once;
- unsynthesised: acknowledged, queued messages that never got audio (not ``ready``/``played``);
- stuck: rows left ``pending``/``synthesizing``/``playing`` once the server has settled;
- orphans: WAVs no live row points to, ``.part`` temp files, ready rows whose WAV is missing.

Prints the figures and exits non-zero when any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.server import ServerProcess, write_settings

#: Rows that must not stay once the server has settled (autoplay off, nothing playing).
UNSETTLED = ("pending", "synthesizing", "playing")
#: Short chat lines in plain words (quick to synthesise: the final run must drain the whole backlog).
PHRASES = ("hello there", "good game", "nice play", "what a shot", "see you soon", "thanks for the stream",
           "that was close", "well done")
#: Where an acknowledged, queued message ends when it has been synthesised.
SYNTHESISED = ("ready", "played")


@dataclass
class Figures:
    rounds: int = 0
    kills: int = 0
    kills_during_startup: int = 0
    acked: int = 0
    acked_http: int = 0
    acked_ws: int = 0
    refused: int = 0  # answered, but not stored by rule (not a mention): not an acknowledgement of a row
    lost: int = 0
    duplicated: int = 0
    unsynthesised: int = 0
    stuck: int = 0
    orphans: int = 0
    missing_wav: int = 0
    recovered_orphans: int = 0  # temp/unreferenced files the audit found after a kill (recovery removes them)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Ack:
    token: str
    id: int
    queued: bool


class Load:
    """The App's traffic for one round; every acknowledgement (with the message's unique token) is recorded."""

    def __init__(self, base_url: str, round_no: int, rng: random.Random, acks: list[Ack], figures: Figures,
                 rate: float) -> None:
        self.base_url = base_url
        #: Chat lines per second, all clients together (the backlog must stay one the final run can drain).
        self.gap = 4.0 / rate  # three HTTP clients and one WebSocket share the rate
        self.round_no = round_no
        self.rng = rng
        self.acks = acks
        self.figures = figures
        self.sent = 0

    def _token(self, lane: str) -> str:
        self.sent += 1
        return f"r{self.round_no}{lane}n{self.sent}"

    def _record(self, token: str, result: dict[str, Any], via: str) -> None:
        if result.get("id") is None:
            self.figures.refused += 1
            return
        self.acks.append(Ack(token, int(result["id"]), bool(result.get("queued"))))
        self.figures.acked += 1
        if via == "http":
            self.figures.acked_http += 1
        else:
            self.figures.acked_ws += 1

    def _body(self, token: str) -> dict[str, Any]:
        """The unique token rides in ``sent_by`` (never spoken); the text is a short line of common words."""
        phrase = self.rng.choice(PHRASES)
        if self.rng.random() < 0.2:
            return {"sent_by": f"cheer{token}", "text": phrase, "bits_amount": 100}
        return {"sent_by": f"viewer{token}", "text": f"@streamer {phrase}"}

    async def http_client(self, session: aiohttp.ClientSession, lane: int) -> None:
        while True:
            token = self._token(f"h{lane}")
            body = self._body(token)
            route = "/api/bits" if "bits_amount" in body else "/api/messages"
            async with session.post(self.base_url + route, json=body) as response:
                if response.status in (200, 202):
                    self._record(token, await response.json(), "http")
            await asyncio.sleep(self.rng.uniform(0, 2 * self.gap))

    async def websocket_client(self, session: aiohttp.ClientSession) -> None:
        pending: dict[int, str] = {}
        async with session.ws_connect(self.base_url + "/api/ws") as socket:
            async def send() -> None:
                ref = 0
                while True:
                    ref += 1
                    token = self._token("w")
                    body = self._body(token)
                    pending[ref] = token
                    await socket.send_json({"type": "bits" if "bits_amount" in body else "message", "ref": ref,
                                            **body})
                    await asyncio.sleep(self.rng.uniform(0, 2 * self.gap))

            sender = asyncio.create_task(send())
            try:
                async for frame in socket:
                    if frame.type is not aiohttp.WSMsgType.TEXT:
                        break
                    event = json.loads(frame.data)
                    if event.get("type") == "ack" and event.get("ref") in pending:
                        self._record(pending.pop(event["ref"]), event.get("result") or {}, "ws")
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender

    async def controls(self, session: aiohttp.ClientSession) -> None:
        """The streamer's buttons: autoplay on/off and PLAY, so rows also go playing/played when killed."""
        while True:
            await asyncio.sleep(self.rng.uniform(0.1, 0.5))
            if self.rng.random() < 0.3:
                async with session.put(self.base_url + "/api/autoplay",
                                       json={"enabled": self.rng.random() < 0.7}) as response:
                    await response.read()
            async with session.post(self.base_url + "/api/play") as response:
                await response.read()

    async def run(self, seconds: float) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            tasks = [asyncio.create_task(self.http_client(session, lane)) for lane in range(3)]
            tasks += [asyncio.create_task(self.websocket_client(session)), asyncio.create_task(self.controls(session))]
            await asyncio.sleep(seconds)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _rows(db_path: Path) -> list[sqlite3.Row]:
    if not db_path.exists():  # killed before it created the database
        return []
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        return list(connection.execute("SELECT id, text, sent_by, status, is_deleted, audio_path FROM messages"))
    finally:
        connection.close()


def _token_of(row: sqlite3.Row) -> str | None:
    sender = str(row["sent_by"])
    for prefix in ("viewer", "cheer"):
        if sender.startswith(prefix):
            return sender[len(prefix):]
    return None


def audit_stored(db_path: Path, acks: list[Ack], figures: Figures) -> None:
    """Every acknowledged message is stored, exactly once, under the id it was acknowledged with."""
    by_token: dict[str, list[int]] = {}
    for row in _rows(db_path):
        token = _token_of(row)
        if token is not None:
            by_token.setdefault(token, []).append(int(row["id"]))
    lost = [a for a in acks if a.id not in by_token.get(a.token, [])]
    duplicated = [t for t, ids in by_token.items() if len(ids) > 1]
    if len(lost) > figures.lost:
        figures.failures.append(f"lost acknowledged messages: {[a.token for a in lost][:10]}")
    if len(duplicated) > figures.duplicated:
        figures.failures.append(f"messages stored more than once: {duplicated[:10]}")
    figures.lost, figures.duplicated = len(lost), len(duplicated)


def audit_files(db_path: Path, audio_dir: Path) -> tuple[int, int]:
    """(files no live row points to, incl. temp files; live ready rows whose WAV is missing)."""
    rows = _rows(db_path)
    live = {str(r["audio_path"]) for r in rows if r["audio_path"] and not r["is_deleted"]}
    files = list(audio_dir.glob("*.wav")) + list(audio_dir.glob(".*.part")) if audio_dir.is_dir() else []
    orphans = sum(1 for f in files if str(f) not in live)
    missing = sum(1 for r in rows if r["status"] in ("ready", "playing") and not r["is_deleted"]
                  and (not r["audio_path"] or not os.path.isfile(r["audio_path"])))
    return orphans, missing


async def _settle(server: ServerProcess, acks: list[Ack], timeout: float) -> None:
    """Autoplay off, stop what plays, then wait until nothing is pending or being synthesised."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.put(server.base_url + "/api/autoplay", json={"enabled": False}) as response:
            await response.read()
        async with session.post(server.base_url + "/api/stop") as response:
            await response.read()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {str(r["status"]) for r in _rows(server.db_path) if not r["is_deleted"]}
        if not statuses & set(UNSETTLED):
            return
        await asyncio.sleep(0.2)


async def campaign(workdir: Path, model_dir: Path, rounds: int, seed: int, max_load_s: float,
                   settle_s: float, rate: float = 40.0, startup_kills: float = 0.2, log: Any = print) -> Figures:
    # The plan (which rounds kill during startup, when, how long the load runs) has its own random stream:
    # the traffic draws a timing-dependent number of values, and a shared stream made the plan differ run to run.
    plan = random.Random(seed)
    figures = Figures()
    settings_path = write_settings(workdir, model_dir, "cpu", playback_grace=0.5, autoplay_cooldown=0.05)
    acks: list[Ack] = []
    began = time.monotonic()
    for round_no in range(1, rounds + 1):
        server = ServerProcess(settings_path, workdir / f"server-{round_no}.log")
        startup_kill = plan.random() < startup_kills
        kill_after = plan.uniform(0.05, 2.0) if startup_kill else plan.uniform(0.3, max(0.3, max_load_s))
        starting = asyncio.create_task(server.start(timeout=300))
        if startup_kill:  # kill while it starts: recovery, schema upgrade, model load
            await asyncio.sleep(kill_after)
        else:
            await starting
            traffic = random.Random(f"{seed}:{round_no}")
            await Load(server.base_url, round_no, traffic, acks, figures, rate).run(kill_after)
        if server.process is not None and server.process.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
            server.process.wait(30)
            figures.kills += 1
            figures.kills_during_startup += startup_kill and not starting.done()
        with contextlib.suppress(Exception):
            await starting  # a start interrupted by the kill raises "server exited"
        figures.rounds += 1
        audit_stored(server.db_path, acks, figures)
        orphans, _ = audit_files(server.db_path, server.audio_dir)
        figures.recovered_orphans += orphans
        log(f"round {round_no} ({time.monotonic() - began:.0f}s): {'startup ' if startup_kill else ''}kill, "
            f"acked {figures.acked} so far, lost {figures.lost}, duplicated {figures.duplicated}")

    server = ServerProcess(settings_path, workdir / "server-final.log")
    await server.start(timeout=300)
    try:
        await _settle(server, acks, settle_s)
        rows = {int(r["id"]): r for r in _rows(server.db_path)}
        audit_stored(server.db_path, acks, figures)
        figures.stuck = sum(1 for r in rows.values() if not r["is_deleted"] and r["status"] in UNSETTLED)
        figures.unsynthesised = sum(1 for a in acks if a.queued and a.id in rows and not rows[a.id]["is_deleted"]
                                    and rows[a.id]["status"] not in SYNTHESISED)
        figures.orphans, figures.missing_wav = audit_files(server.db_path, server.audio_dir)
    finally:
        server.stop()
    for name in ("stuck", "unsynthesised", "orphans", "missing_wav"):
        if getattr(figures, name):
            figures.failures.append(f"{name}: {getattr(figures, name)}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="kill -9 rounds (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time-based, printed)")
    parser.add_argument("--model-dir", type=Path, default=None, help="Kokoro weights (default: the tiny model)")
    parser.add_argument("--max-load", type=float, default=3.0, help="longest load before a kill, seconds")
    parser.add_argument("--rate", type=float, default=40.0, help="chat lines per second under load")
    parser.add_argument("--startup-kills", type=float, default=0.2, help="share of kills during startup")
    parser.add_argument("--settle", type=float, default=300.0, help="how long the final run may take to settle")
    parser.add_argument("--workdir", type=Path, default=None, help="keep database, audio and logs here")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="crash-campaign-"))
    workdir.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir
    if model_dir is None:
        from tts.tiny_model import build_tiny_model

        model_dir = build_tiny_model(workdir / "tiny-model")
    print(f"crash campaign: {args.rounds} rounds, seed {seed}, work folder {workdir}", flush=True)
    started = time.monotonic()
    figures = asyncio.run(campaign(workdir, model_dir, args.rounds, seed, args.max_load, args.settle, args.rate,
                                   args.startup_kills, log=lambda line: print(line, flush=True)))
    result = {"seed": seed, "seconds": round(time.monotonic() - started, 1), **asdict(figures), "ok": figures.ok}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(" ".join(f"{k}={result[k]}" for k in ("kills", "kills_during_startup", "acked", "acked_http", "acked_ws",
                                                 "lost", "duplicated", "unsynthesised", "stuck", "orphans",
                                                 "missing_wav", "recovered_orphans", "seconds")))
    for failure in figures.failures:
        print(f"FAILED: {failure}")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
