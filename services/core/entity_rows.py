"""Read-API rows for incidents and changes: the figures of docs/definitions.md per group."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from services.core.catalog import Catalog
from services.core.changes import ChangeState, FreezeState, change_figures
from services.core.incidents import IncidentState, incident_figures, service_downtime

INCIDENT_GROUPS = ("service", "severity")
CHANGE_GROUPS = ("service",)
T = TypeVar("T")


def _groups(
    items: Iterable[T], key: Callable[[T], tuple[Any, ...]]
) -> dict[tuple[Any, ...], list[T]]:
    out: dict[tuple[Any, ...], list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def _minutes(seconds: float) -> float:
    return seconds / 60


def incident_rows(
    incidents: Sequence[IncidentState],
    catalog: Catalog,
    start: datetime,
    end: datetime,
    now: datetime,
    group_by: tuple[str, ...] = (),
    service: str | None = None,
    municipality: str | None = None,
) -> list[dict[str, Any]]:
    """Opened, resolved, MTTA, MTTR per group; downtime and availability per service.

    With a municipality, only the incidents that touched it count (one naming no
    municipality touches them all): an outage in Laxå is not downtime in Askersund.

    Downtime belongs to a service, so it is shown on rows that name one (grouped
    by service, or filtered to one) and is null elsewhere. An outage of a
    dependency counts for the service too; `inherited_downtime_minutes` and
    `downtime_via` say how much of it came from where.
    """
    if municipality is not None:
        incidents = [i for i in incidents if i.affects(municipality)]
    # Every incident counts for downtime: a dependency's outage is the service's too.
    downtime = service_downtime(incidents, catalog, start, end, now)
    mine = [i for i in incidents if service is None or i.service == service]
    grouped = _groups(mine, lambda i: tuple(getattr(i, g) for g in group_by))
    if "service" in group_by and len(group_by) == 1:
        for s in downtime if service is None else [service]:
            grouped.setdefault((s,), [])
    if not group_by:
        grouped.setdefault((), [])
    rows = []
    for key in sorted(grouped, key=lambda k: tuple(str(v) for v in k)):
        row: dict[str, Any] = dict(zip(group_by, key, strict=True))
        row |= incident_figures(grouped[key], start, end)
        named = row.get("service", service)
        d = downtime.get(named) if named is not None and "severity" not in group_by else None
        row["downtime_minutes"] = None if d is None else _minutes(d.total_seconds)
        row["own_downtime_minutes"] = None if d is None else _minutes(d.own_seconds)
        row["inherited_downtime_minutes"] = None if d is None else _minutes(d.inherited_seconds)
        row["downtime_via"] = None if d is None else list(d.via)
        row["availability"] = None if d is None else d.availability
        rows.append(row)
    return rows


def change_rows(
    changes: Sequence[ChangeState],
    freezes: Sequence[FreezeState],
    incidents: Sequence[IncidentState],
    start: datetime,
    end: datetime,
    group_by: tuple[str, ...] = (),
    service: str | None = None,
) -> list[dict[str, Any]]:
    """Implemented changes, freeze violations and incidents during freezes, per group."""
    keep = (lambda s: s == service) if service is not None else (lambda s: True)
    mine_c = [c for c in changes if keep(c.service)]
    mine_i = [i for i in incidents if keep(i.service)]
    if not group_by:
        return [dict(change_figures(mine_c, freezes, mine_i, start, end))]
    services = sorted({c.service for c in mine_c} | {i.service for i in mine_i})
    rows = []
    for s in services:
        figures = change_figures(
            [c for c in mine_c if c.service == s],
            freezes,
            [i for i in mine_i if i.service == s],
            start,
            end,
        )
        if any(figures.values()):
            rows.append({"service": s} | dict(figures))
    return rows
