"""A test player: a real WebSocket client on /api/ws that records every event the server sends."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

import aiohttp


class Player:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._refs = itertools.count(1)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, client: Any, **params: str) -> Player:
        socket = await client.ws_connect("/api/ws", params=params or None)
        return cls(socket)

    async def _read(self) -> None:
        async for frame in self.socket:
            if frame.type is aiohttp.WSMsgType.TEXT:
                async with self._arrived:
                    self.events.append(frame.json())
                    self._arrived.notify_all()

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0,
                       start: int = 0) -> dict[str, Any]:
        """The first event (from index ``start``) matching ``predicate``."""
        async def find() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for event in self.events[start:]:
                        if predicate(event):
                            return event
                    await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_type(self, kind: str, timeout: float = 30.0, start: int = 0, **fields: Any) -> dict[str, Any]:
        return await self.wait_for(
            lambda e: e.get("type") == kind and all(e.get(k) == v for k, v in fields.items()), timeout, start)

    async def command(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command frame and return its ``ack`` or ``error`` reply."""
        ref = next(self._refs)
        mark = len(self.events)
        await self.socket.send_json({"type": kind, "ref": ref, **fields})
        return await self.wait_for(lambda e: e.get("type") in {"ack", "error"} and e.get("ref") == ref, start=mark)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
