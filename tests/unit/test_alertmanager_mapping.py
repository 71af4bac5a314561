"""Tests for services.sources.alertmanager.mapping with the shipped config/alerts.yaml.

Payloads follow Alertmanager's webhook payload version 4 (Alertmanager docs,
"Configuration > webhook_config"): times as Go writes them (RFC 3339 with nanoseconds,
`0001-01-01T00:00:00Z` for an unset endsAt). The expected events are worked out by hand.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from services import config
from services.core.events import parse_event
from services.sources.alertmanager.mapping import AlertSpec, load_alert_spec, map_alerts
from services.sources.mapping import MappingError
from tests.builders import envelope, incident_data

REPO = Path(__file__).resolve().parents[2]
SPEC = load_alert_spec(yaml.safe_load((REPO / "config" / "alerts.yaml").read_text("utf-8")))
SERVICES = frozenset(config.catalog(REPO / "config").services)

FP = "3f2a9c1d0b4e5f67"
INCIDENT = f"alert-{FP}-20220614T170500.123Z"
ALERTMANAGER = "/monitoring/alertmanager"  # the source the mapping names


def alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    resolved = status == "resolved"
    return {
        "status": status,
        "labels": {
            "alertname": "CoreSwitchDown",
            "service": "network",
            "severity": "page",
            "impact": "outage",
            "municipality": "Laxå",
        }
        | labels,
        "annotations": {
            "summary": "Core switch in Laxå does not answer",
            "runbook_url": "https://wiki.example.org/runbooks/coreswitch",
        },
        "startsAt": "2022-06-14T17:05:00.123456789Z",
        "endsAt": "2022-06-14T18:20:30.5Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": FP,
    }


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}/{severity=~"page|ticket"}:{alertname="CoreSwitchDown"}',
        "truncatedAlerts": 0,
        "status": "resolved" if all(a["status"] == "resolved" for a in alerts) else "firing",
        "receiver": "opstrack",
        "groupLabels": {"alertname": "CoreSwitchDown"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def events(*alerts: dict[str, Any], spec: AlertSpec = SPEC) -> list[dict[str, Any]]:
    mapped = map_alerts(payload(*alerts), spec, SERVICES)
    assert mapped.problems == []
    for _, e in mapped.events:
        parse_event(e)  # every event the mapping makes honours the contract
    return [e for _, e in mapped.events]


def problems(*alerts: dict[str, Any], spec: AlertSpec = SPEC) -> list[tuple[int | None, str]]:
    mapped = map_alerts(payload(*alerts), spec, SERVICES)
    assert mapped.events == []
    return [(p.index, p.field) for p in mapped.problems]


def message(*alerts: dict[str, Any]) -> str:
    return " ".join(p.message for p in map_alerts(payload(*alerts), SPEC, SERVICES).problems)


# --- firing and resolved ---------------------------------------------------------------


def test_a_firing_alert_opens_an_incident() -> None:
    assert events(alert()) == [
        envelope(
            "incident.opened",
            incident_data(
                INCIDENT,
                "network",
                severity=1,  # page + outage
                impact="outage",
                municipalities=["Laxå"],
                title="Core switch in Laxå does not answer",
            ),
            id=f"{INCIDENT}-opened",
            source=ALERTMANAGER,
            time="2022-06-14T17:05:00.123456+00:00",
        )
    ]


def test_a_resolved_alert_resolves_it_at_ends_at_and_repeats_the_opening() -> None:
    opened, resolved = events(alert("resolved"))
    assert opened == events(alert())[0]  # same id: a duplicate if the firing was seen
    assert resolved == envelope(
        "incident.resolved",
        incident_data(INCIDENT, "network"),
        id=f"{INCIDENT}-resolved",
        source=ALERTMANAGER,
        time="2022-06-14T18:20:30.500000+00:00",
    )


def test_repeated_notifications_repeat_the_ids() -> None:
    first = events(alert(), alert("resolved"))
    later = copy.deepcopy(alert("resolved"))
    later["annotations"]["summary"] = "changed wording"  # annotations may change; ids do not
    assert [e["id"] for e in first] == [e["id"] for e in events(alert(), later)]
    assert len({e["id"] for e in first}) == 2  # opened (twice, one id) and resolved


def test_a_new_firing_of_the_same_alert_is_a_new_incident() -> None:
    again = alert() | {"startsAt": "2022-06-15T08:00:00Z"}
    (first,), (second,) = events(alert()), events(again)
    assert second["data"]["incident_id"] == f"alert-{FP}-20220615T080000.000Z"
    assert second["id"] != first["id"]


def test_each_alert_of_a_group_is_its_own_incident() -> None:
    other = alert(municipality="Askersund") | {"fingerprint": "0123456789abcdef"}
    out = events(alert(), other)
    assert [e["data"]["municipalities"] for e in out] == [["Laxå"], ["Askersund"]]
    assert len({e["data"]["incident_id"] for e in out}) == 2


# --- labels → incident fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "severity", "impact"),
    [
        ({"severity": "page", "impact": "outage"}, 1, "outage"),
        ({"severity": "page", "impact": "degraded"}, 2, "degraded"),
        ({"severity": "page", "impact": ""}, 2, "degraded"),  # no impact: the default
        ({"severity": "ticket", "impact": "outage"}, 3, "outage"),
        ({"severity": "Ticket", "impact": "Degraded"}, 3, "degraded"),
        ({"severity": "ticket", "incident_severity": "1"}, 1, "outage"),  # explicit wins
        ({"severity": "", "incident_severity": "4"}, 4, "outage"),
    ],
)
def test_severity_and_impact(labels: dict[str, str], severity: int, impact: str) -> None:
    data = events(alert(**labels))[0]["data"]
    assert (data["severity"], data["impact"]) == (severity, impact)


def test_service_from_label_alias_job_or_alertname() -> None:
    def service(**labels: str) -> str:
        return str(events(alert(**labels))[0]["data"]["service"])

    assert service(service="processmotor") == "processmotor"
    assert service(service="SydNet") == "network"  # alias, any case
    assert service(service="", job="processmotor", alertname="X") == "processmotor"
    assert service(service="", job="other", alertname="ProcessEngineDown") == "processmotor"


def test_an_unknown_service_is_refused_with_the_catalog_named() -> None:
    assert problems(alert(service="netwrok")) == [(0, "labels.service")]
    assert "'netwrok' is not in the service catalog (known: e-tjanst-ansokan" in message(
        alert(service="netwrok")
    )
    assert problems(alert(service="", job="unknown", alertname="Nope")) == [(0, "labels.service")]
    # Without a catalog (services=None) any id passes: the caller decides.
    mapped = map_alerts(payload(alert(service="netwrok")), SPEC, None)
    assert mapped.events[0][1]["data"]["service"] == "netwrok"


def test_a_default_service_takes_alerts_no_rule_maps() -> None:
    spec = load_alert_spec({"service": {"default": "serverdrift"}})
    assert events(alert(service=""), spec=spec)[0]["data"]["service"] == "serverdrift"
    # ... but not one whose label names a service outside the catalog.
    assert problems(alert(service="netwrok"), spec=spec) == [(0, "labels.service")]


def test_municipalities_from_a_list_with_aliases() -> None:
    labels = {"municipality": "laxa, Hallsberg,,LAXA, Lekeberg"}
    assert events(alert(**labels))[0]["data"]["municipalities"] == ["Laxå", "Hallsberg", "Lekeberg"]
    assert events(alert(municipality=""))[0]["data"]["municipalities"] == []


def test_title_falls_back_to_the_alert_name_and_is_cut_to_300() -> None:
    no_summary = alert() | {"annotations": {}}
    assert events(no_summary)[0]["data"]["title"] == "CoreSwitchDown"
    long = alert() | {"annotations": {"summary": "x" * 400}}
    assert events(long)[0]["data"]["title"] == "x" * 300


# --- what is refused -------------------------------------------------------------------


LABELS = {"alertname": "A", "service": "network"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labels": LABELS | {"severity": "warning"}}, "labels.severity"),
        ({"labels": LABELS}, "labels.severity"),
        ({"labels": LABELS | {"incident_severity": "5"}}, "labels.incident_severity"),
        ({"labels": LABELS | {"severity": "page", "impact": "down"}}, "labels.impact"),
        ({"labels": {"service": 1}}, "labels"),
        ({"fingerprint": None}, "fingerprint"),
        ({"fingerprint": "../x"}, "fingerprint"),
        ({"fingerprint": f"{FP}\n"}, "fingerprint"),
        ({"status": "pending"}, "status"),
        ({"startsAt": "yesterday"}, "startsAt"),
        ({"startsAt": "2022-06-14T17:05:00"}, "startsAt"),  # no offset
        ({"status": "resolved", "endsAt": "0001-01-01T00:00:00Z"}, "endsAt"),  # unset
        ({"status": "resolved", "endsAt": "2022-06-14T17:00:00Z"}, "endsAt"),  # before start
    ],
)
def test_bad_alerts_are_refused(change: dict[str, Any], field: str) -> None:
    assert problems(alert() | change) == [(0, field)]


def test_one_bad_alert_refuses_the_payload_and_names_its_index() -> None:
    assert problems(alert(), alert(service="netwrok"), alert(severity="x")) == [
        (1, "labels.service"),
        (2, "labels.severity"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "3", "alerts": [alert()]}, "version"),
        ({"alerts": [alert()]}, "version"),
        ({"version": "4", "alerts": []}, "alerts"),
        ({"version": "4", "alerts": {"a": 1}}, "alerts"),
    ],
)
def test_payload_shape(body: dict[str, Any], field: str) -> None:
    mapped = map_alerts(body, SPEC, SERVICES)
    assert [(p.index, p.field) for p in mapped.problems] == [(None, field)]


def test_a_broken_spec_names_the_field() -> None:
    with pytest.raises(MappingError, match=r"severity\.map\.page\.degraded: Field required"):
        load_alert_spec({"severity": {"map": {"page": {"outage": 1}}}})
    with pytest.raises(MappingError, match=r"impact\.default"):
        load_alert_spec({"impact": {"default": "down"}})
    with pytest.raises(MappingError, match=r"servce"):
        load_alert_spec({"servce": {}})


# --- the public notice ------------------------------------------------------------------


def with_annotations(**annotations: str) -> dict[str, Any]:
    a = alert()
    a["annotations"] = a["annotations"] | annotations
    return a


def test_public_notice_from_annotations() -> None:
    (opened,) = events(
        with_annotations(
            public_notice_sv="E-tjänsterna går inte att nå i Laxå.",
            public_affected_sv="Invånare i Laxå.",
            public_action_sv="Vi byter en nätverksswitch.",
            public_notice_en="The e-services cannot be reached in Laxå.",
            public_expected_end="2022-06-14T21:00:00+02:00",
        )
    )
    assert opened["data"]["notice"] == {
        "sv": {
            "what": "E-tjänsterna går inte att nå i Laxå.",
            "affected": "Invånare i Laxå.",
            "action": "Vi byter en nätverksswitch.",
        },
        "en": {"what": "The e-services cannot be reached in Laxå."},
        "expected_end": "2022-06-14T21:00:00+02:00",
    }


def test_no_public_notice_without_its_swedish_text() -> None:
    # The summary is for operators: it never becomes the notice. English alone is not one.
    (opened,) = events(with_annotations(public_notice_en="Down."))
    assert "notice" not in opened["data"]


def test_a_bad_expected_end_is_refused_by_name() -> None:
    bad = with_annotations(public_notice_sv="Nere.", public_expected_end="tomorrow")
    assert problems(bad) == [(0, "annotations.public_expected_end")]
