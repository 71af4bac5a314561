"""Changes and change freezes [topic `changes`]."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.core.contracts.envelope import Data, Envelope, Instant, Name
from services.core.contracts.notice import Notice
from services.core.contracts.text import Text


class ChangeScheduledData(Data):
    entity = "change_id"
    change_id: Name
    service: Name
    planned_start: Instant
    planned_end: Instant
    emergency: bool = False
    title: Text | None = None
    notice: Notice | None = Field(
        None, description="what the public status page says; planned work without one is not shown"
    )


class ChangeImplementedData(Data):
    entity = "change_id"
    change_id: Name
    service: Name
    emergency: bool = False
    exception_approved_by: Name | None = Field(
        None, description="who approved an emergency change inside a freeze (a role, not a name)"
    )


class FreezeDeclaredData(Data):
    entity = "freeze_id"
    freeze_id: Name
    starts_at: Instant
    ends_at: Instant
    scope: list[Name] = Field(
        min_length=1, max_length=200, description='services, or ["*"] for all'
    )
    reason: Text | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> FreezeDeclaredData:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class FreezeLiftedData(Data):
    """The freeze ends at the event's time, if that is before its planned end."""

    entity = "freeze_id"
    freeze_id: Name


class ChangeScheduled(Envelope):
    type: Literal["change.scheduled"]
    data: ChangeScheduledData


class ChangeImplemented(Envelope):
    """The change was carried out at the event's time."""

    type: Literal["change.implemented"]
    data: ChangeImplementedData


class FreezeDeclared(Envelope):
    type: Literal["freeze.declared"]
    data: FreezeDeclaredData


class FreezeLifted(Envelope):
    type: Literal["freeze.lifted"]
    data: FreezeLiftedData


ChangeEvent = ChangeScheduled | ChangeImplemented | FreezeDeclared | FreezeLifted
