"""Incidents: state from events, downtime and availability per service, MTTA and MTTR.

Follows docs/definitions.md#downtime-union: downtime of a service is the union of its
outage intervals clipped to the period (an outage of a dependency counts too),
availability = 1 - downtime / period length, MTTA = acknowledged - opened,
MTTR = resolved - opened. All times in the state are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict, TypeVar

from services.core.catalog import Catalog
from services.core.contracts.envelope import Envelope
from services.core.contracts.incidents import Impact
from services.core.contracts.notice import Notice
from services.core.events import (
    IncidentAcknowledged,
    IncidentEvent,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)

E = TypeVar("E", bound=Envelope)
Interval = tuple[datetime, datetime | None]  # end None: still going on

# Events at the same instant apply in the order of the lifecycle.
_RANK: Mapping[type, int] = {
    IncidentOpened: 0,
    IncidentAcknowledged: 1,
    IncidentUpdated: 2,
    IncidentResolved: 3,
}


def in_order(events: Iterable[E], rank: Mapping[type, int]) -> list[E]:
    """The distinct events (by id) by instant, type rank and id: the same for any arrival order.

    Two events sharing an id should be identical; if they are not, the first in this
    order (then by content) wins, so even that cannot depend on arrival order.
    """

    def key(e: E) -> tuple[datetime, int, str, str]:
        return (utc(e.time), rank[type(e)], e.id, e.model_dump_json())

    distinct: dict[str, E] = {}
    for e in sorted(events, key=key):
        distinct.setdefault(e.id, e)
    return list(distinct.values())


def utc(t: datetime) -> datetime:
    # Subtracting datetimes that share a zone gives wall-clock, not elapsed, time
    # (wrong across a DST change); in UTC the two agree.
    return t.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class IncidentState:
    incident_id: str
    service: str
    severity: int | None  # None only while no event that carries it has arrived
    impact: Impact | None
    municipalities: tuple[str, ...]
    planned_work: str | None  # the change_id of planned work that caused it
    title: str | None
    opened_at: datetime | None  # None until incident.opened arrives
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outages: tuple[Interval, ...]
    notice: Notice | None = None  # the public notice: the latest one sent
    notice_at: datetime | None = None  # the time of the event that sent it

    def affects(self, municipality: str) -> bool:
        """Whether it touches the municipality; one that names none touches every user."""
        return not self.municipalities or municipality in self.municipalities


def incident_state(events: Iterable[IncidentEvent]) -> IncidentState:
    """The state of one incident, a function of the set of its events.

    opened_at is the earliest opening, acknowledged_at the earliest acknowledgement,
    resolved_at the latest resolution (an earlier one was premature). Severity,
    impact and service are the latest by time among openings and updates; title,
    municipalities and planned work come from the latest opening; the public notice
    is the latest by time among openings and updates that carry one.
    """
    ordered = in_order(events, _RANK)
    if not ordered:
        raise ValueError("an incident needs at least one event")
    ids = {e.data.incident_id for e in ordered}
    if len(ids) > 1:
        raise ValueError(f"events of several incidents: {sorted(ids)}")
    opened = [e for e in ordered if isinstance(e, IncidentOpened)]
    acks = [utc(e.time) for e in ordered if isinstance(e, IncidentAcknowledged)]
    resolved = [utc(e.time) for e in ordered if isinstance(e, IncidentResolved)]
    revisions = [e for e in ordered if isinstance(e, IncidentOpened | IncidentUpdated)]
    severity = next(
        (e.data.severity for e in reversed(revisions) if e.data.severity is not None), None
    )
    impacts = [(utc(e.time), e.data.impact) for e in revisions if e.data.impact is not None]
    noticed = [e for e in revisions if e.data.notice is not None]
    first = opened[0] if opened else None
    latest = opened[-1] if opened else None
    opened_at = utc(first.time) if first else None
    resolved_at = resolved[-1] if resolved else None
    return IncidentState(
        incident_id=ids.pop(),
        service=(revisions or ordered)[-1].data.service,
        severity=severity,
        impact=impacts[-1][1] if impacts else None,
        municipalities=tuple(latest.data.municipalities) if latest else (),
        planned_work=latest.data.planned_work if latest else None,
        title=latest.data.title if latest else None,
        opened_at=opened_at,
        acknowledged_at=acks[0] if acks else None,
        resolved_at=resolved_at,
        outages=_outages(impacts, opened_at, resolved_at),
        notice=noticed[-1].data.notice if noticed else None,
        notice_at=utc(noticed[-1].time) if noticed else None,
    )


def _outages(
    impacts: list[tuple[datetime, Impact]], opened_at: datetime | None, end: datetime | None
) -> tuple[Interval, ...]:
    """The intervals with impact "outage" between opening (or the first impact) and `end`."""
    if not impacts:
        return ()
    start = opened_at or impacts[0][0]
    # Nothing counts before the opening: an impact sent earlier (clock skew) is moved
    # to it, where the opening's own impact, which comes later in the order, replaces it.
    steps = [(max(t, start), impact) for t, impact in impacts]
    out: list[Interval] = []
    down_since: datetime | None = None
    for t, impact in steps:
        if end is not None and t >= end:
            break
        if impact == "outage" and down_since is None:
            down_since = t
        elif impact != "outage" and down_since is not None:
            out.append((down_since, t))
            down_since = None
    if down_since is not None and (end is None or end > down_since):
        out.append((down_since, end))
    return tuple((a, b) for a, b in out if b is None or b > a)


def downtime_seconds(
    intervals: Iterable[Interval], start: datetime, end: datetime, now: datetime
) -> float:
    """Length of the union of the intervals within [start, min(end, now)); open ones run to now."""
    lo, hi = utc(start), min(utc(end), utc(now))
    clipped = sorted(
        (max(utc(a), lo), min(utc(b) if b is not None else hi, hi)) for a, b in intervals
    )
    total = 0.0
    reach = lo  # everything before `reach` is counted already
    for a, b in clipped:
        a = max(a, reach)
        if b > a:
            total += (b - a).total_seconds()
            reach = b
    return total


@dataclass(frozen=True, slots=True)
class ServiceDowntime:
    service: str
    own_seconds: float  # its own outages
    total_seconds: float  # the union of its own outages and those of its dependencies
    inherited_seconds: float  # total - own: down only because something it needs was down
    via: tuple[str, ...]  # dependencies that were down for some time in the period
    availability: float | None  # 1 - total / period length; None for a period not yet begun


def service_downtime(
    incidents: Iterable[IncidentState],
    catalog: Catalog,
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, ServiceDowntime]:
    """Downtime of every catalog service and of every service with an incident."""
    length = (utc(end) - utc(start)).total_seconds()
    if length <= 0:
        raise ValueError("the period must end after it starts")
    own: dict[str, list[Interval]] = {s: [] for s in catalog.services}
    for inc in incidents:
        own.setdefault(inc.service, []).extend(inc.outages)
    alone = {s: downtime_seconds(iv, start, end, now) for s, iv in own.items()}
    out = {}
    for s in sorted(own):
        deps = sorted(d for d in catalog.dependencies(s) if alone.get(d, 0.0) > 0)
        total = downtime_seconds([i for d in [s, *deps] for i in own[d]], start, end, now)
        out[s] = ServiceDowntime(
            service=s,
            own_seconds=alone[s],
            total_seconds=total,
            inherited_seconds=total - alone[s],
            via=tuple(deps),
            # The figure for a period that has not begun would be a guess, not a measurement.
            availability=1 - total / length if utc(now) > utc(start) else None,
        )
    return out


class IncidentFigures(TypedDict):
    opened: int
    resolved: int
    mtta_minutes: float | None  # None: nothing acknowledged in the period
    mttr_minutes: float | None  # None: nothing resolved in the period


def incident_figures(
    incidents: Iterable[IncidentState], start: datetime, end: datetime
) -> IncidentFigures:
    """Counts and means for [start, end); each incident counts in the period of the event."""
    lo, hi = utc(start), utc(end)
    opened = resolved = 0
    to_ack: list[float] = []
    to_resolve: list[float] = []
    for inc in incidents:
        if inc.opened_at is not None and lo <= inc.opened_at < hi:
            opened += 1
        if inc.resolved_at is not None and lo <= inc.resolved_at < hi:
            resolved += 1
            if inc.opened_at is not None:
                to_resolve.append(_minutes(inc.opened_at, inc.resolved_at))
        ack = inc.acknowledged_at
        if ack is not None and lo <= ack < hi and inc.opened_at is not None:
            to_ack.append(_minutes(inc.opened_at, ack))
    return IncidentFigures(
        opened=opened,
        resolved=resolved,
        mtta_minutes=sum(to_ack) / len(to_ack) if to_ack else None,
        mttr_minutes=sum(to_resolve) / len(to_resolve) if to_resolve else None,
    )


def _minutes(since: datetime, until: datetime) -> float:
    # Clocks of different sources disagree a little; a negative duration means zero.
    return max(0.0, (until - since).total_seconds() / 60)
