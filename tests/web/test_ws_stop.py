"""A WebSocket's event sender stops when told to, even when the stop lands as a frame goes out.

On Python 3.11 ``asyncio.wait_for`` returns the inner result when a cancel arrives in the loop turn where the
inner send completes: the cancel is lost. The sender then waited for the next event on a queue its handler had
already unsubscribed, the handler waited for the sender, and the server's stop waited for the handler for
aiohttp's whole shutdown timeout (60 s in a test's teardown, seen on a busy machine).
"""

from __future__ import annotations

import asyncio
from typing import Any

from web import ws


class _Socket:
    """The part of ``web.WebSocketResponse`` the sender uses; each send takes one loop turn, as a real write
    that the transport accepts at once does."""

    closed = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_json(self, frame: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        self.sent.append(frame)

    async def close(self) -> bool:
        self.closed = True
        return True


async def test_a_stop_that_lands_as_a_frame_goes_out_still_stops_the_sender() -> None:
    for _ in range(20):  # the stop lands at several points around the send
        socket = _Socket()
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        events.put_nowait({"type": "state"})
        sender = asyncio.create_task(ws._forward(socket, events, None))  # type: ignore[arg-type]
        while not socket.sent:  # the frame has just gone out
            await asyncio.sleep(0)
        sender.cancel()
        done, _ = await asyncio.wait({sender}, timeout=2)
        assert sender in done and sender.cancelled(), "the sender missed its stop and waits for the next event"
        assert socket.sent == [{"type": "state"}] and not socket.closed


async def test_sockets_the_client_closed_never_hold_the_servers_stop(start_server: Any,
                                                                            make_settings: Any) -> None:
    """Against a real server: while state frames stream, the client leaves 20 times; the server's stop then
    waits for no handler (one that missed its stop held it for aiohttp's 60 s shutdown timeout)."""
    client = await start_server(make_settings())
    for n in range(20):
        socket = await client.ws_connect("/api/ws")
        await socket.receive_json(timeout=10)
        await socket.send_json({"type": "message", "ref": n, "sent_by": f"v{n}", "text": "hello chat"})
        await socket.close()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await client.close()
    assert loop.time() - began < 10
