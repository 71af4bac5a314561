"""Incidents: saving recomputed states and reading them back as core states."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from services.core.contracts.notice import Notice
from services.core.incidents import IncidentState
from services.store.db import from_us, upsert, us
from services.store.tables import IncidentRow

INCIDENTS = IncidentRow.__table__  # type: ignore[attr-defined]


def save(conn: Connection, states: Iterable[IncidentState]) -> None:
    rows = [
        {
            "incident_id": s.incident_id,
            "service": s.service,
            "severity": s.severity,
            "impact": s.impact,
            "municipalities": orjson.dumps(list(s.municipalities)).decode(),
            "planned_work": s.planned_work,
            "title": s.title,
            "opened_at_us": us(s.opened_at),
            "acknowledged_at_us": us(s.acknowledged_at),
            "resolved_at_us": us(s.resolved_at),
            "outages": orjson.dumps([[us(a), us(b)] for a, b in s.outages]).decode(),
            "notice": notice_json(s.notice),
            "notice_at_us": us(s.notice_at),
        }
        for s in states
    ]
    upsert(conn, INCIDENTS, rows, ["incident_id"])


def _state(r: Any) -> IncidentState:
    return IncidentState(
        incident_id=r.incident_id,
        service=r.service,
        severity=r.severity,
        impact=r.impact,
        municipalities=tuple(orjson.loads(r.municipalities)),
        planned_work=r.planned_work,
        title=r.title,
        opened_at=from_us(r.opened_at_us),
        acknowledged_at=from_us(r.acknowledged_at_us),
        resolved_at=from_us(r.resolved_at_us),
        outages=tuple((from_us(a), from_us(b)) for a, b in orjson.loads(r.outages)),  # type: ignore[misc]
        notice=notice_of(r.notice),
        notice_at=from_us(r.notice_at_us),
    )


def notice_json(notice: Notice | None) -> str | None:
    return None if notice is None else notice.model_dump_json(exclude_none=True)


def notice_of(stored: str | None) -> Notice | None:
    return None if stored is None else Notice.model_validate_json(stored)


def overlapping(
    conn: Connection, start_us: int, end_us: int, filters: Mapping[str, object | None] | None = None
) -> list[IncidentState]:
    """Incidents that were open at some time in [start, end), or opened before it and unresolved."""
    c = INCIDENTS.c
    conds = [
        c.opened_at_us < end_us,
        or_(c.resolved_at_us.is_(None), c.resolved_at_us >= start_us),
    ]
    conds += [c[k] == v for k, v in (filters or {}).items() if v is not None]
    return [_state(r) for r in conn.execute(select(INCIDENTS).where(*conds))]


def unresolved(conn: Connection, service: str | None = None) -> list[IncidentState]:
    c = INCIDENTS.c
    query = select(INCIDENTS).where(c.resolved_at_us.is_(None), c.opened_at_us.is_not(None))
    if service is not None:
        query = query.where(c.service == service)
    return [_state(r) for r in conn.execute(query.order_by(c.opened_at_us))]


def resolved(conn: Connection, service: str | None = None, limit: int = 500) -> list[IncidentState]:
    c = INCIDENTS.c
    query = select(INCIDENTS).where(c.resolved_at_us.is_not(None))
    if service is not None:
        query = query.where(c.service == service)
    return [_state(r) for r in conn.execute(query.order_by(c.resolved_at_us.desc()).limit(limit))]
