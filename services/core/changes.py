"""Changes and change freezes: state from events, freeze violations and the change figures.

docs/definitions.md#freeze-violations: a `change.implemented` inside an active freeze whose
scope covers its service is a violation unless it is an emergency with an approver.
All times in the state are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from services.core.contracts.notice import Notice
from services.core.events import ChangeImplemented, ChangeScheduled, FreezeDeclared, FreezeLifted
from services.core.incidents import IncidentState, in_order, utc

_CHANGE_RANK: Mapping[type, int] = {ChangeScheduled: 0, ChangeImplemented: 1}
_FREEZE_RANK: Mapping[type, int] = {FreezeDeclared: 0, FreezeLifted: 1}


@dataclass(frozen=True, slots=True)
class ChangeState:
    change_id: str
    service: str
    implemented_at: datetime | None  # None while only scheduled
    emergency: bool
    exception_approved_by: str | None  # a role, for an emergency change inside a freeze
    planned_start: datetime | None  # None if it was implemented without being scheduled
    planned_end: datetime | None
    title: str | None
    notice: Notice | None = None  # the public notice of the latest schedule
    notice_at: datetime | None = None  # the time of that schedule


def change_state(events: Iterable[ChangeScheduled | ChangeImplemented]) -> ChangeState:
    """The state of one change, a function of the set of its events.

    The plan (times, title) is the latest schedule; the public notice is that of the
    latest schedule that carries one. A change is carried out once: the
    earliest `change.implemented` gives its time, service, emergency flag and approver,
    so an approval cannot be added after the fact by sending the event again.
    """
    ordered = in_order(events, _CHANGE_RANK)
    _one_entity([e.data.change_id for e in ordered], "change")
    plans = [e for e in ordered if isinstance(e, ChangeScheduled)]
    done = next((e for e in ordered if isinstance(e, ChangeImplemented)), None)
    plan = plans[-1] if plans else None
    noticed = [e for e in plans if e.data.notice is not None]
    return ChangeState(
        change_id=ordered[0].data.change_id,
        service=done.data.service if done else ordered[-1].data.service,
        implemented_at=utc(done.time) if done else None,
        emergency=done.data.emergency if done else bool(plan and plan.data.emergency),
        exception_approved_by=done.data.exception_approved_by if done else None,
        planned_start=utc(plan.data.planned_start) if plan else None,
        planned_end=utc(plan.data.planned_end) if plan else None,
        title=plan.data.title if plan else None,
        notice=noticed[-1].data.notice if noticed else None,
        notice_at=utc(noticed[-1].time) if noticed else None,
    )


@dataclass(frozen=True, slots=True)
class FreezeState:
    freeze_id: str
    starts_at: datetime
    ends_at: datetime  # as declared
    lifted_at: datetime | None  # when it was lifted, if it was
    scope: tuple[str, ...]  # service ids, or ("*",) for every service
    reason: str | None

    @property
    def effective_end(self) -> datetime:
        """The declared end, or the lift if earlier; a lift before the start cancels it."""
        if self.lifted_at is None:
            return self.ends_at
        return min(self.ends_at, max(self.starts_at, self.lifted_at))

    def active_at(self, t: datetime) -> bool:
        return self.starts_at <= utc(t) < self.effective_end

    def covers(self, service: str) -> bool:
        return "*" in self.scope or service in self.scope


def freeze_state(events: Iterable[FreezeDeclared | FreezeLifted]) -> FreezeState | None:
    """The state of one freeze, or None while no declaration has arrived.

    The latest declaration (by event time) wins, so a freeze can be extended or
    re-scoped by declaring it again. Only a lift sent at or after that declaration
    applies (an older one ended an earlier declaration); the earliest such lift
    counts. A lift before the declared start cancels the freeze.
    """
    ordered = in_order(events, _FREEZE_RANK)
    _one_entity([e.data.freeze_id for e in ordered], "freeze")
    declared = [e for e in ordered if isinstance(e, FreezeDeclared)]
    if not declared:
        return None
    d = declared[-1]
    made = utc(d.time)
    lifts = [utc(e.time) for e in ordered if isinstance(e, FreezeLifted) and utc(e.time) >= made]
    return FreezeState(
        freeze_id=d.data.freeze_id,
        starts_at=utc(d.data.starts_at),
        ends_at=utc(d.data.ends_at),
        lifted_at=lifts[0] if lifts else None,
        scope=tuple(d.data.scope),
        reason=d.data.reason,
    )


def _one_entity(ids: list[str], what: str) -> None:
    if not ids:
        raise ValueError(f"a {what} needs at least one event")
    if len(set(ids)) > 1:
        raise ValueError(f"events of several {what}s: {sorted(set(ids))}")


def active_freeze(freezes: Iterable[FreezeState], service: str, at: datetime) -> FreezeState | None:
    """The freeze covering the service at that time; of several, the earliest to start."""
    hits = [f for f in freezes if f.active_at(at) and f.covers(service)]
    return min(hits, key=lambda f: (f.starts_at, f.freeze_id), default=None)


def violation(change: ChangeState, freezes: Iterable[FreezeState]) -> FreezeState | None:
    """The freeze the change broke, or None.

    An emergency change with an approver is an allowed exception; an emergency
    without one is still a violation: the approval is what makes it an exception.
    """
    if change.implemented_at is None or _approved_emergency(change):
        return None
    return active_freeze(freezes, change.service, change.implemented_at)


def _approved_emergency(change: ChangeState) -> bool:
    return change.emergency and change.exception_approved_by is not None


class ChangeFigures(TypedDict):
    implemented: int
    violations: int
    emergency_exceptions: int  # approved emergency changes inside a covering freeze
    incidents_during_freeze: int
    incidents_from_planned_work: int


def change_figures(
    changes: Iterable[ChangeState],
    freezes: Iterable[FreezeState],
    incidents: Iterable[IncidentState],
    start: datetime,
    end: datetime,
) -> ChangeFigures:
    """Counts for [start, end): changes by implementation time, incidents by opening time."""
    lo, hi = utc(start), utc(end)
    frozen = list(freezes)
    done = [c for c in changes if c.implemented_at is not None and lo <= c.implemented_at < hi]
    opened = [i for i in incidents if i.opened_at is not None and lo <= i.opened_at < hi]
    return ChangeFigures(
        implemented=len(done),
        violations=sum(1 for c in done if violation(c, frozen) is not None),
        emergency_exceptions=sum(
            1
            for c in done
            if _approved_emergency(c) and _frozen(frozen, c.service, c.implemented_at)
        ),
        incidents_during_freeze=sum(1 for i in opened if _frozen(frozen, i.service, i.opened_at)),
        incidents_from_planned_work=sum(1 for i in opened if i.planned_work is not None),
    )


def _frozen(freezes: list[FreezeState], service: str, at: datetime | None) -> bool:
    return at is not None and active_freeze(freezes, service, at) is not None
