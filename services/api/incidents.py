"""Incidents: SLIs per period (MTTA, MTTR, downtime, availability) and the incident list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from services.api.deps import (
    CatalogDep,
    EngineDep,
    PeriodDep,
    group_by_dep,
    name_query,
    period_json,
)
from services.core.entity_rows import INCIDENT_GROUPS, incident_rows
from services.core.incidents import IncidentState
from services.core.periods import local_iso
from services.store import incidents

router = APIRouter(tags=["incidents"])


@router.get("/v1/sli/incidents")
async def sli_incidents(
    engine: EngineDep,
    catalog: CatalogDep,
    period: PeriodDep,
    groups: Annotated[tuple[str, ...], Depends(group_by_dep(INCIDENT_GROUPS))],
    service: str | None = name_query("only this service"),
    municipality: str | None = name_query("only incidents that touched this municipality (Laxå)"),
) -> dict[str, Any]:
    """Downtime is the union of outages, a dependency's included, clipped to the period;
    per municipality with `municipality`."""
    start_us, end_us = period.bounds_us()

    def query() -> list[IncidentState]:
        with engine.connect() as conn:
            return incidents.overlapping(conn, start_us, end_us)

    found = await run_in_threadpool(query)
    now = datetime.now(UTC)
    rows = incident_rows(
        found, catalog, period.start, period.end, now, groups, service, municipality
    )
    return {"period": period_json(period), "rows": rows}


@router.get("/v1/incidents")
async def list_incidents(
    engine: EngineDep,
    status: Literal["open", "resolved"] = Query("open", description="open or resolved"),
    service: str | None = name_query("only this service"),
) -> dict[str, Any]:
    """Open incidents (oldest first) or the latest resolved ones (newest first)."""

    def query() -> list[IncidentState]:
        with engine.connect() as conn:
            if status == "open":
                return incidents.unresolved(conn, service)
            return incidents.resolved(conn, service)

    return {"incidents": [incident_json(i) for i in await run_in_threadpool(query)]}


def incident_json(i: IncidentState) -> dict[str, Any]:
    return {
        "incident_id": i.incident_id,
        "service": i.service,
        "severity": i.severity,
        "impact": i.impact,
        "municipalities": list(i.municipalities),
        "planned_work": i.planned_work,
        "title": i.title,
        "opened_at": local_iso(i.opened_at),
        "acknowledged_at": local_iso(i.acknowledged_at),
        "resolved_at": local_iso(i.resolved_at),
        "outages": [[local_iso(a), local_iso(b)] for a, b in i.outages],
    }
