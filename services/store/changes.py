"""Changes and freezes: saving recomputed states and reading them back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, select

from services.core.changes import ChangeState, FreezeState
from services.store.db import from_us, upsert, us
from services.store.incidents import notice_json, notice_of
from services.store.tables import ChangeRow, FreezeRow

CHANGES = ChangeRow.__table__  # type: ignore[attr-defined]
FREEZES = FreezeRow.__table__  # type: ignore[attr-defined]


def save_changes(conn: Connection, states: Iterable[ChangeState]) -> None:
    rows = [
        {
            "change_id": s.change_id,
            "service": s.service,
            "implemented_at_us": us(s.implemented_at),
            "emergency": s.emergency,
            "exception_approved_by": s.exception_approved_by,
            "planned_start_us": us(s.planned_start),
            "planned_end_us": us(s.planned_end),
            "title": s.title,
            "notice": notice_json(s.notice),
            "notice_at_us": us(s.notice_at),
        }
        for s in states
    ]
    upsert(conn, CHANGES, rows, ["change_id"])


def save_freezes(conn: Connection, states: Iterable[FreezeState | None]) -> None:
    # A freeze with only a lift so far has no state yet: nothing to save.
    rows = [
        {
            "freeze_id": s.freeze_id,
            "starts_at_us": us(s.starts_at),
            "ends_at_us": us(s.ends_at),
            "lifted_at_us": us(s.lifted_at),
            "scope": orjson.dumps(list(s.scope)).decode(),
            "reason": s.reason,
        }
        for s in states
        if s is not None
    ]
    upsert(conn, FREEZES, rows, ["freeze_id"])


def _change(r: Any) -> ChangeState:
    return ChangeState(
        change_id=r.change_id,
        service=r.service,
        implemented_at=from_us(r.implemented_at_us),
        emergency=r.emergency,
        exception_approved_by=r.exception_approved_by,
        planned_start=from_us(r.planned_start_us),
        planned_end=from_us(r.planned_end_us),
        title=r.title,
        notice=notice_of(r.notice),
        notice_at=from_us(r.notice_at_us),
    )


def _freeze(r: Any) -> FreezeState:
    return FreezeState(
        freeze_id=r.freeze_id,
        starts_at=from_us(r.starts_at_us),  # type: ignore[arg-type]
        ends_at=from_us(r.ends_at_us),  # type: ignore[arg-type]
        lifted_at=from_us(r.lifted_at_us),
        scope=tuple(orjson.loads(r.scope)),
        reason=r.reason,
    )


def implemented(
    conn: Connection, start_us: int | None = None, end_us: int | None = None
) -> list[ChangeState]:
    c = CHANGES.c
    query = select(CHANGES).where(c.implemented_at_us.is_not(None))
    if start_us is not None:
        query = query.where(c.implemented_at_us >= start_us)
    if end_us is not None:
        query = query.where(c.implemented_at_us < end_us)
    return [_change(r) for r in conn.execute(query.order_by(c.implemented_at_us))]


def all_changes(conn: Connection) -> list[ChangeState]:
    """Every change, scheduled or implemented."""
    return [_change(r) for r in conn.execute(select(CHANGES).order_by(CHANGES.c.change_id))]


def all_freezes(conn: Connection) -> list[FreezeState]:
    return [_freeze(r) for r in conn.execute(select(FREEZES).order_by(FREEZES.c.starts_at_us))]


def with_notice(conn: Connection, ending_after_us: int) -> list[ChangeState]:
    """Changes with a public notice whose planned work ends after the given time."""
    c = CHANGES.c
    query = select(CHANGES).where(c.notice.is_not(None), c.planned_end_us > ending_after_us)
    return [_change(r) for r in conn.execute(query.order_by(c.planned_start_us, c.change_id))]
