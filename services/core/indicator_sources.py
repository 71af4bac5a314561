"""Indicator values from the streams: one observation per day, the period so far.

The observation for day d is the SLI over [period start, end of d], so the
latest one is the value for the period to date (the nuvärde), and a linear
trend of the series extrapolates that value to the period's end (the prognos).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from services.core.calls import CallBucket
from services.core.catalog import Catalog
from services.core.changes import ChangeState, FreezeState, violation
from services.core.evaluation import Observation
from services.core.incidents import IncidentState, incident_figures, service_downtime
from services.core.periods import STOCKHOLM
from services.core.sli import call_figures
from services.core.stats import ExactSum, check_finite, summary_sorted
from services.core.ticket_figures import TicketFacts

FAMILY_OF = {
    "calls.service_level.20": "calls",
    "calls.service_level.60": "calls",
    "calls.abandon_rate": "calls",
    "calls.asa_seconds": "calls",
    "tickets.handling_time.mean": "tickets",
    "tickets.handling_time.median": "tickets",
    "tickets.handling_time.p90": "tickets",
    "tickets.business_handling_time.mean": "tickets",
    "incidents.availability": "incidents",
    "incidents.mttr_minutes": "incidents",
    "changes.violations": "changes",
}


def day_end(d: date) -> datetime:
    """The local midnight after day d (DST-correct)."""
    return datetime.combine(d + timedelta(days=1), time(), tzinfo=STOCKHOLM)


def _series(days: Sequence[date], value: Callable[[date], float | None]) -> list[Observation]:
    return [Observation(d, v) for d in days if (v := value(d)) is not None]


def call_series(
    sli: str, days: Sequence[date], daily: Mapping[date, CallBucket], thresholds: tuple[int, ...]
) -> list[Observation]:
    running = CallBucket()
    out = []
    for d in days:
        if d in daily:
            running.add(daily[d])
        fig = call_figures(running, thresholds)
        name = sli.removeprefix("calls.")
        v: Any = (
            fig["service_level"][name.split(".")[1]]
            if name.startswith("service_level.")
            else fig[name]
        )
        if v is not None:
            out.append(Observation(d, float(v)))
    return out


def ticket_series(
    sli: str, days: Sequence[date], tickets: Sequence[TicketFacts]
) -> list[Observation]:
    """The handling-time statistic over the tickets resolved up to each day's end.

    One pass: the tickets are taken in order of resolution, their hours kept in
    a sorted list and an exact running sum as the days go by, so a day costs a
    merge of its arrivals rather than a rescan and re-sort of the whole period
    (which was quadratic in the period's tickets).
    """
    business = sli.startswith("tickets.business_")
    stat = sli.rsplit(".", 1)[1]
    resolved = sorted(
        (
            (t.resolved_at, h)
            for t in tickets
            if t.resolved_at is not None
            and (h := t.business_handling_hours if business else t.handling_hours) is not None
        ),
        key=lambda pair: pair[0],
    )
    times = [at for at, _ in resolved]
    ordered: list[float] = []
    total = ExactSum()
    value: float | None = None
    by_day: dict[date, float | None] = {}
    for d in sorted(set(days)):
        upto = bisect_left(times, day_end(d))
        if upto > len(ordered):  # the statistic changes only when tickets arrive
            arrived = [h for _, h in resolved[len(ordered) : upto]]
            check_finite(arrived)  # before sorting: a NaN would corrupt the order
            for h in arrived:
                total.add(h)
            # Timsort merges the sorted run and the day's arrivals in linear time.
            ordered.extend(arrived)
            ordered.sort()
            value = summary_sorted(ordered, total.total)[stat]
        by_day[d] = value
    return [Observation(d, v) for d in days if (v := by_day[d]) is not None]


def incident_series(
    sli: str,
    days: Sequence[date],
    start: datetime,
    incidents: Sequence[IncidentState],
    catalog: Catalog,
    now: datetime,
    service: str | None,
) -> list[Observation]:
    def value(d: date) -> float | None:
        until = day_end(d)
        if sli == "incidents.mttr_minutes":
            mine = [i for i in incidents if service is None or i.service == service]
            return incident_figures(mine, start, until)["mttr_minutes"]
        if service is None:
            return None  # availability belongs to a service
        down = service_downtime(incidents, catalog, start, until, min(now, until))
        return down[service].availability if service in down else 1.0

    return _series(days, value)


def change_series(
    days: Sequence[date], changes: Sequence[ChangeState], freezes: Sequence[FreezeState]
) -> list[Observation]:
    violating = [c.implemented_at for c in changes if violation(c, freezes) is not None]

    def value(d: date) -> float:
        until = day_end(d)
        return float(sum(1 for t in violating if t is not None and t < until))

    return _series(days, value)
