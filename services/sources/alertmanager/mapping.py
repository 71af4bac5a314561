"""Alertmanager webhooks (payload version 4) → incident events, by config/alerts.yaml.

Pure. Each alert in the payload is one incident: a firing alert opens it at `startsAt`,
a resolved one resolves it at `endsAt`. The incident id is `alert-<fingerprint>-<startsAt>`:
the fingerprint (a hash of the alert's labels) names the alert, and `startsAt` one
firing of it. Alertmanager keeps `startsAt` while an alert fires and repeats it in the
resolved notification, so the two pair up; a later firing of the same alert has a new
`startsAt` and is a new incident. Keyed on the fingerprint alone, a flapping alert would
be one incident from its first firing to its last resolution, the quiet gaps counted
as downtime.

Event ids are `<incident id>-opened` / `-resolved`, so Alertmanager's repeated
notifications repeat ids and the outbox acknowledges them without counting them. A
resolved alert also carries the opening (same id): if opstrack missed the firing
notification, the incident still gets its start.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.core.contracts.envelope import FIRST_YEAR, LAST_YEAR, Severity
from services.core.contracts.incidents import Impact
from services.sources.mapping import event_id, load_spec

_IMPACTS: tuple[Impact, ...] = ("outage", "degraded")
_FINGERPRINT = re.compile(r"[0-9A-Za-z]{1,64}")  # it becomes part of ids
# Go writes nanoseconds; Python keeps microseconds.
_NANOS = re.compile(r"(\.\d{6})\d+")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceRule(_Rule):
    """Where an alert's catalog service comes from, tried in this order."""

    label: str = "service"
    map: dict[str, str] = Field(default_factory=dict)  # label value → catalog id (aliases)
    job: dict[str, str] = Field(default_factory=dict)  # no service label: the `job` label
    alertname: dict[str, str] = Field(default_factory=dict)  # then the `alertname` label
    default: str | None = None  # then this; None refuses the alert


class ByImpact(_Rule):
    """A severity that may depend on the impact: a paging outage is worse than a slowdown."""

    outage: Severity
    degraded: Severity

    @model_validator(mode="before")
    @classmethod
    def _one_for_both(cls, v: Any) -> Any:
        # `ticket: 3` is short for {outage: 3, degraded: 3}; one shape keeps errors readable.
        return {"outage": v, "degraded": v} if isinstance(v, int) else v


class SeverityRule(_Rule):
    explicit_label: str = "incident_severity"  # 1-4 on the alert rule wins
    label: str = "severity"
    # Label value → severity, or severity by impact ({outage: 1, degraded: 2}).
    map: dict[str, ByImpact] = Field(
        default_factory=lambda: {
            "page": ByImpact(outage=1, degraded=2),
            "ticket": ByImpact(outage=3, degraded=3),
        }
    )
    default: Severity | None = None  # for a value not in the map, or no label


class ImpactRule(_Rule):
    label: str = "impact"
    default: Impact = "degraded"


class MunicipalitiesRule(_Rule):
    label: str = "municipality"
    split: str = ","
    map: dict[str, str] = Field(default_factory=dict)  # label value → name used in opstrack


class NoticeRule(_Rule):
    """The public notice from annotations: <prefix>notice_sv (what does not work; without
    it there is no notice), <prefix>notice_en, <prefix>affected_sv/_en,
    <prefix>action_sv/_en and <prefix>expected_end (RFC 3339)."""

    prefix: str = "public_"


class AlertSpec(_Rule):
    source: str = "/monitoring/alertmanager"  # the CloudEvents source of the events
    service: ServiceRule = ServiceRule()
    severity: SeverityRule = SeverityRule()
    impact: ImpactRule = ImpactRule()
    municipalities: MunicipalitiesRule = MunicipalitiesRule()
    notice: NoticeRule = NoticeRule()


def load_alert_spec(data: Mapping[str, Any]) -> AlertSpec:
    return load_spec(AlertSpec, data)


