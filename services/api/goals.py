"""The goal report (MER): GET /v1/goals and GET /v1/goals/report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services import config
from services.api.deps import CatalogDep, EngineDep, PeriodDep, ReportCacheDep, SettingsDep
from services.readmodel.goals import report_input
from services.report.cache import ReportBusy
from services.report.render import render
from services.store import inbox

router = APIRouter(prefix="/v1/goals", tags=["goals"])

MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("")
async def goals_file(settings: SettingsDep) -> Any:
    """The goals file: council goals, board goals and their indicators."""
    return config.goals(settings.config_dir).model_dump(mode="json")


@router.get(
    "/report",
    responses={
        422: {"description": "A bad period (naming `period`), language or format"},
        503: {"description": "Too many reports being rendered: retry after Retry-After s"},
    },
)
async def goal_report(
    engine: EngineDep,
    settings: SettingsDep,
    catalog: CatalogDep,
    period: PeriodDep,
    cache: ReportCacheDep,
    lang: Literal["sv", "en"] = Query("sv", description="sv or en"),
    format: Literal["html", "md", "json", "xlsx"] = Query(
        "html", description="html, md, json or xlsx"
    ),
) -> Response:
    """Nuvärde, prognos, målvärde and status of every indicator, with the rollup and a summary."""
    goals = config.goals(settings.config_dir)  # read each time: an edit shows at once

    def version() -> int:
        with engine.connect() as conn:
            return inbox.applied_count(conn)

    def build() -> bytes:
        with engine.connect() as conn:
            data = report_input(
                conn, goals, catalog, period, datetime.now(UTC), settings.call_rules.thresholds
            )
        return render(data, lang, format)

    key = (period.label, lang, format, goals.model_dump_json(), await run_in_threadpool(version))
    try:
        body = await cache.get(key, build)
    except ReportBusy as exc:
        return JSONResponse(
            {"detail": str(exc)},
            status_code=503,
            headers={"retry-after": str(exc.retry_after)},
        )
    headers = {}
    if format == "xlsx":
        name = f"mal-{period.label}.xlsx".replace("..", "_")
        headers["content-disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA[format], headers=headers)
