"""Waiting for evidence, not for time: the one polling loop of the tests.

`wait_for` calls a check until it stops failing and returns what the check
returned; `wait_until` waits for a probe to return something truthy. Both fail
after `timeout` seconds with what they waited for and the last thing seen, so
a slow machine only makes a test slower, never wrong, and a missing result is
named. The pause between tries is a polling interval, not an assumption that
something will have happened by then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")

# What a check may raise while the thing it looks for is not there yet: a
# failed assertion, or a server that does not answer (yet, or while faulted).
NotYet = type[BaseException] | tuple[type[BaseException], ...]
NOT_YET: NotYet = (AssertionError, httpx.HTTPError)


def wait_for(
    check: Callable[[], T],
    what: str,
    timeout: float = 60,
    *,
    retry: NotYet = NOT_YET,
    detail: Callable[[], str] | None = None,
    interval: float = 0.2,
) -> T:
    """check() until it raises none of `retry` (NOT_YET by default); its result.

    `detail`, when given, adds to the failure what only the caller can say (a
    server's log, say). Any other exception from check ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except retry as exc:
            if time.monotonic() >= deadline:
                more = f"\n{detail()}" if detail is not None else ""
                raise AssertionError(
                    f"waited {timeout:g} s for {what}; last: {exc!r}{more}"
                ) from None
        time.sleep(interval)


def wait_until(
    probe: Callable[[], T | None],
    what: str,
    timeout: float = 60,
    *,
    retry: NotYet = NOT_YET,
    detail: Callable[[], str] | None = None,
    interval: float = 0.2,
) -> T:
    """probe() until it returns something truthy (not None, False, 0 or empty); that."""

    def check() -> T:
        value = probe()
        assert value, f"got {value!r}"
        return value

    return wait_for(check, what, timeout, retry=retry, detail=detail, interval=interval)
