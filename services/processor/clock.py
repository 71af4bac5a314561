"""What depends on the time of day: SLA clocks of open tickets, and the live gauges.

Runs on every worker every few seconds. SLA events go into the outbox with an
id derived from the ticket, so each is sent once, however many workers see it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Connection, Engine

from services.core.calendar import BusinessCalendar
from services.core.catalog import Catalog
from services.core.changes import violation
from services.core.contracts.sla import SlaBreached, SlaWarning
from services.core.contracts.text import STORED
from services.core.events import TicketEvent, parse_stored_event_json, topic_for
from services.core.incidents import IncidentState
from services.core.labels import LabelCatalog
from services.core.sla import SlaTargets, sla_elapsed_hours, sla_level
from services.core.status import LEVELS, current_levels
from services.core.tickets import TicketState, ticket_state
from services.observability import processor_metrics as m
from services.settings import Settings
from services.store import changes, entities, incidents, outbox, tickets
from services.store.outbox import NewEvent

# Incident severities (the contract's Severity, 1..4), as the gauges label them.
SEVERITIES = ("1", "2", "3", "4")
PRIORITIES = ("1", "2", "3", "4")  # ticket priorities, the contract's 1..4
SLA_STATES = ("ok", "warning", "breached", "none")  # sla_level's, and none: no target


def tick(
    engine: Engine,
    settings: Settings,
    calendar: BusinessCalendar,
    targets: SlaTargets,
    catalog: Catalog,
    labels: LabelCatalog,
    now: datetime,
) -> None:
    m.SERVICEDESK_OPEN.set(int(calendar.is_open(now)))
    with engine.begin() as conn:
        _sla(conn, settings, calendar, targets, now)
    with engine.connect() as conn:
        _incident_gauges(conn, catalog, labels, now)
        _change_gauges(conn, catalog, labels, now)


def _open_tickets(conn: Connection, calendar: BusinessCalendar | None) -> list[TicketState]:
    keys = {("ticket", i) for i in tickets.open_ids(conn)}
    states = []
    for payloads in entities.payloads_of(conn, keys).values():
        events: list[TicketEvent] = [parse_stored_event_json(p) for p in payloads]  # type: ignore[misc]
        states.append(ticket_state(events, calendar))
    return states


def _sla(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar | None,
    targets: SlaTargets,
    now: datetime,
) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for state in _open_tickets(conn, calendar):
        level = sla_level(state, targets, now, calendar)
        counts[(str(state.priority), str(level or "none"))] += 1
        if level in ("warning", "breached"):
            _raise(conn, settings, state, "sla.warning", targets, now, calendar)
        if level == "breached":
            _raise(conn, settings, state, "sla.breached", targets, now, calendar)
    # 0 for every priority and SLA state: "none breached" is data, not "no data".
    for priority in PRIORITIES:
        for state_name in SLA_STATES:
            counts.setdefault((priority, state_name), 0)
    m.TICKETS_OPEN.clear()
    for (priority, state_name), n in counts.items():
        m.TICKETS_OPEN.labels(priority, state_name).set(n)


def _raise(
    conn: Connection,
    settings: Settings,
    state: TicketState,
    event_type: str,
    targets: SlaTargets,
    now: datetime,
    calendar: BusinessCalendar | None,
) -> None:
    model = SlaWarning if event_type == "sla.warning" else SlaBreached
    clock_calendar = calendar if targets.clock == "business" else None
    # Built from stored events, so under their rule (an old one may hold a character
    # refused at the door today; the worker then dead-letters this event, once).
    event = model.model_validate(
        {
            "specversion": "1.0",
            "id": f"{event_type}:{state.ticket_id}",  # one per ticket: the outbox drops repeats
            "source": "opstrack/processor",
            "type": event_type,
            "time": now,
            "data": {
                "ticket_id": state.ticket_id,
                "category": state.category,
                "priority": state.priority,
                "municipality": state.municipality,
                "target_hours": targets.hours[state.priority],
                "elapsed_hours": round(sla_elapsed_hours(state, now, clock_calendar), 3),
                "clock": targets.clock,
            },
        },
        context={STORED: True},
    )
    new = outbox.add(
        conn,
        [
            NewEvent(
                id=event.dedup_key,
                type=event_type,
                topic=settings.topic(topic_for(event_type)),
                key=state.ticket_id,
                event_time_ms=int(now.timestamp() * 1000),
                payload=event.model_dump_json(),
            )
        ],
    )
    if new:
        m.SLA_EVENTS.labels(event_type, str(state.priority)).inc()


def _incident_gauges(
    conn: Connection, catalog: Catalog, labels: LabelCatalog, now: datetime
) -> None:
    open_now = incidents.unresolved(conn)
    counts = Counter((labels.service(i.service), str(i.severity)) for i in open_now)
    # 0 for every service of the catalog and severity: "nothing open" is data, and
    # sum(opstrack_incidents_open) is then 0 rather than empty when all is well.
    for service in catalog.services:
        for severity in SEVERITIES:
            counts.setdefault((service, severity), 0)
    m.INCIDENTS_OPEN.clear()
    for (service, severity), n in counts.items():
        m.INCIDENTS_OPEN.labels(service, severity).set(n)
    # A service is down while an outage interval of its own is open now; one
    # outside the catalog shows as `other` (it has no dependents to pass it on to).
    down = {labels.service(i.service) for i in open_now if any(e is None for _, e in i.outages)}
    m.SERVICE_DOWN.clear()
    for service in sorted(set(catalog.services) | down):
        m.SERVICE_DOWN.labels(service, "own").set(int(service in down))
        inherited = any(d in down for d in catalog.dependencies(service))
        m.SERVICE_DOWN.labels(service, "dependency").set(int(inherited))
    _unacknowledged_gauges(open_now, labels)
    # The public page's state, for the incidents dashboard's status history.
    work = changes.with_notice(conn, int(now.timestamp() * 1_000_000))
    m.ESERVICE_STATUS.clear()
    for (service, municipality), level in current_levels(catalog, open_now, work, now).items():
        m.ESERVICE_STATUS.labels(service, municipality).set(LEVELS.index(level))


def _unacknowledged_gauges(open_now: list[IncidentState], labels: LabelCatalog) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    oldest: dict[tuple[str, str], float] = {}
    for i in open_now:
        if i.acknowledged_at is None and i.opened_at is not None:
            # str(): as opstrack_incidents_open labels it
            key = (labels.service(i.service), str(i.severity))
            counts[key] += 1
            oldest[key] = min(oldest.get(key, i.opened_at.timestamp()), i.opened_at.timestamp())
    m.INCIDENTS_UNACKNOWLEDGED.clear()
    m.UNACKNOWLEDGED_OLDEST.clear()
    for key, n in counts.items():
        m.INCIDENTS_UNACKNOWLEDGED.labels(*key).set(n)
        m.UNACKNOWLEDGED_OLDEST.labels(*key).set(oldest[key])


def _change_gauges(conn: Connection, catalog: Catalog, labels: LabelCatalog, now: datetime) -> None:
    freezes = changes.all_freezes(conn)
    m.FREEZES_ACTIVE.set(sum(1 for f in freezes if f.active_at(now)))
    per_service = Counter(
        labels.service(c.service)
        for c in changes.implemented(conn)
        if violation(c, freezes) is not None
    )
    for service in catalog.services:  # 0 is data: no violation of that service's freezes
        per_service.setdefault(service, 0)
    m.FREEZE_VIOLATIONS.clear()
    for service, n in per_service.items():
        m.FREEZE_VIOLATIONS.labels(service).set(n)
