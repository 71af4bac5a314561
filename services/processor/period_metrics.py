"""Period figures from the store, by event time, for Grafana's "this month" panels.

For today, this ISO week, month, tertial and year (Stockholm) the worker that holds
the `period-figures` lease reads the store and sets gauges with exactly what the
read API answers for the same period: the same store queries
(calls.sum_buckets, tickets.facts, incidents.overlapping) and the same figures
(ticket_rows, incident_rows). A late or imported event is in the store, so the
next refresh counts it in the period it belongs to, whatever the worker processed.

Reading the store (slow, in a thread) and setting the gauges (quick, on the event
loop that also serves /metrics) are separate steps, so a scrape never sees the
gauges half cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import Connection, Engine

from services.core.calls import CallBucket
from services.core.catalog import Catalog
from services.core.entity_rows import incident_rows
from services.core.incidents import IncidentState
from services.core.labels import LabelCatalog
from services.core.periods import Period, current_periods
from services.core.stats import SUMMARY_KEYS
from services.core.ticket_figures import TicketFacts, ticket_rows
from services.observability import processor_metrics as m
from services.store import calls, incidents, leases, tickets

LEASE = "period-figures"


@dataclass(frozen=True, slots=True)
class Sample:
    gauge: Gauge
    labels: tuple[str, ...]
    value: float


def publish(gauges: Iterable[Gauge], samples: Sequence[Sample]) -> None:
    """Clear `gauges` and set `samples`: a group that vanished loses its series.

    Call on the event loop that serves /metrics, so no scrape falls in between.
    """
    for g in gauges:
        g.clear()
    for s in samples:
        s.gauge.labels(*s.labels).set(s.value)


def publish_periods(samples: Sequence[Sample], now: datetime) -> None:
    publish(m.PERIOD_GAUGES, samples)
    m.PERIOD_FIGURES_REFRESHED.value = now.timestamp()


def clear_lease_held() -> None:
    """What a worker that does not hold the lease does: export none of its gauges."""
    publish((*m.PERIOD_GAUGES, *m.GOAL_GAUGES, *m.STAFFING_GAUGES), [])
    m.PERIOD_FIGURES_REFRESHED.value = None


def holds_lease(engine: Engine, holder: str, now: datetime, interval_seconds: float) -> bool:
    """Take or renew the lease; it lasts three refresh intervals, so one slow or missed
    refresh does not hand it over, and a dead holder's is taken over within three."""
    with engine.begin() as conn:
        return leases.acquire(conn, LEASE, holder, now, 3 * interval_seconds)


def give_up_lease(engine: Engine, holder: str) -> None:
    """On shutdown: another worker takes the lease at its next refresh, not 3 intervals on."""
    with engine.begin() as conn:
        leases.release(conn, LEASE, holder)


def period_samples(
    engine: Engine,
    catalog: Catalog,
    thresholds: Sequence[int],
    business: bool,
    now: datetime,
    labels: LabelCatalog,
) -> list[Sample]:
    """Every period gauge's value at `now`; a figure that is None is left out (absent).

    Labels are bounded as on every metric: a queue, municipality, category or service
    outside the configuration is figured as one group, `other` (the API keeps them apart).
    """
    periods = current_periods(now)
    first = min(p.start for p in periods.values())
    after = max(p.end for p in periods.values())
    with engine.connect() as conn:
        # One read of tickets and incidents for the span of all the periods: the
        # figures functions keep to each period's bounds, as the API does.
        facts = [
            replace(t, category=labels.category(t.category))
            for t in tickets.facts(conn, _us(first), _us(after), {})
        ]
        found = [
            replace(i, service=labels.service(i.service))
            for i in incidents.overlapping(conn, _us(first), _us(after))
        ]
        out: list[Sample] = []
        for name, p in periods.items():
            out += _call_samples(conn, name, p, thresholds, labels)
            out += _ticket_samples(name, p, facts, business)
            out += _incident_samples(name, p, found, catalog, now)
    return out


