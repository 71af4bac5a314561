"""The demo's waiting, its report file and its live simulation (used by `opstrack demo`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from services import client
from services.core.periods import STOCKHOLM
from services.simulate.pacing import BATCH, in_real_time
from services.simulate.syd_it_2022 import generate


def settle(url: str, period: str, timeout: float = 300.0, quiet_for: float = 3.0) -> None:
    """Wait until the figures stop moving: the processors have caught up with what was sent."""
    deadline = time.monotonic() + timeout
    last: object = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        now = (
            client.get_json(url, "/v1/sli/calls", {"period": period})["rows"],
            client.get_json(url, "/v1/sli/tickets", {"period": period})["rows"],
        )
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return
        time.sleep(0.5)


def write_report(url: str, period: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        client.get_bytes(url, "/v1/goals/report", {"period": period, "format": "html"})
    )
    return path


# How far ahead the live stream is generated: the generator is lazy, one day at a
# time, so this only bounds how long a demo may run (ten years).
LIVE_HORIZON = timedelta(days=3650)
RETRY_SECONDS = 5.0


def backfill_start(backfill: str, today: date) -> date:
    """The first day the live simulation sends: the first of this year or of this month."""
    if backfill == "year":
        return date(today.year, 1, 1)
    if backfill == "month":
        return date(today.year, today.month, 1)
    raise ValueError(f"--backfill must be year or month, not {backfill!r}")


class Live:
    """The demo's live simulation: the seed department's days from `since` to now sent
    at once, then its calls and tickets as they happen, until `stop()`.

    It runs in a thread of its own, so `opstrack demo` keeps watching the stack.
    """

    def __init__(
        self, url: str, seed: int, since: date, say: Callable[[str], None] = lambda _: None
    ) -> None:
        self.url, self.seed, self.since, self.say = url, seed, since, say
        self.stopping = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, name="opstrack-live", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _run(self) -> None:
        today = datetime.now(tz=STOCKHOLM).date()
        events = generate(self.since, today + LIVE_HORIZON, self.seed)
        batches = in_real_time(events, wait=self.stopping.wait, caught_up=self._caught_up)
        for batch in batches:
            if not self._send(list(batch)):
                return

    def _send(self, batch: list[dict[str, object]]) -> bool:
        """Post `batch` until it is taken; False when the demo is stopping."""
        last = ""
        while not self.stopping.is_set():
            try:
                client.post_batches(self.url, list(batch), BATCH)
            except client.ClientError as exc:
                # A demo runs for hours: a hiccup (the API restarting, a full disk freed)
                # should not end it. Resending is safe, the events' ids make it idempotent.
                if str(exc) != last and not self.stopping.is_set():
                    self.say(f"live: {exc}; trying again every {RETRY_SECONDS:.0f} s")
                last = str(exc)
                self.stopping.wait(RETRY_SECONDS)
                continue
            self.sent += len(batch)
            return True
        return False

    def _caught_up(self) -> None:
        self.say(
            f"live: caught up with now ({self.sent:,} events since {self.since}); "
            "sending calls and tickets as they happen"
        )
