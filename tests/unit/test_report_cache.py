"""Tests for services.report.cache: one render per key, expiry, and a bound on renders.

The renders are plain functions run in worker threads, as the API runs them; a render
that must stay busy waits on a threading.Event the test sets, and the test waits on
the cache's own counters, never on time. The clock is a number the test moves.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from services.report.cache import ReportBusy, ReportCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(body: bytes) -> tuple[Callable[[], bytes], list[int]]:
    calls: list[int] = []

    def render() -> bytes:
        calls.append(1)
        return body + str(len(calls)).encode()

    return render, calls


def test_one_render_per_key_and_the_same_bytes() -> None:
    async def run() -> None:
        cache = ReportCache(size=4, ttl_seconds=60, renders=2, waiting=8, clock=Clock())
        render, calls = counting(b"report-")
        first = await cache.get(("2022", "sv", "md", 7), render)
        again = await cache.get(("2022", "sv", "md", 7), render)
        assert first == again == b"report-1"
        assert len(calls) == 1
        # Another data version (a new event applied) is another report.
        assert await cache.get(("2022", "sv", "md", 8), render) == b"report-2"
        assert await cache.get(("2022", "sv", "xlsx", 8), render) == b"report-3"
        assert cache.rendered == 3

    asyncio.run(run())


def test_an_entry_expires_after_its_time() -> None:
    async def run() -> None:
        clock = Clock()
        cache = ReportCache(size=4, ttl_seconds=60, renders=1, waiting=1, clock=clock)
        render, calls = counting(b"r")
        assert await cache.get("k", render) == b"r1"
        clock.now += 59.9
        assert await cache.get("k", render) == b"r1"
        clock.now += 0.1  # 60 s after it was made
        assert await cache.get("k", render) == b"r2"
        assert len(calls) == 2

    asyncio.run(run())


def test_the_least_recently_used_goes_first() -> None:
    async def run() -> None:
        cache = ReportCache(size=2, ttl_seconds=60, renders=1, waiting=1, clock=Clock())
        render, _calls = counting(b"r")
        await cache.get("a", render)
        await cache.get("b", render)
        await cache.get("a", render)  # a is now the most recent
        await cache.get("c", render)  # evicts b
        assert cache.cached("a") == b"r1" and cache.cached("c") == b"r3"
        assert cache.cached("b") is None

    asyncio.run(run())


def test_size_zero_keeps_nothing() -> None:
    async def run() -> None:
        cache = ReportCache(size=0, ttl_seconds=60, renders=1, waiting=1, clock=Clock())
        render, calls = counting(b"r")
        await cache.get("a", render)
        await cache.get("a", render)
        assert len(calls) == 2

    asyncio.run(run())


async def _until(check: Callable[[], bool]) -> None:
    # Evidence, not time: yield to the loop until the condition holds.
    for _ in range(100_000):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def test_renders_are_bounded_and_an_overflow_is_told_to_retry() -> None:
    async def run() -> None:
        cache = ReportCache(size=8, ttl_seconds=60, renders=1, waiting=1, clock=Clock())
        started, release = threading.Event(), threading.Event()
        running = 0
        most = 0
        lock = threading.Lock()

        def slow() -> bytes:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            started.set()
            release.wait(timeout=30)
            with lock:
                running -= 1
            return b"slow"

        assert await cache.get("kept", lambda: b"kept") == b"kept"
        first = asyncio.create_task(cache.get("a", slow))
        await _until(started.is_set)
        second = asyncio.create_task(cache.get("b", slow))  # waits for the one slot
        await _until(lambda: cache.waiting == 1)
        with pytest.raises(ReportBusy) as info:
            await cache.get("c", slow)
        assert info.value.retry_after > 0
        # A kept report is served even while every slot is busy.
        assert await cache.get("kept", slow) == b"kept"
        release.set()
        assert await first == b"slow" and await second == b"slow"
        assert most == 1  # never two renders at once
        assert cache.waiting == 0

    asyncio.run(run())


def test_a_waiter_takes_the_report_the_render_before_it_made() -> None:
    async def run() -> None:
        cache = ReportCache(size=8, ttl_seconds=60, renders=1, waiting=4, clock=Clock())
        started, release = threading.Event(), threading.Event()
        calls: list[int] = []

        def slow() -> bytes:
            calls.append(1)
            started.set()
            release.wait(timeout=30)
            return b"once"

        first = asyncio.create_task(cache.get("same", slow))
        await _until(started.is_set)
        second = asyncio.create_task(cache.get("same", slow))
        await _until(lambda: cache.waiting == 1)
        release.set()
        assert (await first, await second) == (b"once", b"once")
        assert len(calls) == 1

    asyncio.run(run())


def test_a_caller_that_goes_away_keeps_its_slot_until_the_render_ends() -> None:
    async def run() -> None:
        cache = ReportCache(size=8, ttl_seconds=60, renders=1, waiting=4, clock=Clock())
        started, release = threading.Event(), threading.Event()

        def slow() -> bytes:
            started.set()
            release.wait(timeout=30)
            return b"slow"

        gone = asyncio.create_task(cache.get("a", slow))
        await _until(started.is_set)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        # The thread still renders: the slot stays taken, so the next one waits.
        nxt = asyncio.create_task(cache.get("b", lambda: b"b"))
        await _until(lambda: cache.waiting == 1)
        release.set()
        assert await nxt == b"b"
        assert cache.cached("a") == b"slow"  # kept for whoever asks next

    asyncio.run(run())
