"""Incidents [topic `incidents`]: unplanned disruptions of a catalog service."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.core.contracts.envelope import Data, Envelope, Name, Severity
from services.core.contracts.notice import Notice
from services.core.contracts.text import Text

Impact = Literal["outage", "degraded"]


class IncidentRef(Data):
    entity = "incident_id"
    incident_id: Name
    service: Name


class IncidentOpenedData(IncidentRef):
    severity: Severity
    impact: Impact  # an outage counts as downtime; a degraded service does not
    municipalities: list[Name] = Field(default_factory=list, max_length=50)
    planned_work: Name | None = Field(
        None, description="the change_id of planned work that caused it"
    )
    title: Text | None = None
    notice: Notice | None = Field(None, description="what the public status page says")


class IncidentUpdatedData(IncidentRef):
    """A new severity, impact or public notice from the event's time on; omitted fields
    stay as they were."""

    severity: Severity | None = None
    impact: Impact | None = None
    notice: Notice | None = Field(None, description="replaces the public notice")


class IncidentOpened(Envelope):
    type: Literal["incident.opened"]
    data: IncidentOpenedData


class IncidentAcknowledged(Envelope):
    type: Literal["incident.acknowledged"]
    data: IncidentRef


class IncidentUpdated(Envelope):
    type: Literal["incident.updated"]
    data: IncidentUpdatedData


class IncidentResolved(Envelope):
    type: Literal["incident.resolved"]
    data: IncidentRef


IncidentEvent = IncidentOpened | IncidentAcknowledged | IncidentUpdated | IncidentResolved