@dataclass(frozen=True, slots=True)
class AlertProblem:
    index: int | None  # the alert's index in `alerts`; None for the payload as a whole
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Mapped:
    events: list[tuple[int, dict[str, Any]]]  # (alert index, event not yet validated)
    problems: list[AlertProblem]


def map_alerts(
    payload: Mapping[str, Any], spec: AlertSpec, services: Collection[str] | None = None
) -> Mapped:
    """The events of every alert, or (if any alert is wrong) every problem and no events.

    `services` are the catalog's ids; a service outside them is a problem, so a typo
    on an alert rule does not start a service of its own.
    """
    if payload.get("version") != "4":
        got = payload.get("version")
        return Mapped([], [AlertProblem(None, "version", f"{got!r}: only version '4' is known")])
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return Mapped([], [AlertProblem(None, "alerts", "must be a non-empty list")])
    events: list[tuple[int, dict[str, Any]]] = []
    problems: list[AlertProblem] = []
    for index, alert in enumerate(alerts):
        try:
            events.extend((index, e) for e in _alert_events(alert, spec, services))
        except _Bad as bad:
            problems.append(AlertProblem(index, bad.field, bad.message))
    return Mapped([], problems) if problems else Mapped(events, [])


class _Bad(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _alert_events(
    alert: object, spec: AlertSpec, services: Collection[str] | None
) -> list[dict[str, Any]]:
    if not isinstance(alert, Mapping):
        raise _Bad("(alert)", "must be an object")
    labels = _strings(alert, "labels")
    annotations = _strings(alert, "annotations")
    fingerprint = alert.get("fingerprint")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise _Bad("fingerprint", f"{fingerprint!r} is not an Alertmanager fingerprint")
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise _Bad("status", f"{status!r} is neither 'firing' nor 'resolved'")
    starts = _time(alert, "startsAt")
    incident_id = f"alert-{fingerprint}-{_stamp(starts)}"
    service = _service(labels, spec.service, services)
    impact = _impact(labels, spec.impact)
    opened = {
        "incident_id": incident_id,
        "service": service,
        "severity": _severity(labels, impact, spec.severity),
        "impact": impact,
        "municipalities": _municipalities(labels, spec.municipalities),
        "title": (annotations.get("summary") or labels.get("alertname") or incident_id)[:300],
    }
    notice = _notice(annotations, spec.notice)
    if notice is not None:
        opened["notice"] = notice
    events = [_event(spec, incident_id, "opened", starts, opened)]
    if status == "resolved":
        ends = _time(alert, "endsAt")
        if ends < starts:
            raise _Bad("endsAt", f"{ends.isoformat()} is before startsAt {starts.isoformat()}")
        ref = {"incident_id": incident_id, "service": service}
        events.append(_event(spec, incident_id, "resolved", ends, ref))
    return events


def _event(
    spec: AlertSpec, incident_id: str, step: str, t: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id(incident_id, step),
        "source": spec.source,
        "type": f"incident.{step}",
        "time": t.isoformat(),
        "data": data,
    }


def _strings(alert: Mapping[str, Any], key: str) -> dict[str, str]:
    value = alert.get(key) or {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise _Bad(key, "must be an object of strings")
    return {str(k): v for k, v in value.items()}


def _time(alert: Mapping[str, Any], key: str, field: str | None = None) -> datetime:
    raw = alert.get(key)
    field = field or key
    try:
        t = datetime.fromisoformat(_NANOS.sub(r"\1", str(raw)))
    except ValueError:
        raise _Bad(field, f"{raw!r} is not an RFC 3339 time") from None
    # Go's zero time (year 1) is how Alertmanager writes "not set".
    if t.tzinfo is None or t.year < FIRST_YEAR:
        raise _Bad(field, f"{raw!r} is not set, or has no UTC offset")
    if t.year > LAST_YEAR:  # year 9999 would overflow on its way to UTC
        raise _Bad(field, f"{raw!r} is after {LAST_YEAR}")
    return t


def _stamp(t: datetime) -> str:
    u = t.astimezone(UTC)
    return f"{u:%Y%m%dT%H%M%S}.{u.microsecond // 1000:03d}Z"


def _get(table: Mapping[str, Any], key: str) -> Any:
    """A table entry, its keys compared without case (label values are often typed by hand)."""
    folded = {str(k).casefold(): v for k, v in table.items()}
    return folded.get(key.strip().casefold())


def _service(labels: dict[str, str], rule: ServiceRule, known: Collection[str] | None) -> str:
    value = labels.get(rule.label, "").strip()
    if value:
        service, where = _get(rule.map, value) or value, f"labels.{rule.label}"
    elif (by_job := _get(rule.job, labels.get("job", ""))) is not None:
        service, where = by_job, "labels.job"
    elif (by_name := _get(rule.alertname, labels.get("alertname", ""))) is not None:
        service, where = by_name, "labels.alertname"
    elif rule.default is not None:
        service, where = rule.default, "service.default"
    else:
        raise _Bad(
            f"labels.{rule.label}",
            "is missing, and neither the job nor the alertname is mapped to a service "
            "(service.job / service.alertname in config/alerts.yaml)",
        )
    if known is not None and service not in known:
        raise _Bad(
            where,
            f"service {service!r} is not in the service catalog "
            f"(known: {', '.join(sorted(known))}); map it under service.map in config/alerts.yaml",
        )
    return str(service)


def _impact(labels: dict[str, str], rule: ImpactRule) -> Impact:
    value = labels.get(rule.label, "").strip().casefold()
    if not value:
        return rule.default
    for impact in _IMPACTS:
        if value == impact:
            return impact
    raise _Bad(f"labels.{rule.label}", f"{value!r} is neither 'outage' nor 'degraded'")


def _severity(labels: dict[str, str], impact: Impact, rule: SeverityRule) -> int:
    explicit = labels.get(rule.explicit_label, "").strip()
    if explicit:
        if explicit not in ("1", "2", "3", "4"):
            raise _Bad(f"labels.{rule.explicit_label}", f"{explicit!r} is not 1-4")
        return int(explicit)
    value = labels.get(rule.label, "").strip()
    mapped = _get(rule.map, value) if value else None
    if isinstance(mapped, ByImpact):
        return mapped.outage if impact == "outage" else mapped.degraded
    if rule.default is not None:
        return rule.default
    known = ", ".join(repr(k) for k in rule.map)
    got = f"{value!r} is not mapped" if value else "is missing"
    raise _Bad(f"labels.{rule.label}", f"{got} (known: {known}); or set {rule.explicit_label}")


def _notice(annotations: dict[str, str], rule: NoticeRule) -> dict[str, Any] | None:
    """The notice the alert rule wrote for the public, or None: an alert's summary and
    description are written for operators and are never made public by themselves."""

    def text(lang: str) -> dict[str, str] | None:
        got = {
            key: annotations.get(f"{rule.prefix}{name}_{lang}", "").strip()
            for key, name in (("what", "notice"), ("affected", "affected"), ("action", "action"))
        }
        return {k: v for k, v in got.items() if v} if got["what"] else None

    sv = text("sv")
    if sv is None:
        return None
    notice: dict[str, Any] = {"sv": sv}
    if (en := text("en")) is not None:
        notice["en"] = en
    end = annotations.get(f"{rule.prefix}expected_end", "").strip()
    if end:
        notice["expected_end"] = _time(
            {"end": end}, "end", f"annotations.{rule.prefix}expected_end"
        ).isoformat()
    return notice


def _municipalities(labels: dict[str, str], rule: MunicipalitiesRule) -> list[str]:
    names = (m.strip() for m in labels.get(rule.label, "").split(rule.split))
    return list(dict.fromkeys(str(_get(rule.map, m) or m) for m in names if m))
