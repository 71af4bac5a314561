"""What a report is made of. Everything is passed in: rendering reads no database and no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from services.core.evaluation import Evaluation
from services.core.goals import Text
from services.core.staffing_plan import PeriodStaffing


@dataclass(frozen=True)
class MajorIncident:
    incident_id: str
    service: str
    title: str | None
    severity: int | None
    opened_at: datetime
    resolved_at: datetime | None  # None while it is still open
    duration_minutes: float | None  # None while it is still open
    affected: list[str] = field(default_factory=list)  # the services that depend on `service`
    # Service id -> {"sv": ..., "en": ...}: the catalog's public names, where it has them.
    public_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def shown(self, service_id: str, lang: str) -> str:
        """A service as the report names it: its public name if it has one, else its id."""
        return self.public_names.get(service_id, {}).get(lang, service_id)


@dataclass(frozen=True)
class FreezeInfo:
    freeze_id: str
    starts_at: datetime
    effective_end: datetime  # the declared end, or the lift if earlier
    scope: list[str]  # service ids, or ["*"] for every service
    reason: str | None


@dataclass(frozen=True)
class ViolationInfo:
    change_id: str
    service: str
    implemented_at: datetime
    freeze_id: str  # the freeze the change broke


@dataclass(frozen=True)
class Summary:
    major_incidents: list[MajorIncident] = field(default_factory=list)
    freezes: list[FreezeInfo] = field(default_factory=list)
    violations: list[ViolationInfo] = field(default_factory=list)
    # Service id -> {"sv": ..., "en": ...}: names for the freezes' and changes' services.
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    def shown(self, service_id: str, lang: str) -> str:
        """A service as the report names it: its catalog name if known, else its id."""
        return self.names.get(service_id, {}).get(lang, service_id)


@dataclass(frozen=True)
class ReportInput:
    period_label: str  # as the user gave it: 2022-T2, 2022-08, ...
    period_from: date
    period_to: date  # the last day of the period, inclusive
    evaluation: Evaluation
    area: Text | None  # the målområde the goals belong to
    summary: Summary
    generated_at: datetime
    # What the statuses were judged on (the goals file's judge_on): every status says it.
    judged_on: Literal["forecast", "current"] = "forecast"
    # Indicator id -> each month's own value (the SLI over that month alone, in the
    # period), for the indicators the streams feed; months with no value are left out.
    trends: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    # Service-level indicator id -> the agent-hours a week its target needed for the
    # period's calls (Erlang C) against the talk time a week; left out without calls.
    staffing: dict[str, PeriodStaffing] = field(default_factory=dict)
