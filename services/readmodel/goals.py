"""The goal figures from the store: observations per indicator, the period's summary, a report's input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from services.core.calendar import BusinessCalendar
from services.core.calls import CallBucket
from services.core.catalog import Catalog
from services.core.changes import violation
from services.core.evaluation import Observation, evaluate
from services.core.goals import Goals, Indicator, indicators
from services.core.indicator_sources import (
    FAMILY_OF,
    call_series,
    change_series,
    incident_series,
    ticket_series,
)
from services.core.periods import STOCKHOLM, Period
from services.core.staffing_plan import PeriodStaffing, period_staffing
from services.readmodel.goal_model import (
    FreezeInfo,
    MajorIncident,
    ReportInput,
    Summary,
    ViolationInfo,
)
from services.store import calls, changes, incidents, tickets
from services.store import indicators as manual

MAJOR_SEVERITY = 2  # severities 1 and 2 are the major incidents a board hears about


def days_of(period: Period, now: datetime) -> list[date]:
    """The local days of the period that have begun."""
    first = period.start.astimezone(STOCKHOLM).date()
    last = (min(period.end, now) - timedelta(microseconds=1)).astimezone(STOCKHOLM).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def last_day(period: Period) -> date:
    """The period's last local day (its end is exclusive)."""
    return (period.end - timedelta(microseconds=1)).astimezone(STOCKHOLM).date()


class CallDays:
    """A period's calls per local day, read once for each set of filters.

    The report's indicators often share their filters (most pool every queue), and
    each month of a trend is a slice of the period's days: one read of the daily
    rollups serves them all, instead of one per indicator and month (at national
    size each such read is 290 municipalities' days).
    """

    def __init__(self, conn: Connection, period: Period) -> None:
        self.conn, self.period = conn, period
        self._read: dict[tuple[tuple[str, str], ...], dict[date, CallBucket]] = {}

    def covers(self, period: Period) -> bool:
        return self.period.start <= period.start and period.end <= self.period.end

    def get(self, filters: Mapping[str, Any]) -> dict[date, CallBucket]:
        key = tuple(sorted((k, str(v)) for k, v in filters.items()))
        if key not in self._read:
            p = self.period
            sums = calls.daily_sums(self.conn, p.start_epoch(), p.end_epoch(), dict(key))
            self._read[key] = {
                datetime.fromtimestamp(start, STOCKHOLM).date(): bucket
                for start, bucket in sums.items()
            }
        return self._read[key]


def observations(
    conn: Connection,
    goals: Goals,
    catalog: Catalog,
    period: Period,
    now: datetime,
    thresholds: tuple[int, ...],
    call_days: CallDays | None = None,
) -> dict[str, list[Observation]]:
    call_days = call_days or CallDays(conn, period)
    days = days_of(period, now)
    first, last = period.start.astimezone(STOCKHOLM).date(), days[-1] if days else None
    out: dict[str, list[Observation]] = {}
    for ind in indicators(goals):
        entered = [
            Observation(v.as_of, v.value, v.forecast)
            for v in manual.all_values(conn, ind.id)
            if last is not None and first <= v.as_of <= last
        ]
        if ind.source.sli is None:
            out[ind.id] = entered
            continue
        series = _sli_series(conn, ind, period, days, catalog, now, thresholds, call_days)
        forecasts = [o.forecast for o in entered if o.forecast is not None]
        if series and forecasts:
            # A judged forecast entered by hand rides on the stream's latest value.
            series[-1] = Observation(series[-1].as_of, series[-1].value, forecasts[-1])
        out[ind.id] = series
    return out


def months(period: Period, now: datetime) -> list[Period]:
    """The calendar months the period covers that have begun, each clipped to the period."""
    out = []
    first = period.start.astimezone(STOCKHOLM).date().replace(day=1)
    while True:
        after = (first + timedelta(days=32)).replace(day=1)
        start = max(period.start, datetime.combine(first, time(), STOCKHOLM))
        end = min(period.end, datetime.combine(after, time(), STOCKHOLM))
        if start >= end or start >= now:
            break
        out.append(Period(f"{first:%Y-%m}", start, end))
        first = after
    return out


def trends(
    conn: Connection,
    goals: Goals,
    catalog: Catalog,
    period: Period,
    now: datetime,
    thresholds: tuple[int, ...],
    call_days: CallDays | None = None,
) -> dict[str, list[tuple[date, float]]]:
    """Each stream indicator's value month by month: the SLI over each month alone."""
    call_days = call_days or CallDays(conn, period)
    out: dict[str, list[tuple[date, float]]] = {}
    parts = months(period, now)
    if len(parts) < 2:  # one month is the period itself: no trend to show
        return out
    for ind in indicators(goals):
        if ind.source.sli is None:
            continue
        values = []
        for month in parts:
            days = days_of(month, now)
            series = _sli_series(conn, ind, month, days, catalog, now, thresholds, call_days)
            if series and isinstance(series[-1].value, int | float):
                values.append((month.start.astimezone(STOCKHOLM).date(), float(series[-1].value)))
        out[ind.id] = values
    return out


