"""How a simulated stream is handed to a sender: in full batches, or paced in scaled time.

The clock and the sleep are parameters, so the pacing is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

BATCH = 500  # events per request
# In scaled time a night or a weekend between two events would stall a demo for
# minutes; no single wait between events is longer than this many seconds.
MAX_WAIT_SECONDS = 5.0

Event = dict[str, Any]


def chunks(events: Iterable[Event], size: int) -> Iterator[list[Event]]:
    return _batched(events, size)


# In the streams the pacers hand to _batched: send what is gathered now, before a wait.
SEND_NOW = None


def _batched(stream: Iterable[Event | None], size: int) -> Iterator[list[Event]]:
    """The stream's events in batches of `size`, a batch cut short at each SEND_NOW."""
    batch: list[Event] = []
    for e in stream:
        if e is not SEND_NOW:
            batch.append(e)
            if len(batch) < size:
                continue
        if batch:
            yield batch
            batch = []
    if batch:
        yield batch


def paced(
    events: Iterable[Event],
    speed: float,
    max_wait: float = MAX_WAIT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[Event]]:
    """Batches of events, each released when its simulated time comes, `speed` times faster.

    Events whose time has come go out together (at most BATCH at once), so a
    sender that falls behind catches up instead of drifting further behind.
    """

    def stream() -> Iterator[Event | None]:
        due = clock()
        previous: float | None = None
        for e in events:
            t = datetime.fromisoformat(e["time"]).timestamp()
            if previous is not None:
                due += min(max(0.0, t - previous) / speed, max_wait)
            previous = t
            if due > clock():
                yield SEND_NOW
                wait = due - clock()  # sending took some of it
                if wait > 0:
                    sleep(wait)
            yield e

    return _batched(stream(), BATCH)


def in_real_time(
    events: Iterable[Event],
    clock: Callable[[], float] = time.time,
    wait: Callable[[float], bool] | None = None,
    caught_up: Callable[[], None] = lambda: None,
) -> Iterator[list[Event]]:
    """Batches of events, each released when the wall clock reaches its time.

    `clock` is the wall clock in epoch seconds. Events whose time has passed go out
    at once in full batches (the backfill); `caught_up` is called the first time an
    event lies ahead. Then the stream follows the clock: `wait(seconds)` sleeps and
    returns True when the sender is stopping, which ends the stream.
    """
    sleep = wait or _sleep

    def stream() -> Iterator[Event | None]:
        behind = True
        for e in events:
            t = datetime.fromisoformat(e["time"]).timestamp()
            if t > clock():
                yield SEND_NOW
                while t > clock():  # sending took time: the clock is read again
                    if behind:
                        behind = False
                        caught_up()
                    ahead = t - clock()
                    if ahead > 0 and sleep(ahead):
                        return
            yield e

    return _batched(stream(), BATCH)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False  # nothing asks a plain sleep to stop
