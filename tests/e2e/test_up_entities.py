"""Tickets, incidents, changes and freezes through `opstrack up`, against hand-worked figures.

The scenario is small enough to work out on paper (the comments show the
arithmetic); the events are sent in a shuffled order, some twice, so the
figures must not depend on arrival order.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import envelope, incident_data, ticket_data
from tests.e2e.stack import OnBroker, Up, post
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

CEST = "+02:00"
N = iter(range(10_000))


def event(kind: str, at: str, data: dict[str, Any]) -> dict[str, Any]:
    return envelope(kind, data, id=f"e2e-{next(N)}", source="test/e2e", time=at + CEST)


def ticket(ticket_id: str, muni: str, *steps: tuple[str, str]) -> list[dict[str, Any]]:
    data = ticket_data(ticket_id, municipality=muni)
    return [event(f"ticket.{kind}", at, data) for kind, at in steps]


def incident(
    iid: str, service: str, opened: str, ack: str, resolved: str, **extra: Any
) -> list[dict[str, Any]]:
    ref = incident_data(iid, service)
    opened_data = ref | {
        "severity": 2,
        "impact": extra.pop("impact", "outage"),
        "municipalities": ["Laxå"],
    }
    return [
        event("incident.opened", opened, opened_data | extra),
        event("incident.acknowledged", ack, ref),
        event("incident.resolved", resolved, ref),
    ]


def change(
    cid: str, service: str, at: str, emergency: bool = False, approver: str | None = None
) -> dict[str, Any]:
    data = {
        "change_id": cid,
        "service": service,
        "emergency": emergency,
        "exception_approved_by": approver,
    }
    return event("change.implemented", at, data)


def scenario() -> list[dict[str, Any]]:
    return [
        # T1, Mon 2 May: 09-15 with a 10-12 pause: 6 h - 2 h = 4 h (business: the same).
        *ticket("T1", "Askersund", ("created", "2022-05-02T09:00:00"), ("paused", "2022-05-02T10:00:00"),
                ("resumed", "2022-05-02T12:00:00"), ("resolved", "2022-05-02T15:00:00")),
        # T2: resolved, reopened, resolved again: counted at the final resolution,
        # 3 May 08:00 -> 4 May 12:00 = 28 h; business 9 h + 4 h = 13 h.
        *ticket("T2", "Hallsberg", ("created", "2022-05-03T08:00:00"), ("resolved", "2022-05-03T10:00:00"),
                ("reopened", "2022-05-04T09:00:00"), ("resolved", "2022-05-04T12:00:00")),
        # T3: Fri 16:00 -> Mon 09:00 = 65 h; business Fri 16-17 + Mon 08-09 = 2 h.
        *ticket("T3", "Laxå", ("created", "2022-05-06T16:00:00"), ("resolved", "2022-05-09T09:00:00")),
        # T4: a pause never resumed ends at the resolution: 4 h - 3 h = 1 h (business 1 h).
        *ticket("T4", "Lekeberg", ("created", "2022-05-10T10:00:00"), ("paused", "2022-05-10T11:00:00"),
                ("resolved", "2022-05-10T14:00:00")),
        # T5: still open, far past its 24 h (priority 3) target.
        *ticket("T5", "Lekeberg", ("created", "2022-05-11T08:00:00")),
        # Network outage 19:00-21:00 (ack after 10 min) and a process-engine outage
        # 20:00-22:30 (ack after 30 min) on 14 June. The economic-assistance
        # e-service depends on the process engine, which depends (via server
        # operations) on the network: its downtime is the union 19:00-22:30.
        *incident("I1", "network", "2022-06-14T19:00:00", "2022-06-14T19:10:00", "2022-06-14T21:00:00"),
        *incident("I2", "processmotor", "2022-06-14T20:00:00", "2022-06-14T20:30:00", "2022-06-14T22:30:00"),
        # The freeze since midsummer covers every service.
        event("freeze.declared", "2022-06-20T09:00:00", {
            "freeze_id": "F1", "starts_at": "2022-06-24T00:00:00" + CEST,
            "ends_at": "2022-08-15T00:00:00" + CEST, "scope": ["*"]}),
        change("C1", "mdm", "2022-07-01T10:00:00"),  # inside the freeze: a violation
        change("C2", "network", "2022-07-05T03:00:00", emergency=True, approver="IT-chef"),  # approved
        change("C3", "m365", "2022-06-10T10:00:00"),  # before the freeze
        # Planned work during the freeze disturbs the network (degraded, not down).
        *incident("I3", "network", "2022-07-05T03:30:00", "2022-07-05T03:35:00", "2022-07-05T04:00:00",
                  impact="degraded", planned_work="C2"),
    ]  # fmt: skip


def get(url: str, path: str, **params: str) -> Any:
    r = httpx.get(f"{url}{path}", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) < 1e-9


def check_tickets(url: str) -> None:
    [row] = get(url, "/v1/sli/tickets", period="2022-05")["rows"]
    assert (row["created"], row["resolved"]) == (5, 4)
    # Handling hours [4, 28, 65, 1]: mean 24.5, median (4 + 28) / 2 = 16,
    # p90 by linear interpolation at rank 0.9 * 3 = 2.7: 28 + 0.7 * (65 - 28) = 53.9.
    h = row["handling_time_hours"]
    assert close(h["mean"], 24.5) and close(h["median"], 16.0) and close(h["p90"], 53.9), h
    # Business hours [4, 13, 2, 1]: mean 5, median (2 + 4) / 2 = 3, p90 4 + 0.7 * 9 = 10.3.
    b = row["business_handling_time_hours"]
    assert close(b["mean"], 5.0) and close(b["median"], 3.0) and close(b["p90"], 10.3), b


def check_incidents(url: str) -> None:
    [total] = get(url, "/v1/sli/incidents", period="2022-06")["rows"]
    # MTTA (10 + 30) / 2 = 20 min; MTTR (120 + 150) / 2 = 135 min.
    assert (total["opened"], total["resolved"]) == (2, 2)
    assert close(total["mtta_minutes"], 20.0) and close(total["mttr_minutes"], 135.0), total
    rows = {
        r["service"]: r
        for r in get(url, "/v1/sli/incidents", period="2022-06", group_by="service")["rows"]
    }
    june = 30 * 24 * 60
    expected = {  # service: (downtime, own, inherited, via)
        "network": (120.0, 120.0, 0.0, []),
        "processmotor": (210.0, 150.0, 60.0, ["network"]),
        "ekonomiskt-bistand": (210.0, 0.0, 210.0, ["network", "processmotor"]),
        "m365": (120.0, 0.0, 120.0, ["network"]),
    }
    for service, (down, own, inherited, via) in expected.items():
        r = rows[service]
        assert close(r["downtime_minutes"], down), (service, r)
        assert close(r["own_downtime_minutes"], own) and close(
            r["inherited_downtime_minutes"], inherited
        )
        assert r["downtime_via"] == via
        assert close(r["availability"], 1 - down / june)


def check_changes(url: str) -> None:
    [row] = get(url, "/v1/sli/changes", period="2022")["rows"]
    assert row == {
        "implemented": 3,
        "violations": 1,  # C1
        "emergency_exceptions": 1,  # C2
        "incidents_during_freeze": 1,  # I3
        "incidents_from_planned_work": 1,  # I3
    }
    violations = get(url, "/v1/changes/violations", period="2022")["violations"]
    assert [(v["change_id"], v["freeze_id"]) for v in violations] == [("C1", "F1")]
    resolved = get(url, "/v1/incidents", status="resolved")["incidents"]
    assert sorted(i["incident_id"] for i in resolved) == ["I1", "I2", "I3"]


@pytest.fixture
def stack(tmp_path: Path, on_broker: OnBroker) -> Iterator[Up]:
    s = Up(
        tmp_path,
        env={"OPSTRACK_CLOCK_INTERVAL_SECONDS": "1"} | on_broker.env,
        kafka=on_broker.kafka,
    )
    yield s
    if s.proc is not None:
        s.stop()


def test_tickets_incidents_and_freezes_end_to_end(stack: Up) -> None:
    events = scenario()
    sent = events + events[::4]  # a quarter of them twice
    random.Random(3).shuffle(sent)  # resolutions before creations, lifts before declarations
    stack.start()
    for i in range(0, len(sent), 7):
        r = post(stack.url, sent[i : i + 7])
        assert r.status_code == 202, r.text

    wait_for(lambda: check_tickets(stack.url), "the tickets as worked by hand")
    wait_for(lambda: check_incidents(stack.url), "the incidents as worked by hand")
    wait_for(lambda: check_changes(stack.url), "the changes as worked by hand")

    # T5's SLA clock has run out: one warning and one breach, raised once through the outbox.
    def sla_raised() -> None:
        with sqlite3.connect(stack.tmp / "opstrack.db") as db:
            rows = db.execute("SELECT payload FROM outbox WHERE type LIKE 'sla.%'")
            ids = sorted(json.loads(r[0])["id"] for r in rows)
        assert ids == ["sla.breached:T5", "sla.warning:T5"]
        metrics = httpx.get(f"http://127.0.0.1:{stack.worker_port}/metrics", timeout=5).text
        assert 'opstrack_tickets_open{priority="3",sla="breached"} 1.0' in metrics

    wait_for(sla_raised, "one SLA warning and one breach for T5", 30)

    # The goal report's summary names the period's major incidents, freezes and violations.
    summary = get(stack.url, "/v1/goals/report", period="2022", format="json")["summary"]
    major = {i["incident_id"]: i for i in summary["major_incidents"]}
    assert sorted(major) == ["I1", "I2", "I3"]  # all severity 2
    assert (major["I1"]["duration_minutes"], major["I2"]["duration_minutes"]) == (120.0, 150.0)
    assert {"e-tjanst-ansokan", "ekonomiskt-bistand"} <= set(major["I2"]["affected"])
    assert [f["freeze_id"] for f in summary["freezes"]] == ["F1"]
    assert [(v["change_id"], v["freeze_id"]) for v in summary["violations"]] == [("C1", "F1")]

    # Restarted, the stack shows the same figures.
    stack.stop()
    stack.start()
    check_tickets(stack.url)
    check_incidents(stack.url)
    check_changes(stack.url)
