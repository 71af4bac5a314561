"""`opstrack simulate` into `opstrack up`: the stack's SLIs equal the core's on the same events.

January 2022 of the scenario goes in through the command (as `--fast` sends it);
the call and ticket figures read back over HTTP must be exactly what the pure
core functions compute from the very same generated events. A second run sends
the same ids, so the stack counts nothing twice.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.commands.simulate import simulate
from services.core.calendar import BusinessCalendar
from services.core.calls import CallBucket, CallRules, fold_calls
from services.core.events import Event, parse_event
from services.core.periods import parse_period
from services.core.sli import call_figures
from services.core.ticket_figures import TicketFacts, ticket_rows
from services.core.tickets import ticket_state
from services.simulate.syd_it_2022 import generate
from tests.e2e.stack import Up
from tests.reference import assert_rows_equal
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

FIRST, LAST = date(2022, 1, 1), date(2022, 1, 31)
PERIOD = parse_period("2022-01-01..2022-01-31")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Up]:
    s = Up(tmp_path)
    yield s
    if s.proc is not None:
        s.stop()


def expected_calls(events: list[Event], group_by: str | None) -> list[dict[str, Any]]:
    lo, hi = PERIOD.start_epoch(), PERIOD.end_epoch()
    groups: dict[str, CallBucket] = defaultdict(CallBucket)
    for key, bucket in fold_calls(
        [e for e in events if e.type.startswith("call.")], CallRules()
    ).items():
        if lo <= key.hour < hi:
            groups[key.queue if group_by else ""].add(bucket)
    rows = []
    for queue in sorted(groups):
        label = {"queue": queue} if group_by else {}
        rows.append(label | call_figures(groups[queue], (20, 60)))
    return rows


def expected_tickets(events: list[Event], group_by: str | None) -> list[dict[str, Any]]:
    by_ticket: dict[str, list[Any]] = defaultdict(list)
    for e in events:
        if e.type.startswith("ticket."):
            by_ticket[e.data.ticket_id].append(e)  # type: ignore[union-attr]
    facts = []
    for evs in by_ticket.values():
        s = ticket_state(evs, BusinessCalendar())
        facts.append(
            TicketFacts(
                s.category, s.priority, s.municipality, s.created_at, s.resolved_at,
                s.handling_hours, s.business_handling_hours,
            )
        )  # fmt: skip
    groups = (group_by,) if group_by else ()
    return ticket_rows(facts, PERIOD.start, PERIOD.end, groups, business=True)


def rows(url: str, family: str, group_by: str | None) -> list[dict[str, Any]]:
    params = {"period": "2022-01-01..2022-01-31"} | ({"group_by": group_by} if group_by else {})
    r = httpx.get(f"{url}/v1/sli/{family}", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def test_simulated_january_gives_the_core_s_figures(stack: Up) -> None:
    raw = list(generate(FIRST, LAST, 2022))
    events = [parse_event(e) for e in raw]
    stack.start()

    started = time.monotonic()
    summary = simulate("syd-it-2022", from_=FIRST, to=LAST, fast=True, seed=2022, url=stack.url)
    sent_in = time.monotonic() - started
    assert (summary.sent, summary.accepted, summary.duplicates) == (len(raw), len(raw), 0)
    assert summary.by_family["calls"] == sum(1 for e in raw if e["type"].startswith("call."))

    def check() -> None:
        for group_by in (None, "queue"):
            assert_rows_equal(rows(stack.url, "calls", group_by), expected_calls(events, group_by))
        for group_by in (None, "category"):
            assert_rows_equal(
                rows(stack.url, "tickets", group_by), expected_tickets(events, group_by)
            )

    wait_for(check)
    processed_in = time.monotonic() - started
    [total] = expected_calls(events, None)
    print(  # shown with -s: the timings the report quotes
        f"\n{len(raw)} events sent in {sent_in:.1f} s, SLIs exact after {processed_in:.1f} s;"
        f" January service level {total['service_level']['20']:.3f}"
    )

    # The same seed gives the same ids: a second run is all duplicates.
    again = simulate("syd-it-2022", from_=FIRST, to=LAST, fast=True, seed=2022, url=stack.url)
    assert (again.accepted, again.duplicates) == (0, len(raw))
    check()
