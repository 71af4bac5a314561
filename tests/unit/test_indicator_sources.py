"""Tests for services.core.indicator_sources.ticket_series: the running handling-time series.

The series is computed in one pass over the tickets sorted by resolution; the
reference here is the plain per-day algorithm (for each day rescan every ticket,
sort, take the statistic), written out in the test, and the two must agree exactly.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.evaluation import Observation
from services.core.indicator_sources import ticket_series
from services.core.periods import STOCKHOLM
from services.core.ticket_figures import TicketFacts

# Late March 2022 spans the switch to summer time (27 March), so a day end is
# sometimes 23 hours after the previous one.
FIRST = date(2022, 3, 24)
DAYS = [FIRST + timedelta(days=i) for i in range(8)]
SLIS = (
    "tickets.handling_time.mean",
    "tickets.handling_time.median",
    "tickets.handling_time.p90",
    "tickets.business_handling_time.mean",
)


def ticket(
    resolved_at: datetime | None, hours: float | None, business: float | None = None
) -> TicketFacts:
    return TicketFacts(
        category="c",
        priority=3,
        municipality="m",
        created_at=None,
        resolved_at=resolved_at,
        handling_hours=hours,
        business_handling_hours=business,
    )


def naive_series(sli: str, days: list[date], tickets: list[TicketFacts]) -> list[Observation]:
    """The old algorithm, plainly: every day rescans and re-sorts every ticket."""
    business = sli.startswith("tickets.business_")
    stat = sli.rsplit(".", 1)[1]
    out = []
    for d in days:
        after = d + timedelta(days=1)
        until = datetime(after.year, after.month, after.day, tzinfo=STOCKHOLM)
        hours = sorted(
            h
            for t in tickets
            if t.resolved_at is not None
            and t.resolved_at < until
            and (h := t.business_handling_hours if business else t.handling_hours) is not None
        )
        if not hours:
            continue
        if stat == "mean":
            value = math.fsum(hours) / len(hours)
        else:
            rank = (len(hours) - 1) * (0.5 if stat == "median" else 0.9)
            lo = math.floor(rank)
            hi = min(lo + 1, len(hours) - 1)
            value = hours[lo] + (rank - lo) * (hours[hi] - hours[lo])
        out.append(Observation(d, value))
    return out


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 3, 24 + day, hour, minute, tzinfo=STOCKHOLM)


def test_hand_worked_median() -> None:
    # day 0: 2 h -> 2; day 1: nothing new -> 2 again; day 2: 2, 4, 9 -> 4.
    # A ticket resolved exactly at local midnight counts on the next day.
    tickets = [
        ticket(at(0, 10), 2.0),
        ticket(at(2, 0), 9.0),
        ticket(at(2, 23, 59), 4.0),
        ticket(None, 100.0),
        ticket(at(1, 12), None),
    ]
    got = ticket_series("tickets.handling_time.median", DAYS[:3], tickets)
    assert got == [Observation(DAYS[0], 2.0), Observation(DAYS[1], 2.0), Observation(DAYS[2], 4.0)]


def test_no_resolved_ticket_yet_gives_no_observation() -> None:
    tickets = [ticket(at(2, 12), 5.0)]
    got = ticket_series("tickets.handling_time.mean", DAYS[:4], tickets)
    assert [o.as_of for o in got] == DAYS[2:4]


def test_business_hours_are_used_for_business_slis() -> None:
    tickets = [ticket(at(0, 9), 10.0, business=3.0), ticket(at(0, 10), 20.0, business=None)]
    got = ticket_series("tickets.business_handling_time.mean", DAYS[:1], tickets)
    assert got == [Observation(DAYS[0], 3.0)]


def test_nan_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        ticket_series("tickets.handling_time.p90", DAYS[:2], [ticket(at(0, 9), math.nan)])


resolution = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2022, 3, 23, 12),
        max_value=datetime(2022, 4, 2),
        timezones=st.just(UTC),
    ),
    # exactly on a local midnight, the boundary between two days
    st.sampled_from(DAYS).map(lambda d: datetime(d.year, d.month, d.day, tzinfo=STOCKHOLM)),
)
hours = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
tickets_st = st.lists(st.builds(ticket, resolution, hours, hours), max_size=60)


@given(
    sli=st.sampled_from(SLIS),
    tickets=tickets_st,
    days=st.lists(st.sampled_from(DAYS), min_size=0, max_size=10),
)
def test_equals_the_per_day_rescan(sli: str, tickets: list[TicketFacts], days: list[date]) -> None:
    # Days in any order, with repeats: each observation depends on its own day only.
    assert ticket_series(sli, days, tickets) == naive_series(sli, days, tickets)


@given(sli=st.sampled_from(SLIS), tickets=tickets_st)
def test_equals_the_per_day_rescan_over_consecutive_days(
    sli: str, tickets: list[TicketFacts]
) -> None:
    assert ticket_series(sli, DAYS, tickets) == naive_series(sli, DAYS, tickets)
