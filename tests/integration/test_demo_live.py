"""The live part of `opstrack demo` (services/demo.py): where it starts, and that a
refused post neither ends it nor keeps it from stopping."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from services.demo import Live, backfill_start
from services.stack.procs import free_port


def test_the_backfill_starts_on_the_first_of_the_year_or_month() -> None:
    assert backfill_start("year", date(2026, 12, 6)) == date(2026, 1, 1)
    assert backfill_start("month", date(2026, 12, 6)) == date(2026, 12, 1)
    with pytest.raises(ValueError, match="--backfill must be year or month, not 'week'"):
        backfill_start("week", date(2026, 12, 6))


def test_a_refused_post_is_said_once_and_retried_until_the_demo_stops() -> None:
    said: list[str] = []
    heard = threading.Event()

    def say(line: str) -> None:
        said.append(line)
        heard.set()

    # Nothing listens on a free port: every post is refused, as while an API restarts.
    live = Live(f"http://127.0.0.1:{free_port()}", 2022, date(2026, 1, 1), say)
    outcome: list[bool] = []
    sender = threading.Thread(target=lambda: outcome.append(live._send([{"id": "x"}])))
    sender.start()
    assert heard.wait(30), "the refusal was not said"
    live.stop()  # sets the flag the retry waits on
    sender.join(30)
    assert outcome == [False]  # gave up because the demo stops, not because of the error
    assert len(said) == 1 and said[0].startswith("live: cannot reach opstrack")
    assert live.sent == 0