def _us(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000


def _call_samples(
    conn: Connection, name: str, p: Period, thresholds: Sequence[int], known: LabelCatalog
) -> list[Sample]:
    found = calls.sum_buckets(conn, p.start_epoch(), p.end_epoch(), by=("queue", "municipality"))
    sums: dict[tuple[str, str], CallBucket] = {}
    for (queue, municipality), bucket in found.items():
        series = (known.queue(queue), known.municipality(municipality))
        sums.setdefault(series, CallBucket()).add(bucket)
    out = []
    for (queue, municipality), b in sums.items():
        labels = (name, queue, municipality)
        out += [
            Sample(m.PERIOD_CALLS_OFFERED, labels, b.offered),
            Sample(m.PERIOD_CALLS_SHORT_ABANDONED, labels, b.short_abandoned),
            Sample(m.PERIOD_CALLS_ANSWERED, labels, b.answered),
            Sample(m.PERIOD_CALLS_ABANDONED, labels, b.abandoned),
            Sample(m.PERIOD_CALLS_ANSWERED_WAIT, labels, b.wait_answered_ms / 1000),
        ]
        # Every threshold, 0 when none was answered within it (as call_figures counts).
        for t in thresholds:
            n = b.answered_within.get(t, 0)
            out.append(Sample(m.PERIOD_CALLS_ANSWERED_WITHIN, (*labels, str(t)), n))
    return out


def _handling(row: dict[str, Any]) -> list[tuple[str, float]]:
    """(stat label, hours) of an API ticket row, the None ones left out."""
    hours = row["handling_time_hours"]
    out = [(stat, hours[stat]) for stat in SUMMARY_KEYS if hours[stat] is not None]
    business = row.get("business_handling_time_hours")  # only with the business calendar
    if business is not None and business["mean"] is not None:
        out.append(("business_mean", business["mean"]))
    return out


def _ticket_samples(
    name: str, p: Period, facts: Sequence[TicketFacts], business: bool
) -> list[Sample]:
    out = []
    for row in ticket_rows(facts, p.start, p.end, (), business):
        out.append(Sample(m.PERIOD_TICKETS_RESOLVED, (name,), row["resolved"]))
        for stat, hours in _handling(row):
            out.append(Sample(m.PERIOD_TICKETS_HANDLING, (name, stat), hours))
    for row in ticket_rows(facts, p.start, p.end, ("category", "priority"), business):
        group = (name, str(row["category"]), str(row["priority"]))
        out.append(Sample(m.PERIOD_TICKETS_GROUP_RESOLVED, group, row["resolved"]))
        for stat, hours in _handling(row):
            out.append(Sample(m.PERIOD_TICKETS_GROUP_HANDLING, (*group, stat), hours))
    return out


def _incident_samples(
    name: str, p: Period, found: Sequence[IncidentState], catalog: Catalog, now: datetime
) -> list[Sample]:
    out = []
    for row in incident_rows(found, catalog, p.start, p.end, now, ("service",)):
        labels = (name, str(row["service"]))
        if row["availability"] is not None:
            out.append(Sample(m.PERIOD_SERVICE_AVAILABILITY, labels, row["availability"]))
        if row["downtime_minutes"] is not None:
            out.append(Sample(m.PERIOD_SERVICE_DOWNTIME, labels, row["downtime_minutes"] * 60))
        if row["mttr_minutes"] is not None:
            out.append(Sample(m.PERIOD_INCIDENTS_MTTR, labels, row["mttr_minutes"] * 60))
    for municipality in catalog.municipalities():
        rows = incident_rows(found, catalog, p.start, p.end, now, ("service",), None, municipality)
        for row in rows:
            service = str(row["service"])
            if municipality not in _municipalities(catalog, service):
                continue  # a service that municipality does not use has no figure there
            local = (name, service, municipality)
            if row["availability"] is not None:
                out.append(Sample(m.PERIOD_LOCAL_AVAILABILITY, local, row["availability"]))
            if row["downtime_minutes"] is not None:
                out.append(Sample(m.PERIOD_LOCAL_DOWNTIME, local, row["downtime_minutes"] * 60))
    return out


def _municipalities(catalog: Catalog, service: str) -> list[str]:
    known = catalog.services.get(service)
    return known.municipalities if known is not None else []
