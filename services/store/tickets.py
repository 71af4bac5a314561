"""Tickets: saving recomputed states, reading the facts that figures need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, or_, select

from services.core.ticket_figures import TicketFacts
from services.core.tickets import TicketState
from services.store.db import from_us, upsert, us
from services.store.tables import TicketRow

TICKETS = TicketRow.__table__  # type: ignore[attr-defined]


def save(conn: Connection, states: Iterable[TicketState]) -> None:
    rows = [
        {
            "ticket_id": s.ticket_id,
            "category": s.category,
            "priority": s.priority,
            "municipality": s.municipality,
            "status": s.status,
            "created_at_us": us(s.created_at),
            "resolved_at_us": us(s.resolved_at),
            "closed_at_us": us(s.closed_at),
            "reopened": s.reopened,
            "handling_hours": s.handling_hours,
            "business_handling_hours": s.business_handling_hours,
        }
        for s in states
    ]
    upsert(conn, TICKETS, rows, ["ticket_id"])


def first_resolutions(conn: Connection, states: Sequence[TicketState]) -> list[TicketState]:
    """The resolved tickets among `states` whose stored row shows no resolution yet:
    neither resolved nor reopened (a reopen means it was resolved before). Each ticket
    is one of them at most once, so the handling-time histogram counts it once, at the
    first resolution the store sees. (A ticket whose resolution and reopen arrive in
    one batch, before its final resolution does, is stored reopened and not counted.)
    """
    resolved = {s.ticket_id: s for s in states if s.resolved_at is not None}
    if not resolved:
        return []
    c = TICKETS.c
    query = select(c.ticket_id).where(
        c.ticket_id.in_(sorted(resolved)), c.resolved_at_us.is_not(None) | (c.reopened > 0)
    )
    seen = set(conn.execute(query).scalars())
    return [s for tid, s in sorted(resolved.items()) if tid not in seen]


def facts(
    conn: Connection, start_us: int, end_us: int, filters: Mapping[str, object | None]
) -> list[TicketFacts]:
    """Tickets created or resolved in [start, end), with the given column filters."""
    c = TICKETS.c
    in_period = or_(
        (c.created_at_us >= start_us) & (c.created_at_us < end_us),
        (c.resolved_at_us >= start_us) & (c.resolved_at_us < end_us),
    )
    conds = [in_period] + [c[k] == v for k, v in filters.items() if v is not None]
    query = select(
        c.category,
        c.priority,
        c.municipality,
        c.created_at_us,
        c.resolved_at_us,
        c.handling_hours,
        c.business_handling_hours,
    ).where(*conds)
    return [
        TicketFacts(
            category=r.category,
            priority=r.priority,
            municipality=r.municipality,
            created_at=from_us(r.created_at_us),
            resolved_at=from_us(r.resolved_at_us),
            handling_hours=r.handling_hours,
            business_handling_hours=r.business_handling_hours,
        )
        for r in conn.execute(query)
    ]


def open_ids(conn: Connection) -> list[str]:
    """Tickets that are open or paused (their SLA clocks may be running)."""
    query = select(TICKETS.c.ticket_id).where(TICKETS.c.status.in_(("open", "paused")))
    return list(conn.execute(query).scalars())
