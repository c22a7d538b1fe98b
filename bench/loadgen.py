"""Ingest load generator, run in its own process: ``python -m bench.loadgen --url URL --mode ws|http``.

It plays the App: chat lines (a fixed mix of mentions, non-mentions and cheers, each from its own chatter)
over the WebSocket, many frames in flight without waiting for each ack, or over HTTP with several requests
in flight. It prints one JSON object: counts, the achieved rate, send->ack latency percentiles and the ids
the server said it stored (so the caller can check every one of them is in the database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from typing import Any

import aiohttp

from bench.common import load_texts, percentile

#: Out of every 10 lines: 4 mention the streamer, 4 do not (not stored), 2 are cheers.
MIX = ("mention", "mention", "plain", "bits", "mention", "plain", "plain", "mention", "bits", "plain")


def payload(index: int, texts: list[str], prefix: str, kinds: tuple[str, ...] = MIX) -> tuple[str, dict[str, Any]]:
    kind = kinds[index % len(kinds)]
    text = texts[index % len(texts)]
    body: dict[str, Any] = {"sent_by": f"{prefix}{index}", "text": text}
    if kind == "mention":
        body["text"] = f"@streamer {text}"
    elif kind == "bits":
        body["bits_amount"] = 100
    return ("bits" if kind == "bits" else "message"), body


class Stats:
    def __init__(self) -> None:
        self.sent = 0
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.stored_ids: list[int] = []
        self.errors: list[str] = []
        self.first_send = 0.0
        self.last_ack = 0.0

    def ack(self, status: int, result: dict[str, Any], latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if isinstance(result, dict) and result.get("id") is not None:
            self.stored_ids.append(int(result["id"]))
        self.last_ack = time.perf_counter()

    def report(self, mode: str, connections: int, window: int, rate: float) -> dict[str, Any]:
        acked = len(self.latencies)
        span = max(self.last_ack - self.first_send, 1e-9)
        ms = [v * 1000 for v in self.latencies]
        return {
            "mode": mode, "connections": connections, "in_flight_per_connection": window, "target_rate": rate,
            "sent": self.sent, "acked": acked, "statuses": self.statuses, "stored": len(self.stored_ids),
            "stored_ids": sorted(self.stored_ids), "errors": self.errors[:10], "error_count": len(self.errors),
            "seconds": round(span, 3), "rate_per_s": round(acked / span, 1),
            "latency_ms": {"p50": round(percentile(ms, 50), 2), "p90": round(percentile(ms, 90), 2),
                           "p99": round(percentile(ms, 99), 2), "max": round(max(ms, default=float("nan")), 2)},
        }


class Pacer:
    """Hands out message indexes, at ``rate`` per second overall (0: as fast as possible), until ``deadline``."""

    def __init__(self, rate: float, deadline: float, limit: int) -> None:
        self.rate = rate
        self.deadline = deadline
        self.limit = limit
        self.next_index = 0
        self.started = time.perf_counter()

    async def take(self) -> int | None:
        if self.next_index >= self.limit or time.perf_counter() >= self.deadline:
            return None
        index = self.next_index
        self.next_index += 1
        if self.rate > 0:
            delay = self.started + index / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        return index


async def ws_connection(url: str, pacer: Pacer, window: int, texts: list[str], prefix: str, stats: Stats,
                        kinds: tuple[str, ...]) -> None:
    sent_at: dict[int, float] = {}
    slots = asyncio.Semaphore(window)
    done_sending = asyncio.Event()
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/api/ws", max_msg_size=0) as socket:

        async def receive() -> None:
            async for frame in socket:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    break
                reply = json.loads(frame.data)
                ref = reply.get("ref")
                if reply.get("type") not in {"ack", "error"} or ref not in sent_at:
                    continue  # unsolicited state/play/stop events
                latency = time.perf_counter() - sent_at.pop(ref)
                if reply["type"] == "ack":
                    stats.ack(reply["status"], reply.get("result", {}), latency)
                else:
                    stats.errors.append(str(reply.get("error")))
                    stats.latencies.append(latency)
                slots.release()
                if done_sending.is_set() and not sent_at:
                    return

        receiver = asyncio.create_task(receive())
        while (index := await pacer.take()) is not None:
            await slots.acquire()
            command, body = payload(index, texts, prefix, kinds)
            ref = index
            now = time.perf_counter()
            if not stats.first_send:
                stats.first_send = now
            sent_at[ref] = now
            await socket.send_str(json.dumps({"type": command, "ref": ref, **body}))
            stats.sent += 1
        done_sending.set()
        if not sent_at:
            receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(receiver, timeout=120)


async def http_worker(session: aiohttp.ClientSession, url: str, pacer: Pacer, texts: list[str], prefix: str,
                      stats: Stats, kinds: tuple[str, ...]) -> None:
    while (index := await pacer.take()) is not None:
        command, body = payload(index, texts, prefix, kinds)
        path = "/api/bits" if command == "bits" else "/api/messages"
        started = time.perf_counter()
        if not stats.first_send:
            stats.first_send = started
        stats.sent += 1
        try:
            async with session.post(f"{url}{path}", json=body) as response:
                result = await response.json()
                if response.status >= 400:
                    stats.errors.append(f"{response.status}: {result}")
                    stats.latencies.append(time.perf_counter() - started)
                else:
                    stats.ack(response.status, result, time.perf_counter() - started)
        except aiohttp.ClientError as exc:
            stats.errors.append(f"{type(exc).__name__}: {exc}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    texts = load_texts()
    stats = Stats()
    deadline = time.perf_counter() + args.seconds
    pacer = Pacer(args.rate, deadline, args.limit)
    kinds = tuple(args.kinds.split(",")) if args.kinds else MIX
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(pacer, "limit", 0))
    if args.mode == "ws":
        tasks = [ws_connection(args.url, pacer, args.window, texts, args.prefix, stats, kinds)
                 for _ in range(args.connections)]
        await asyncio.gather(*tasks)
    else:
        connector = aiohttp.TCPConnector(limit=args.connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(http_worker(session, args.url, pacer, texts, args.prefix, stats, kinds)
                                   for _ in range(args.connections)))
    stop.set()
    return stats.report(args.mode, args.connections, args.window if args.mode == "ws" else 1, args.rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", choices=["ws", "http"], default="ws")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--limit", type=int, default=10**9, help="stop after this many messages")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--window", type=int, default=128, help="WebSocket frames in flight per connection")
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second overall (0 = max)")
    parser.add_argument("--prefix", default="u", help="chatter names are PREFIX<index>")
    parser.add_argument("--kinds", default="", help="comma-separated mix (mention,plain,bits); default 4/4/2")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
