"""GET /v1/sli/calls: call service levels for any period, filtered and grouped."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from services.api.deps import (
    EngineDep,
    PeriodDep,
    SettingsDep,
    group_by_dep,
    name_query,
    period_json,
)
from services.core.grouping import CALL_GROUPS, regroup, store_columns
from services.core.sli import call_figures
from services.store.calls import sum_buckets

router = APIRouter(prefix="/v1/sli", tags=["sli"])


@router.get("/calls")
async def calls(
    engine: EngineDep,
    settings: SettingsDep,
    period: PeriodDep,
    groups: Annotated[tuple[str, ...], Depends(group_by_dep(CALL_GROUPS))],
    queue: str | None = name_query("only this queue"),
    municipality: str | None = name_query("only this municipality"),
) -> dict[str, Any]:
    """Offered, answered, abandoned calls and their service levels (docs/definitions.md#calls)."""
    cols = store_columns(groups)

    def query() -> dict[tuple[Any, ...], Any]:
        with engine.connect() as conn:
            return sum_buckets(
                conn,
                period.start_epoch(),
                period.end_epoch(),
                by=cols,
                filters={"queue": queue, "municipality": municipality},
            )

    sums = await run_in_threadpool(query)
    thresholds = settings.call_rules.thresholds
    rows = [labels | call_figures(b, thresholds) for labels, b in regroup(sums, groups)]
    return {"period": period_json(period), "rows": rows}
