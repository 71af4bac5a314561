"""The public status of the e-services: what the status page and its feeds show.

Pure. Built from incident and change states and the catalog, and from nothing
else about them than their service, municipalities, times, impact and public
notice: titles, planned work ids and other internal fields never enter a
`StatusView`, so no page made from one can show them.

An incident or planned work on a service touches every e-service that depends on
it (catalog.dependencies), in the municipalities it names (none named: all the
service's users). Planned work is public only with a notice: work without one is
taken to have no effect residents would notice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.core.catalog import Catalog, Service
from services.core.changes import ChangeState
from services.core.contracts.notice import Notice
from services.core.incidents import IncidentState, service_downtime, utc

Level = Literal["operational", "maintenance", "degraded", "outage"]
LEVELS: tuple[Level, ...] = ("operational", "maintenance", "degraded", "outage")  # worst last
Kind = Literal["incident", "maintenance"]


def worst(levels: Iterable[Level]) -> Level:
    return max(levels, key=LEVELS.index, default="operational")


@dataclass(frozen=True, slots=True)
class PublicItem:
    """An incident or planned work as the public sees it."""

    key: str  # a public id: a hash, so that internal ids are not shown either
    kind: Kind
    level: Level  # what it does to the e-services it touches
    services: tuple[str, ...]  # the e-services touched, in catalog order
    municipalities: tuple[str, ...]  # where, sorted
    notice: Notice | None  # None: the page says the configured default text
    starts: datetime  # opened, or the planned start
    ends: datetime | None  # resolved or the planned end; None while an incident is open
    updated: datetime  # the latest of the times above and the notice's
    active: bool  # going on now


@dataclass(frozen=True, slots=True)
class ServiceLine:
    id: str
    level: Level  # now, the worst over the municipalities shown
    availability: dict[str, float | None]  # municipality -> share of the history window up
    levels: dict[str, Level]  # municipality -> its level now

    @property
    def partial(self) -> bool:
        """Whether only some of the municipalities shown are at the worst level."""
        return len(set(self.levels.values())) > 1


@dataclass(frozen=True, slots=True)
class StatusView:
    municipality: str | None  # None: every municipality
    municipalities: tuple[str, ...]  # those shown (the one, or all the e-services serve)
    now: datetime
    services: tuple[ServiceLine, ...]
    current: tuple[PublicItem, ...]  # open incidents and work going on now, worst first
    planned: tuple[PublicItem, ...]  # work starting within the planned window, soonest first
    history: tuple[PublicItem, ...]  # ended within the history window, latest first
    history_start: datetime
    last_modified: datetime  # the latest instant at or before now at which this view changed

    @property
    def level(self) -> Level:
        return worst(s.level for s in self.services)


def public_key(kind: Kind, entity_id: str) -> str:
    return hashlib.sha256(f"{kind}:{entity_id}".encode()).hexdigest()[:16]


def touched(
    catalog: Catalog, service: str, municipalities: Sequence[str]
) -> dict[str, frozenset[str]]:
    """E-service id -> municipalities where trouble with `service` reaches it.

    `municipalities` empty means every user of the service. An e-service touches
    only the municipalities it serves.
    """
    named = set(municipalities)
    source = catalog.services.get(service)
    if not named and source is not None:
        named = set(source.municipalities)
    out: dict[str, frozenset[str]] = {}
    for e in catalog.e_services():
        if e.id == service or service in catalog.dependencies(e.id):
            where = set(e.municipalities) & named if named else set(e.municipalities)
            if where:
                out[e.id] = frozenset(where)
    return out


def _incident_item(inc: IncidentState, reach: dict[str, frozenset[str]]) -> PublicItem:
    if inc.opened_at is None:
        raise ValueError(f"incident {inc.incident_id} has not been opened")
    times = [t for t in (inc.opened_at, inc.resolved_at, inc.notice_at) if t is not None]
    return PublicItem(
        key=public_key("incident", inc.incident_id),
        kind="incident",
        level="outage" if inc.impact == "outage" else "degraded",
        services=tuple(reach),
        municipalities=tuple(sorted(set().union(*reach.values()))),
        notice=inc.notice,
        starts=inc.opened_at,
        ends=inc.resolved_at,
        updated=max(times),
        active=inc.resolved_at is None,
    )


def _change_item(
    c: ChangeState, reach: dict[str, frozenset[str]], now: datetime
) -> PublicItem | None:
    if c.notice is None or c.planned_start is None or c.planned_end is None:
        return None
    # Work is over when it is carried out (change.implemented) or its window has passed;
    # carried out before its window, it is history, not planned.
    ends = min(c.planned_end, c.implemented_at) if c.implemented_at else c.planned_end
    starts = min(c.planned_start, ends)
    times = [t for t in (c.notice_at, c.implemented_at) if t is not None]
    times += [t for t in (starts, ends) if t <= now]
    return PublicItem(
        key=public_key("maintenance", c.change_id),
        kind="maintenance",
        level="maintenance",
        services=tuple(reach),
        municipalities=tuple(sorted(set().union(*reach.values()))),
        notice=c.notice,
        starts=starts,
        ends=ends,
        updated=max(times) if times else starts,
        active=starts <= now < ends,
    )


def status_view(
    catalog: Catalog,
    incidents: Iterable[IncidentState],
    changes: Iterable[ChangeState],
    now: datetime,
    municipality: str | None = None,
    planned_days: int = 14,
    history_days: int = 30,
) -> StatusView:
    """The status of the e-services, for one municipality or (None) all of them."""
    now = utc(now)
    start, horizon = now - timedelta(days=history_days), now + timedelta(days=planned_days)
    shown = _shown(catalog.e_services(), municipality)
    places = {m for s in shown for m in s.municipalities}
    if municipality is not None:
        places &= {municipality}
    items: list[PublicItem] = []
    relevant: list[IncidentState] = []
    for inc in incidents:
        if inc.opened_at is None or (inc.resolved_at is not None and inc.resolved_at < start):
            continue
        if utc(inc.opened_at) > now:
            continue
        reach = _within(touched(catalog, inc.service, inc.municipalities), places)
        if reach:
            items.append(_incident_item(inc, reach))
            relevant.append(inc)
    for c in changes:
        reach = _within(touched(catalog, c.service, ()), places)
        item = _change_item(c, reach, now) if reach else None
        if item is not None and item.starts < horizon and item.ends and item.ends > start:
            items.append(item)
    current = [i for i in items if i.active and i.starts <= now]
    planned = [i for i in items if i.kind == "maintenance" and i.starts > now]
    ended = [i for i in items if not i.active and i.ends is not None and i.ends <= now]
    lines = []
    for s in shown:
        where = sorted(set(s.municipalities) & places)
        per = {
            m: worst(i.level for i in current if s.id in i.services and m in i.municipalities)
            for m in where
        }
        lines.append(
            ServiceLine(
                s.id,
                worst(per.values()),
                {m: _availability(catalog, relevant, s, m, start, now) for m in where},
                per,
            )
        )
    changed = [i.updated for i in items] + [start]
    return StatusView(
        municipality=municipality,
        municipalities=tuple(sorted(places)),
        now=now,
        services=tuple(lines),
        current=tuple(sorted(current, key=lambda i: (-LEVELS.index(i.level), i.starts, i.key))),
        planned=tuple(sorted(planned, key=lambda i: (i.starts, i.key))),
        history=tuple(sorted(ended, key=lambda i: (i.ends or i.starts, i.key), reverse=True)),
        history_start=start,
        last_modified=max(t for t in changed if t <= now),
    )


def _shown(e_services: list[Service], municipality: str | None) -> list[Service]:
    if municipality is None:
        return e_services
    return [s for s in e_services if municipality in s.municipalities]


def _within(reach: dict[str, frozenset[str]], places: set[str]) -> dict[str, frozenset[str]]:
    out = {s: where & places for s, where in reach.items()}
    return {s: where for s, where in out.items() if where}


def _availability(
    catalog: Catalog,
    incidents: Sequence[IncidentState],
    service: Service,
    municipality: str,
    start: datetime,
    now: datetime,
) -> float | None:
    """The share of [start, now) the e-service was up in the municipality: outages of it
    or of what it depends on count, if they touched the municipality."""
    there = [i for i in incidents if i.affects(municipality)]
    down = service_downtime(there, catalog, start, now, now).get(service.id)
    return None if down is None else down.availability


def current_levels(
    catalog: Catalog,
    incidents: Iterable[IncidentState],
    changes: Iterable[ChangeState],
    now: datetime,
) -> dict[tuple[str, str], Level]:
    """(e-service, municipality) -> its level now, as each municipality's page shows it."""
    found, work = list(incidents), list(changes)
    out: dict[tuple[str, str], Level] = {}
    for m in catalog.municipalities():
        view = status_view(catalog, found, work, now, m, history_days=1)
        out |= {(line.id, m): line.level for line in view.services}
    return out
