"""Tickets (ärenden) [topic `tickets`]: created → (paused ⇄ resumed) → resolved → closed, may reopen.

Every ticket event carries the ticket's category, priority and municipality, so
an event that arrives before the ticket's `created` can still be attributed.
"""

from __future__ import annotations

from typing import Literal

from services.core.contracts.envelope import Data, Envelope, Name, Priority


class TicketData(Data):
    entity = "ticket_id"
    ticket_id: Name
    category: Name
    priority: Priority
    municipality: Name


class TicketCreated(Envelope):
    type: Literal["ticket.created"]
    data: TicketData


class TicketPaused(Envelope):
    """The clock stops (waiting for the user or a supplier) until `ticket.resumed`."""

    type: Literal["ticket.paused"]
    data: TicketData


class TicketResumed(Envelope):
    type: Literal["ticket.resumed"]
    data: TicketData


class TicketResolved(Envelope):
    type: Literal["ticket.resolved"]
    data: TicketData


class TicketReopened(Envelope):
    """The same ticket continues; it is counted again only at its final resolution."""

    type: Literal["ticket.reopened"]
    data: TicketData


class TicketClosed(Envelope):
    type: Literal["ticket.closed"]
    data: TicketData


TicketEvent = (
    TicketCreated | TicketPaused | TicketResumed | TicketResolved | TicketReopened | TicketClosed
)
