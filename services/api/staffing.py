"""GET /v1/staffing: a week's expected calls per half hour and the agents they need."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from services import config
from services.api.deps import EngineDep, SettingsDep
from services.core.calendar import BusinessCalendar
from services.core.calls import CallBucket
from services.core.staffing import StaffingError
from services.core.staffing_plan import plan_week, week_monday
from services.store.calls import staffing_history

router = APIRouter(prefix="/v1", tags=["staffing"])

_WEEK = re.compile(r"([0-9]{4})-[Ww]([0-9]{2})", re.ASCII)


@router.get("/staffing", responses={422: {"description": "A bad week, target or within"}})
async def staffing(
    engine: EngineDep,
    settings: SettingsDep,
    week: str = Query(
        ..., description="ISO week, e.g. 2022-W36", json_schema_extra={"examples": ["2022-W36"]}
    ),
    queue: str | None = Query(None, description="only this queue (else all queues pooled)"),
    target: float | None = Query(
        None, gt=0, lt=1, description="share answered within `within` s (config/staffing.yaml)"
    ),
    within: int | None = Query(None, ge=1, le=3600, description="answer-time threshold, s"),
) -> dict[str, Any]:
    """Expected calls per weekday and half hour, agents by Erlang C and Erlang A,
    expected service level and occupancy, scheduled agents after shrinkage."""
    m = _WEEK.fullmatch(week.strip())
    if m is None:
        raise HTTPException(422, detail=f"week: {week!r} is not an ISO week like 2022-W36")
    year, number = int(m[1]), int(m[2])
    cfg = config.staffing(settings.config_dir)
    cal = BusinessCalendar()
    try:
        week_monday(year, number)
    except ValueError as exc:
        raise HTTPException(422, detail=f"week: {exc}") from None

    def query() -> dict[int, CallBucket]:
        with engine.connect() as conn:
            return staffing_history(conn, year, number, cfg, cal, queue)

    hourly = await run_in_threadpool(query)
    try:
        plan = await run_in_threadpool(
            plan_week, year, number, hourly, cal, cfg, target=target, within=within
        )
    except StaffingError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"queue": queue} | plan
