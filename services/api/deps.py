"""Shared dependencies of the HTTP routes: the process's engine, settings and relay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Engine

from services.core.catalog import Catalog
from services.core.contracts.text import NAME_PATTERN, unstorable
from services.core.grouping import GroupError, parse_group_by
from services.core.periods import Period, PeriodError, parse_period, rfc3339
from services.ingest.relay import Relay
from services.report.cache import ReportCache
from services.settings import Settings


def _app_state(name: str) -> Any:
    """A dependency on `request.app.state.<name>`, which services.api.main sets up once."""

    def dep(request: Request) -> Any:
        return getattr(request.app.state, name)

    return Depends(dep)


EngineDep = Annotated[Engine, _app_state("engine")]
SettingsDep = Annotated[Settings, _app_state("settings")]
RelayDep = Annotated[Relay, _app_state("relay")]
CatalogDep = Annotated[Catalog, _app_state("catalog")]
ReportCacheDep = Annotated[ReportCache, _app_state("report_cache")]


def _period(
    settings: SettingsDep,
    period: str = Query(
        ...,
        description="2022, 2022-T2, 2022-Q3, 2022-07, 2022-W27, 2022-07-15 or "
        "2022-01-01..2022-07-31 (Europe/Stockholm); years 1900..2999, at most "
        "max_period_years (10) long",
        # Documented, not enforced here: parse_period checks more (months 01-12 …)
        # and says what is wrong. It lets API clients and schemathesis write periods.
        json_schema_extra={
            "pattern": r"^(19|2[0-9])[0-9]{2}(-([TtQq][0-9]|[Ww][0-9]{2}|[0-9]{2}(-[0-9]{2}(\.\.(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2})?)?))?$",
            "examples": ["2022", "2022-T2", "2022-Q3", "2022-07", "2022-W27", "2022-07-15"],
        },
    ),
) -> Period:
    try:
        return parse_period(period, settings.max_period_years)
    except PeriodError as exc:
        # "<parameter>: <what is wrong>", like the ingest errors name their field.
        raise HTTPException(status_code=422, detail=f"period: {exc}") from None


def group_by_dep(allowed: tuple[str, ...]) -> Callable[..., tuple[str, ...]]:
    """A dependency parsing `group_by` against the groups one endpoint allows."""

    def dep(
        group_by: str | None = Query(
            None, description=f"comma-separated, any of: {', '.join(allowed)}"
        ),
    ) -> tuple[str, ...]:
        try:
            return parse_group_by(group_by, allowed)
        except GroupError as exc:
            raise HTTPException(status_code=422, detail=f"group_by: {exc}") from None

    return dep


PeriodDep = Annotated[Period, Depends(_period)]


def period_json(p: Period) -> dict[str, str]:
    return {"label": p.label, "from": rfc3339(p.start), "to": rfc3339(p.end)}


def name_query(description: str) -> Any:
    """An optional query filter naming an id or label (a queue, a service, ...).

    The pattern documents the rule; storable_request, on every route, enforces it.
    """
    return Query(None, description=description, json_schema_extra={"pattern": NAME_PATTERN})


def storable_request(request: Request) -> None:
    """Refuse (422, naming it) a query or path parameter the store could not hold or match.

    A dependency of the whole app, so no read endpoint can forget it: a NUL in
    `?queue=` used to reach PostgreSQL and come back as a 500.
    """
    errors = [
        {
            "type": "string_unstorable",
            "loc": (where, name),
            "msg": f"must not hold {problem}",
            "input": value,
        }
        for where, items in (
            ("query", request.query_params.multi_items()),
            ("path", list(request.path_params.items())),
        )
        for name, value in items
        if isinstance(value, str) and (problem := unstorable(name) or unstorable(value))
    ]
    if errors:
        raise RequestValidationError(errors)
