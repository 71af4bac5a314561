"""Applying ticket, incident, change, freeze and indicator events: recompute each entity.

An entity's state is a pure function of the set of its events (services/core),
so the processor stores each new event, reloads all events of the entities it
touched, and saves their recomputed state, all in one transaction with the
inbox record. Late, out-of-order or repeated events then give the same state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from services.core.events import Event, parse_stored_event_json
from services.core.tickets import TicketState
from services.processor.parsing import family, parse_batch
from services.store import entities, inbox
from services.store.db import us

# Given all events of each touched entity (entity id -> events), save their state and
# return the tickets resolved for the first time (observed once the batch commits).
Reducer = Callable[[Connection, Mapping[str, list[Event]]], list[TicketState]]


@dataclass(slots=True)
class EntityBatchResult:
    applied: list[Event] = field(default_factory=list)
    duplicates: int = 0
    invalid: list[tuple[bytes, str]] = field(default_factory=list)
    first_resolved: list[TicketState] = field(default_factory=list)


def apply_entity_batch(
    engine: Engine, reducers: Mapping[str, Reducer], values: list[bytes]
) -> EntityBatchResult:
    events, invalid = parse_batch(values, frozenset(reducers))
    with engine.begin() as conn:
        fresh = inbox.claim(conn, [e.dedup_key for e in events])
        applied = [e for e in events if e.dedup_key in fresh]
        entities.add(conn, [_stored(e) for e in applied])
        touched = {(family(e.type), _entity(e)) for e in applied}
        # Locked before reading: a batch that added events of the same entity
        # commits first, and its events are then seen here.
        entities.lock(conn, touched)
        grouped: dict[str, dict[str, list[Event]]] = defaultdict(dict)
        for (fam, entity_id), payloads in entities.payloads_of(conn, touched).items():
            grouped[fam][entity_id] = [parse_stored_event_json(p) for p in payloads]
        first_resolved = []
        for fam in sorted(grouped):
            first_resolved += reducers[fam](conn, grouped[fam])
    duplicates = len(values) - len(invalid) - len(applied)
    return EntityBatchResult(applied, duplicates, invalid, first_resolved)


def _entity(e: Event) -> str:
    return e.data.entity_id


def _stored(e: Event) -> entities.StoredEvent:
    return entities.StoredEvent(
        id=e.dedup_key,
        family=family(e.type),
        entity_id=_entity(e),
        type=e.type,
        time_us=us(e.time) or 0,
        payload=e.model_dump_json(),
    )
