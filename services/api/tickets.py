"""GET /v1/sli/tickets: tickets created and resolved, handling time (mean, median, p90)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from services.api.deps import (
    EngineDep,
    PeriodDep,
    SettingsDep,
    group_by_dep,
    name_query,
    period_json,
)
from services.core.ticket_figures import TICKET_GROUPS, ticket_rows
from services.store import tickets

router = APIRouter(prefix="/v1/sli", tags=["sli"])


@router.get("/tickets")
async def sli_tickets(
    engine: EngineDep,
    settings: SettingsDep,
    period: PeriodDep,
    groups: Annotated[tuple[str, ...], Depends(group_by_dep(TICKET_GROUPS))],
    category: str | None = name_query("only this category"),
    priority: int | None = Query(None, ge=1, le=4, description="only this priority"),
    municipality: str | None = name_query("only this municipality"),
) -> dict[str, Any]:
    """Handling time counts at the final resolution, pauses subtracted, in hours."""
    filters = {"category": category, "priority": priority, "municipality": municipality}

    def query() -> list[Any]:
        with engine.connect() as conn:
            return tickets.facts(conn, _us(period.start_epoch()), _us(period.end_epoch()), filters)

    facts = await run_in_threadpool(query)
    rows = ticket_rows(facts, period.start, period.end, groups, settings.business_calendar)
    return {"period": period_json(period), "rows": rows}


def _us(epoch: int) -> int:
    return epoch * 1_000_000
