"""Rendered goal reports, kept by what they depend on, and a bound on renders at once.

A report over a long period costs seconds of CPU in the API process, which also takes
ingest; unbounded, a few readers asking again and again would starve it. So a report
is rendered once per key (period, language, format, goals file, data version) and
served from here until it expires; at most `renders` run at once, a few more wait, and
beyond that the caller is told to come back (`ReportBusy`, a 503 with Retry-After).

The data version (the number of applied events) changes with every event the worker
applies, so a new event is never hidden behind a cached report. The expiry covers what
moves without events: "now" (an open incident's downtime, the forecast, the time the
report was made) and a rebuild that re-derives the same events under new rules.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from fastapi.concurrency import run_in_threadpool


class ReportBusy(Exception):
    """Every render slot is taken and the queue is full; try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"the report renderer is busy: try again in {retry_after} s")


class ReportCache:
    def __init__(
        self,
        size: int,
        ttl_seconds: float,
        renders: int,
        waiting: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size, self._ttl, self._clock = size, ttl_seconds, clock
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._slots = asyncio.Semaphore(renders)
        self._renders, self._most_waiting = renders, waiting
        self.waiting = 0  # callers queued for a slot (tests wait on it, not on time)
        self.rendered = 0  # renders run, for tests and a glance at the hit rate
        self._tasks: set[asyncio.Future[bytes]] = set()  # held: the loop keeps weak refs

    def cached(self, key: Hashable) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        made, body = entry
        if self._clock() - made >= self._ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return body

    async def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The report under `key`, rendered in a worker thread if it is not kept."""
        if (body := self.cached(key)) is not None:
            return body
        if self._slots.locked() and self.waiting >= self._most_waiting:
            raise ReportBusy(retry_after=5)
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        # Someone may have rendered the same report while this one waited.
        if (body := self.cached(key)) is not None:
            self._slots.release()
            return body
        # Shielded: a caller that goes away cannot free the slot while its render still
        # runs in a thread (a thread cannot be cancelled); the report is kept for the next.
        self._tasks.add(task := asyncio.ensure_future(self._render(key, render)))
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _render(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        try:
            body = await run_in_threadpool(render)
        finally:
            self._slots.release()
        self.rendered += 1
        if self._size > 0:
            self._entries[key] = (self._clock(), body)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return body