def _sli_series(
    conn: Connection,
    ind: Indicator,
    period: Period,
    days: Sequence[date],
    catalog: Catalog,
    now: datetime,
    thresholds: tuple[int, ...],
    call_days: CallDays | None = None,
) -> list[Observation]:
    """The indicator's value day by day over `period` (cumulative from its start);
    `call_days`, when given, holds the calls of a period that covers this one."""
    sli = ind.source.sli
    assert sli is not None  # noqa: S101 - the caller checked
    filters: dict[str, Any] = dict(ind.source.filters)
    start_us, end_us = period.bounds_us()
    family = FAMILY_OF[sli]
    if family == "calls":
        # From the daily rollups (a year reads 365 rows a queue, not 8,760), once for
        # the period; the series sums only `days`, so a month slices the period's days.
        call_days = call_days or CallDays(conn, period)
        if not call_days.covers(period):
            raise ValueError(f"{period.label} lies outside {call_days.period.label}")
        return call_series(sli, days, call_days.get(filters), thresholds)
    if family == "tickets":
        facts = tickets.facts(conn, start_us, end_us, filters)
        resolved_in = [
            t for t in facts if t.resolved_at is not None and t.resolved_at >= period.start
        ]
        return ticket_series(sli, days, resolved_in)
    if family == "incidents":
        found = incidents.overlapping(conn, start_us, end_us)
        if "municipality" in filters:  # an outage in Laxå is not downtime in Askersund
            found = [i for i in found if i.affects(filters["municipality"])]
        return incident_series(sli, days, period.start, found, catalog, now, filters.get("service"))
    done = changes.implemented(conn, start_us, end_us)
    if "service" in filters:
        done = [c for c in done if c.service == filters["service"]]
    return change_series(days, done, changes.all_freezes(conn))


def affected_e_services(catalog: Catalog, service_id: str) -> list[str]:
    """The e-services an outage of `service_id` reaches (itself included), sorted.

    "Påverkade e-tjänster" lists only what residents use: the catalog's `e_service`.
    """
    reached = {service_id, *catalog.dependents(service_id)}
    return sorted(s for s in reached if (svc := catalog.services.get(s)) and svc.e_service)


def display_names(catalog: Catalog, service_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each known service's name as the report shows it: the public name, else the catalog's
    name (`E-tjänst ekonomiskt bistånd`); an id the catalog lacks is left out (shown as is)."""
    return {
        s.id: {"sv": s.public("sv"), "en": s.public("en")}
        for sid in service_ids
        if (s := catalog.services.get(sid)) is not None
    }


def summary(conn: Connection, catalog: Catalog, period: Period) -> Summary:
    start_us, end_us = period.bounds_us()
    major = []
    for i in incidents.overlapping(conn, start_us, end_us):
        if i.severity is None or i.severity > MAJOR_SEVERITY or i.opened_at is None:
            continue
        if not period.contains(i.opened_at):
            continue
        duration = None
        if i.resolved_at is not None:
            duration = (i.resolved_at - i.opened_at).total_seconds() / 60
        major.append(
            MajorIncident(
                incident_id=i.incident_id,
                service=i.service,
                title=i.title,
                severity=i.severity,
                opened_at=i.opened_at,
                resolved_at=i.resolved_at,
                duration_minutes=duration,
                affected=affected_e_services(catalog, i.service),
                public_names=display_names(catalog, [i.service, *catalog.dependents(i.service)]),
            )
        )
    freezes = changes.all_freezes(conn)
    in_period = [f for f in freezes if f.starts_at < period.end and f.effective_end > period.start]
    violations = []
    for c in changes.implemented(conn, start_us, end_us):
        f = violation(c, freezes)
        if f is not None and c.implemented_at is not None:
            violations.append(ViolationInfo(c.change_id, c.service, c.implemented_at, f.freeze_id))
    return Summary(
        major_incidents=sorted(major, key=lambda m: m.opened_at),
        freezes=[
            FreezeInfo(f.freeze_id, f.starts_at, f.effective_end, list(f.scope), f.reason)
            for f in in_period
        ],
        violations=violations,
        names=display_names(
            catalog,
            [v.service for v in violations] + [s for f in in_period for s in f.scope],
        ),
    )


SERVICE_LEVEL = "calls.service_level."  # + the threshold in seconds: calls.service_level.20


def staffing(
    conn: Connection, goals: Goals, period: Period, now: datetime, cal: BusinessCalendar
) -> dict[str, PeriodStaffing]:
    """Per service-level indicator: the agent-hours a week its target needed for the
    period's calls (its filters; no queue filter pools the queues), and the talk time.

    The indicator's own target and threshold are the ones judged; an indicator without
    calls or talk time in the period is left out.
    """
    days = days_of(period, now)
    out: dict[str, PeriodStaffing] = {}
    for ind in indicators(goals):
        sli = ind.source.sli
        if not days or sli is None or not sli.startswith(SERVICE_LEVEL):
            continue
        target = ind.target.value
        if ind.target.rule != "at_least" or isinstance(target, bool) or not 0 < target < 1:
            continue  # no service level to staff for
        filters = {k: str(v) for k, v in ind.source.filters.items()}
        end = min(period.end, now)
        hourly = calls.hourly(conn, period.start_epoch(), int(end.timestamp()), filters)
        within = int(sli.removeprefix(SERVICE_LEVEL))
        found = period_staffing(hourly, len(days) / 7, cal, float(target), within)
        if found is not None:
            out[ind.id] = found
    return out


def report_input(
    conn: Connection,
    goals: Goals,
    catalog: Catalog,
    period: Period,
    now: datetime,
    thresholds: tuple[int, ...],
    cal: BusinessCalendar | None = None,
) -> ReportInput:
    call_days = CallDays(conn, period)
    obs = observations(conn, goals, catalog, period, now, thresholds, call_days)
    end_day = last_day(period)
    return ReportInput(
        period_label=period.label,
        period_from=period.start.astimezone(STOCKHOLM).date(),
        period_to=end_day,
        evaluation=evaluate(goals, obs, end_day),
        area=goals.area,
        summary=summary(conn, catalog, period),
        generated_at=now,
        judged_on=goals.judge_on,
        trends=trends(conn, goals, catalog, period, now, thresholds, call_days),
        staffing=staffing(conn, goals, period, now, cal or BusinessCalendar()),
    )
