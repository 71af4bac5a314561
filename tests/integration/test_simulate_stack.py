"""`opstrack simulate` into `opstrack up`: the stack's SLIs equal the references' on the same events.

January 2022 of the scenario goes in through the command (as `--fast` sends it);
the call and ticket figures read back over HTTP, whole and grouped, must be
exactly what the independent references in tests/ (tests/reference.py for calls,
tests/ticket_reference.py for tickets, calendar and business hours) compute from
the very same generated events: not what opstrack's own core functions say. A
second run sends the same ids, so the stack counts nothing twice.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from services.commands.simulate import simulate
from services.simulate.syd_it_2022 import generate
from tests.e2e.stack import Up
from tests.reference import TZ, assert_rows_equal, expected_calls
from tests.ticket_reference import expected_ticket_rows
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

FIRST, LAST = date(2022, 1, 1), date(2022, 1, 31)
# January in Stockholm, as the API reads "2022-01-01..2022-01-31".
PERIOD = (datetime(2022, 1, 1, tzinfo=TZ), datetime(2022, 2, 1, tzinfo=TZ))


def rows(url: str, family: str, group_by: str | None) -> list[dict[str, Any]]:
    params = {"period": "2022-01-01..2022-01-31"} | ({"group_by": group_by} if group_by else {})
    r = httpx.get(f"{url}/v1/sli/{family}", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def test_simulated_january_gives_the_core_s_figures(up: Up) -> None:
    raw = list(generate(FIRST, LAST, 2022))
    up.start()

    started = time.monotonic()
    summary = simulate("syd-it-2022", from_=FIRST, to=LAST, fast=True, seed=2022, url=up.url)
    sent_in = time.monotonic() - started
    assert (summary.sent, summary.accepted, summary.duplicates) == (len(raw), len(raw), 0)
    assert summary.by_family["calls"] == sum(1 for e in raw if e["type"].startswith("call."))

    def check() -> None:
        for group_by in (None, "queue"):
            want = expected_calls(raw, PERIOD, (group_by,) if group_by else ())
            assert_rows_equal(rows(up.url, "calls", group_by), want)
        for group_by in (None, "category", "priority", "municipality"):
            want = expected_ticket_rows(raw, PERIOD, (group_by,) if group_by else ())
            assert_rows_equal(rows(up.url, "tickets", group_by), want)

    wait_for(check, "the stack's rows equal the references'", 180)
    processed_in = time.monotonic() - started
    [total] = expected_calls(raw, PERIOD)
    print(  # shown with -s: the timings the report quotes
        f"\n{len(raw)} events sent in {sent_in:.1f} s, SLIs exact after {processed_in:.1f} s;"
        f" January service level {total['service_level']['20']:.3f}"
    )

    # The same seed gives the same ids: a second run is all duplicates.
    again = simulate("syd-it-2022", from_=FIRST, to=LAST, fast=True, seed=2022, url=up.url)
    assert (again.accepted, again.duplicates) == (0, len(raw))
    check()
