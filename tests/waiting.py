"""Waiting for evidence, not for time: the one polling loop of the tests.

`wait_for` calls a check until it stops failing and returns what the check
returned; `wait_until` waits for a probe to return something truthy. Both fail
after `timeout` seconds with what they waited for and the last thing seen, so
a slow machine only makes a test slower, never wrong, and a missing result is
named. The pause between tries is a polling interval, not an assumption that
something will have happened by then.

`gather` collects what repeated reads return until there is enough of it.
`give_up` ends a wait at once when waiting longer is pointless (the process
that would produce the evidence has ended, say); `ended` makes one from
processes and their logs.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

# What a check may raise while the thing it looks for is not there yet: a
# failed assertion, or a server that does not answer (yet, or while faulted).
NotYet = type[BaseException] | tuple[type[BaseException], ...]
NOT_YET: NotYet = (AssertionError, httpx.HTTPError)

# Why waiting longer is pointless, or None to go on waiting.
GiveUp = Callable[[], str | None]


def wait_for(
    check: Callable[[], T],
    what: str,
    timeout: float = 60,
    *,
    retry: NotYet = NOT_YET,
    detail: Callable[[], str] | None = None,
    interval: float = 0.2,
    give_up: GiveUp | None = None,
) -> T:
    """check() until it raises none of `retry` (NOT_YET by default); its result.

    `detail`, when given, adds to the failure what only the caller can say (a
    server's log, say). Any other exception from check ends the wait at once, and
    so does `give_up` returning a reason (asked after each failed try).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except retry as exc:
            reason = give_up() if give_up is not None else None
            if reason is not None:
                raise AssertionError(f"gave up waiting for {what}: {reason}") from None
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
    give_up: GiveUp | None = None,
) -> T:
    """probe() until it returns something truthy (not None, False, 0 or empty); that."""

    def check() -> T:
        value = probe()
        assert value, f"got {value!r}"
        return value

    return wait_for(
        check, what, timeout, retry=retry, detail=detail, interval=interval, give_up=give_up
    )


def gather(
    read: Callable[[], Iterable[T]],
    want: int,
    what: str,
    timeout: float = 60,
    *,
    detail: Callable[[], str] | None = None,
) -> list[T]:
    """read() again and again, keeping all it returns, until there are at least `want`
    things; all of them. For reads that block a while when there is nothing yet (a
    Kafka consumer's poll), so there is no pause between them."""
    got: list[T] = []

    def enough() -> list[T]:
        got.extend(read())
        assert len(got) >= want, f"{len(got)} of {want}"
        return got

    return wait_for(enough, what, timeout, detail=detail, interval=0)


def ended(*procs: tuple[subprocess.Popen[Any], Path | None]) -> GiveUp:
    """A give_up: the first of `procs` (each with the file its output goes to, if
    any) that has ended, its exit code and the end of its output."""

    def reason() -> str | None:
        for proc, log in procs:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
                argv = proc.args
                first = argv if isinstance(argv, str | bytes | os.PathLike) else argv[0]
                name = os.fsdecode(first)
                return f"{name} ended with {proc.returncode}; its output ends:\n{tail}"
        return None

    return reason
