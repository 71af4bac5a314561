"""SLA clock events [topic `sla`], emitted by opstrack itself for tickets still open."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.core.contracts.envelope import Data, Envelope, Name, Priority


class SlaData(Data):
    entity = "ticket_id"
    ticket_id: Name
    category: Name
    priority: Priority
    municipality: Name
    target_hours: float = Field(gt=0, allow_inf_nan=False)
    elapsed_hours: float = Field(ge=0, allow_inf_nan=False)
    clock: Literal["calendar", "business"]


class SlaWarning(Envelope):
    """75 % of the priority's target has passed and the ticket is still open."""

    type: Literal["sla.warning"]
    data: SlaData


class SlaBreached(Envelope):
    """The target has passed and the ticket is still open."""

    type: Literal["sla.breached"]
    data: SlaData


SlaEvent = SlaWarning | SlaBreached
