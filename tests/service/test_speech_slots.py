"""The API's line: at most ``limit`` holders, ``queue`` waiters in arrival order, 429 beyond, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from service.speech_api import SpeechBusy, SpeechSlots


async def test_holders_waiters_and_refusals() -> None:
    limit = {"n": 1}
    slots = SpeechSlots(lambda: limit["n"], lambda: 2)
    await slots.acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        await slots.acquire()
        order.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in (1, 2)]
    await asyncio.sleep(0)
    assert slots.running == 1 and slots.waiting == 2
    with pytest.raises(SpeechBusy) as busy:
        await slots.acquire()
    assert busy.value.retry_after >= 1
    slots.release()
    await asyncio.sleep(0)
    assert order == [1] and slots.running == 1
    limit["n"] = 2  # a live settings edit: the next release lets two run
    slots.release()
    await asyncio.gather(*waiters)
    assert order == [1, 2] and slots.running == 1 and slots.waiting == 0


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    slots = SpeechSlots(lambda: 1, lambda: 1)
    await slots.acquire()
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    assert slots.waiting == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert slots.waiting == 0
    slots.release()
    assert slots.running == 0
