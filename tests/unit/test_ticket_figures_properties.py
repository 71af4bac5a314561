"""The core's ticket rows equal the independent reference's on random tickets.

Random lifecycles (pauses resumed or not, resolutions, reopens, closes, ties at
one instant), delivered shuffled and partly twice, around the calendar's hard
days (DST changes, Easter, midsummer, Christmas), grouped by category, priority
and municipality, in calendar and business hours: the figures opstrack computes
through ticket_state and ticket_rows must be those of tests/ticket_reference.py.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.calendar import BusinessCalendar
from services.core.events import TicketEvent, parse_event
from services.core.ticket_figures import TicketFacts, ticket_rows
from services.core.tickets import ticket_state
from tests.builders import envelope
from tests.reference import TZ, assert_rows_equal
from tests.ticket_reference import GROUPS, expected_ticket_rows

# Stockholm midnights a few days before the days that trip calendars up.
HARD_DAYS = [
    datetime(2022, 3, 24, tzinfo=TZ),  # spring forward on 27 March
    datetime(2022, 4, 12, tzinfo=TZ),  # Easter: Good Friday to Easter Monday
    datetime(2022, 6, 20, tzinfo=TZ),  # midsummer eve 24 June
    datetime(2022, 10, 27, tzinfo=TZ),  # fall back on 30 October
    datetime(2022, 12, 20, tzinfo=TZ),  # Christmas eve to New Year's eve and day
]
gaps = st.integers(0, 3 * 24 * 60)  # minutes; 0 makes two events share an instant


@st.composite
def ticket_steps(draw: st.DrawFn, base: datetime) -> list[tuple[str, datetime]]:
    t = base + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    steps = [("created", t)]
    resolutions = draw(st.integers(0, 3))
    for r in range(max(resolutions, 1)):
        if r > 0:
            t += timedelta(minutes=draw(gaps))
            steps.append(("reopened", t))
        for _ in range(draw(st.integers(0, 2))):
            t += timedelta(minutes=draw(gaps))
            steps.append(("paused", t))
            if draw(st.booleans()):  # else still paused at what comes next
                t += timedelta(minutes=draw(gaps))
                steps.append(("resumed", t))
        if r < resolutions:
            t += timedelta(minutes=draw(gaps))
            steps.append(("resolved", t))
    if draw(st.booleans()):
        t += timedelta(minutes=draw(gaps))
        steps.append(("closed", t))
    return steps


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], tuple[datetime, datetime]]:
    base = draw(st.sampled_from(HARD_DAYS))
    events = []
    for i in range(draw(st.integers(0, 12))):
        data = {
            "ticket_id": f"SD-{i}",
            "category": draw(st.sampled_from(["Skrivare", "E-post"])),
            "priority": draw(st.integers(1, 4)),
            "municipality": draw(st.sampled_from(["Laxå", "Lekeberg"])),
        }
        for j, (kind, at) in enumerate(draw(ticket_steps(base))):
            events.append(envelope(f"ticket.{kind}", data, id=f"SD-{i}:{j}", time=at))
    # At least once, in any order: some events arrive twice.
    events += draw(st.lists(st.sampled_from(events), max_size=5)) if events else []
    random.Random(draw(st.integers(0, 2**32))).shuffle(events)
    first = draw(st.integers(0, 9))
    days = draw(st.integers(1, 10))
    start = (base + timedelta(days=first)).replace(tzinfo=None)
    end = start + timedelta(days=days)
    # Local midnights, whatever the offset on each of the two days.
    return events, (start.replace(tzinfo=TZ), end.replace(tzinfo=TZ))


def core_rows(
    events: list[dict[str, Any]],
    period: tuple[datetime, datetime],
    group_by: tuple[str, ...],
) -> list[dict[str, Any]]:
    by_ticket: dict[str, list[TicketEvent]] = defaultdict(list)
    for raw in events:
        e = parse_event(raw)
        assert isinstance(e, TicketEvent)
        by_ticket[e.data.ticket_id].append(e)
    facts = []
    for evs in by_ticket.values():
        s = ticket_state(evs, BusinessCalendar())
        facts.append(
            TicketFacts(
                s.category, s.priority, s.municipality, s.created_at, s.resolved_at,
                s.handling_hours, s.business_handling_hours,
            )
        )  # fmt: skip
    return ticket_rows(facts, period[0], period[1], group_by, business=True)


@settings(max_examples=300, deadline=None)
@given(histories(), st.sampled_from([(), *((g,) for g in GROUPS), ("category", "priority")]))
def test_core_ticket_rows_equal_the_reference(
    history: tuple[list[dict[str, Any]], tuple[datetime, datetime]], group_by: tuple[str, ...]
) -> None:
    events, period = history
    assert_rows_equal(
        core_rows(events, period, group_by), expected_ticket_rows(events, period, group_by)
    )


def test_the_reference_by_hand() -> None:
    """The reference itself, on one ticket worked out by hand.

    Created Thu 23 June 2022 16:00, paused Fri 24 June (midsummer eve, closed)
    10:00 until Mon 27 June 09:00, resolved Mon 10:00, reopened Mon 12:00,
    resolved again Tue 28 June 08:30. Calendar: 4 d 16.5 h - 71 h paused
    = 112.5 - 71 = 41.5 h. Business: Thu 16-17 (1 h) + Mon 08-17 (9 h) + Tue
    08-08:30 (0.5 h) = 10.5 h, less the pause's Mon 08-09 (1 h) = 9.5 h; the
    hours between the first resolution and the reopen count.
    """
    data = {"ticket_id": "SD-1", "category": "Skrivare", "priority": 3, "municipality": "Laxå"}
    steps = [
        ("created", datetime(2022, 6, 23, 16, 0)),
        ("paused", datetime(2022, 6, 24, 10, 0)),
        ("resumed", datetime(2022, 6, 27, 9, 0)),
        ("resolved", datetime(2022, 6, 27, 10, 0)),
        ("reopened", datetime(2022, 6, 27, 12, 0)),
        ("resolved", datetime(2022, 6, 28, 8, 30)),
    ]
    events = [
        {
            "id": f"e{j}",
            "type": f"ticket.{k}",
            "time": at.replace(tzinfo=TZ).isoformat(),
            "data": data,
        }
        for j, (k, at) in enumerate(steps)
    ]
    june = (datetime(2022, 6, 1, tzinfo=TZ), datetime(2022, 7, 1, tzinfo=TZ))
    [row] = expected_ticket_rows(events, june, ("municipality",))
    assert row["municipality"] == "Laxå"
    assert (row["created"], row["resolved"]) == (1, 1)
    assert row["handling_time_hours"] == {"mean": 41.5, "median": 41.5, "p90": 41.5}
    assert row["business_handling_time_hours"] == {"mean": 9.5, "median": 9.5, "p90": 9.5}
