"""The worker's inline hand-off: a coroutine started by hand is finished, or closed, exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.processor.transport import _resume


async def hand_off(fut: asyncio.Future[str], log: list[str]) -> None:
    try:
        log.append(await fut)
    finally:
        log.append("closed")


def started(log: list[str]) -> tuple[Any, asyncio.Future[str], Any]:
    """A hand-off run up to its first suspension, as the drain loop does it."""
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    coro = hand_off(fut, log)
    pending = coro.send(None)
    return coro, fut, pending


def test_a_suspended_hand_off_finishes_once_its_future_is_done() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        coro, fut, pending = started(log)
        task = asyncio.ensure_future(_resume(coro, pending))
        await asyncio.sleep(0.01)
        assert not task.done(), "finished before the queue had room"
        fut.set_result("delivered")
        await asyncio.wait_for(task, timeout=5)
        return log

    assert asyncio.run(main()) == ["delivered", "closed"]


def test_a_cancelled_hand_off_is_closed_and_delivers_nothing() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        coro, fut, pending = started(log)
        task = asyncio.ensure_future(_resume(coro, pending))
        await asyncio.sleep(0.01)
        task.cancel()  # what wait_first does when a rebalance suspends the flow
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
        # As with any cancelled task, what it waited on (the queue's putter) is cancelled too.
        assert fut.cancelled()
        return log

    assert asyncio.run(main()) == ["closed"]
