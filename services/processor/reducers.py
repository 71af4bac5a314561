"""Per family: from all events of the touched entities to their saved state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection

from services.core.calendar import BusinessCalendar
from services.core.changes import change_state, freeze_state
from services.core.events import APPLIED_TOPICS, Event
from services.core.events import TOPIC_FAMILIES as FAMILIES
from services.core.incidents import incident_state
from services.core.indicators import latest_values
from services.core.tickets import TicketState, ticket_state
from services.processor.entities import Reducer
from services.store import changes, incidents, indicators, tickets

# The entity topics and their families, each applied by a reducer below; calls have
# their own path (services.processor.calls).
TOPIC_FAMILIES: dict[str, frozenset[str]] = {
    topic: FAMILIES[topic] for topic in APPLIED_TOPICS if topic != "calls"
}


def reducers(calendar: BusinessCalendar | None) -> dict[str, Reducer]:
    # The events of one entity are all of its family: parse_batch routed them by type.
    def each(ents: Mapping[str, list[Event]]) -> list[Any]:
        return [cast(Any, evs) for evs in ents.values()]

    def ticket(conn: Connection, ents: Mapping[str, list[Event]]) -> list[TicketState]:
        states = [ticket_state(evs, calendar) for evs in each(ents)]
        first = tickets.first_resolutions(conn, states)  # before save: it reads the old rows
        tickets.save(conn, states)
        return first

    def incident(conn: Connection, ents: Mapping[str, list[Event]]) -> list[TicketState]:
        incidents.save(conn, [incident_state(evs) for evs in each(ents)])
        return []

    def change(conn: Connection, ents: Mapping[str, list[Event]]) -> list[TicketState]:
        changes.save_changes(conn, [change_state(evs) for evs in each(ents)])
        return []

    def freeze(conn: Connection, ents: Mapping[str, list[Event]]) -> list[TicketState]:
        changes.save_freezes(conn, [freeze_state(evs) for evs in each(ents)])
        return []

    def indicator(conn: Connection, ents: Mapping[str, list[Event]]) -> list[TicketState]:
        indicators.save(conn, [v for evs in each(ents) for v in latest_values(evs)])
        return []

    return {
        "ticket": ticket,
        "incident": incident,
        "change": change,
        "freeze": freeze,
        "indicator": indicator,
    }
