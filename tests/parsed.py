"""Raw test events parsed through the contracts and narrowed to one family.

`parse_event` returns any event; the folds take one family (calls, tickets). A test
that builds call events and folds them says so here, and an event of another family
fails the test with its type named instead of reaching the fold.
"""

from __future__ import annotations

from services.core.events import CallEvent, TicketEvent, parse_event


def parse_call(raw: object) -> CallEvent:
    event = parse_event(raw)
    assert isinstance(event, CallEvent), f"not a call event: {event.type}"
    return event


def parse_ticket(raw: object) -> TicketEvent:
    event = parse_event(raw)
    assert isinstance(event, TicketEvent), f"not a ticket event: {event.type}"
    return event
