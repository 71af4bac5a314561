"""Changes and freezes: SLIs per period, the freezes, and the violations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from services.api.deps import EngineDep, PeriodDep, group_by_dep, name_query, period_json
from services.core.changes import ChangeState, FreezeState, violation
from services.core.entity_rows import CHANGE_GROUPS, change_rows
from services.core.incidents import IncidentState
from services.core.periods import local_iso
from services.store import changes, incidents

router = APIRouter(tags=["changes"])


@router.get("/v1/sli/changes")
async def sli_changes(
    engine: EngineDep,
    period: PeriodDep,
    groups: Annotated[tuple[str, ...], Depends(group_by_dep(CHANGE_GROUPS))],
    service: str | None = name_query("only this service"),
) -> dict[str, Any]:
    """A change implemented inside an active freeze covering its service is a violation,
    unless it is an emergency with an approver."""
    start_us, end_us = period.bounds_us()

    def query() -> tuple[list[ChangeState], list[FreezeState], list[IncidentState]]:
        with engine.connect() as conn:
            return (
                changes.implemented(conn, start_us, end_us),
                changes.all_freezes(conn),
                incidents.overlapping(conn, start_us, end_us),
            )

    done, freezes, found = await run_in_threadpool(query)
    rows = change_rows(done, freezes, found, period.start, period.end, groups, service)
    return {"period": period_json(period), "rows": rows}


@router.get("/v1/freezes")
async def list_freezes(
    engine: EngineDep,
    active: bool | None = Query(None, description="true: only those in force now"),
) -> dict[str, Any]:
    def query() -> list[FreezeState]:
        with engine.connect() as conn:
            return changes.all_freezes(conn)

    now = datetime.now(UTC)
    found = [
        f for f in await run_in_threadpool(query) if active is None or f.active_at(now) == active
    ]
    return {
        "freezes": [
            {
                "freeze_id": f.freeze_id,
                "starts_at": local_iso(f.starts_at),
                "ends_at": local_iso(f.ends_at),
                "lifted_at": local_iso(f.lifted_at),
                "effective_end": local_iso(f.effective_end),
                "active": f.active_at(now),
                "scope": list(f.scope),
                "reason": f.reason,
            }
            for f in found
        ]
    }


@router.get("/v1/changes/violations")
async def list_violations(engine: EngineDep, period: PeriodDep) -> dict[str, Any]:
    """Changes implemented in the period inside a freeze that covered their service."""
    start_us, end_us = period.bounds_us()

    def query() -> tuple[list[ChangeState], list[FreezeState]]:
        with engine.connect() as conn:
            return changes.implemented(conn, start_us, end_us), changes.all_freezes(conn)

    done, freezes = await run_in_threadpool(query)
    out = []
    for c in done:
        freeze = violation(c, freezes)
        if freeze is not None:
            out.append(
                {
                    "change_id": c.change_id,
                    "service": c.service,
                    "implemented_at": local_iso(c.implemented_at),
                    "emergency": c.emergency,
                    "exception_approved_by": c.exception_approved_by,
                    "freeze_id": freeze.freeze_id,
                    "title": c.title,
                }
            )
    return {"period": period_json(period), "violations": out}
