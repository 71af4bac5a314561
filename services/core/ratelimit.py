"""A token bucket per source, counted in events: pure state, the clock is passed in.

A source may send `rate` events a second on average and up to `burst` at once;
a batch of 500 events costs 500. The state lives in one process (each API process
limits on its own), so the limiter needs no lock when called from the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # events per second, refilled continuously
    burst: float  # the bucket's size: the most events taken at once


@dataclass(frozen=True, slots=True)
class Bucket:
    level: float  # events that may be taken now
    at: float  # the clock reading `level` was computed at


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the request would be allowed
    too_big: bool = False  # the request alone is over the burst: it can never pass


def take(bucket: Bucket | None, limit: Limit, cost: int, now: float) -> tuple[Bucket, Decision]:
    """Take `cost` events from the bucket (a new bucket starts full) if it holds them."""
    if bucket is None:
        level = limit.burst
    else:
        # A clock that went back refills nothing rather than draining the bucket.
        level = min(limit.burst, bucket.level + max(0.0, now - bucket.at) * limit.rate)
    if cost > limit.burst:
        return Bucket(level, now), Decision(False, too_big=True)
    if cost <= level:
        return Bucket(level - cost, now), Decision(True)
    return Bucket(level, now), Decision(False, retry_after=(cost - level) / limit.rate)


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, never 0 (a client would retry at once and fail again)."""
    return str(max(1, math.ceil(seconds)))


class RateLimiter:
    """Buckets by source; the clock is a parameter so that tests step time by hand."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}

    def take(self, source: str, limit: Limit, cost: int) -> Decision:
        bucket, decision = take(self._buckets.get(source), limit, cost, self._clock())
        self._buckets[source] = bucket
        return decision
