"""GET /v1/sli/calls: call service levels for any period, filtered and grouped."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from services.api.deps import EngineDep, SettingsDep
from services.core.grouping import GroupError, parse_group_by, regroup, store_columns
from services.core.periods import PeriodError, parse_period
from services.core.sli import call_figures
from services.store.calls import sum_buckets

router = APIRouter(prefix="/v1/sli", tags=["sli"])


@router.get("/calls")
async def calls(
    engine: EngineDep,
    settings: SettingsDep,
    period: str = Query(
        ...,
        description="2022, 2022-T2, 2022-Q3, 2022-07, 2022-W27, 2022-07-15 or 2022-01-01..2022-07-31 (Europe/Stockholm)",
    ),
    queue: str | None = Query(None, description="only this queue"),
    municipality: str | None = Query(None, description="only this municipality"),
    group_by: str | None = Query(
        None, description="comma-separated: queue, municipality, hour or day"
    ),
) -> dict[str, Any]:
    """Offered, answered, abandoned calls and their service levels (DESIGN.md definitions)."""
    try:
        p = parse_period(period)
        groups = parse_group_by(group_by)
    except (PeriodError, GroupError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    cols = store_columns(groups)

    def query() -> dict[tuple[Any, ...], Any]:
        with engine.connect() as conn:
            return sum_buckets(
                conn,
                p.start_epoch(),
                p.end_epoch(),
                by=cols,
                filters={"queue": queue, "municipality": municipality},
            )

    sums = await run_in_threadpool(query)
    thresholds = settings.call_rules.thresholds
    rows = [labels | call_figures(b, thresholds) for labels, b in regroup(sums, groups)]
    return {
        "period": {"label": p.label, "from": p.start.isoformat(), "to": p.end.isoformat()},
        "rows": rows,
    }
