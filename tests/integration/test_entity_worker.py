"""The worker's entity path end to end: Kafka topics -> faust worker -> PostgreSQL rows.

A shuffled mix of ticket, incident, change and freeze events (10 % sent twice) goes to
the real embedded broker; a `python -m services.cli worker` subprocess must leave the
rows that the core functions give for the same events. The core has its own hand-worked
tests; this one checks the transport and storage path.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from services.core.calendar import BusinessCalendar
from services.core.changes import change_state, freeze_state
from services.core.events import parse_event, topic_for
from services.core.incidents import incident_state
from services.core.tickets import TicketState, ticket_state
from services.stack.procs import stop
from services.store import changes, incidents
from services.store.db import make_engine
from services.store.tickets import TICKETS
from tests.builders import envelope
from tests.integration.conftest import promtool_lint, start_worker
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

T = TypeVar("T")


# --- the events -----------------------------------------------------------------------------


def event(kind: str, when: datetime, data: dict[str, Any], n: int) -> dict[str, Any]:
    entity = next(iter(data.values()))
    return envelope(kind, data, id=f"{entity}:{n}:{kind}", source="/test/worker", time=when)


def generate_tickets(n: int, seed: int) -> list[dict[str, Any]]:
    """n tickets in September 2022: pauses (some never resumed), reopens, closes, open ones."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        data = {
            "ticket_id": f"SD-2022-{i:06d}",
            "category": rnd.choice(["Behörighet", "Skrivare", "E-post", "Telefoni"]),
            "priority": rnd.randint(1, 4),
            "municipality": rnd.choice(["Askersund", "Hallsberg", "Laxå", "Lekeberg"]),
        }
        t = datetime(2022, 9, 1, 6, tzinfo=UTC) + timedelta(minutes=rnd.randrange(0, 29 * 24 * 60))
        events = [("ticket.created", t)]

        def later(t: datetime) -> datetime:
            return t + timedelta(minutes=rnd.randrange(1, 3 * 24 * 60))

        for _ in range(rnd.choice([0, 0, 1, 2])):
            t = later(t)
            events.append(("ticket.paused", t))
            if rnd.random() < 0.15:
                break  # paused until it is resolved, or still paused
            t = later(t)
            events.append(("ticket.resumed", t))
        if rnd.random() > 0.2:
            t = later(t)
            events.append(("ticket.resolved", t))
            if rnd.random() < 0.3:
                t = later(t)
                events.append(("ticket.reopened", t))
                t = later(t)
                events.append(("ticket.resolved", t))
            if rnd.random() < 0.5:
                t = later(t)
                events.append(("ticket.closed", t))
        out += [event(kind, at, data, k) for k, (kind, at) in enumerate(events)]
    return out


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def incident_events() -> list[dict[str, Any]]:
    def inc(iid: str, service: str, **extra: Any) -> dict[str, Any]:
        return {"incident_id": iid, "service": service, **extra}

    return [
        event(
            "incident.opened",
            at("2022-06-01 10:00"),
            inc("INC-A", "network", severity=2, impact="outage", municipalities=["Laxå"]),
            0,
        ),
        event("incident.acknowledged", at("2022-06-01 10:12"), inc("INC-A", "network"), 1),
        event(
            "incident.updated",
            at("2022-06-01 11:00"),
            inc("INC-A", "network", impact="degraded"),
            2,
        ),
        event("incident.resolved", at("2022-06-01 13:30"), inc("INC-A", "network"), 3),
        event(
            "incident.opened",
            at("2022-06-02 08:00"),
            inc("INC-B", "processmotor", severity=3, impact="degraded", title="Långsam"),
            0,
        ),
        event(
            "incident.updated",
            at("2022-06-02 09:00"),
            inc("INC-B", "processmotor", severity=1, impact="outage"),
            1,
        ),
        event(
            "incident.opened",
            at("2022-06-27 20:45"),
            inc("INC-C", "m365", severity=2, impact="outage", planned_work="CHG-1"),
            0,
        ),
        event("incident.acknowledged", at("2022-06-27 20:50"), inc("INC-C", "m365"), 1),
        event("incident.resolved", at("2022-06-27 23:00"), inc("INC-C", "m365"), 2),
        event(
            "incident.opened",
            at("2022-07-04 07:00"),
            inc("INC-D", "mdm", severity=4, impact="degraded"),
            0,
        ),
    ]


def change_events() -> list[dict[str, Any]]:
    def chg(cid: str, service: str, **extra: Any) -> dict[str, Any]:
        return {"change_id": cid, "service": service, **extra}

    def plan(start: str, end: str, **extra: Any) -> dict[str, Any]:
        return {"planned_start": at(start).isoformat(), "planned_end": at(end).isoformat(), **extra}

    def frz(fid: str, starts: str, ends: str, scope: list[str]) -> dict[str, Any]:
        return {
            "freeze_id": fid,
            "starts_at": at(starts).isoformat(),
            "ends_at": at(ends).isoformat(),
            "scope": scope,
        }

    return [
        event(
            "freeze.declared",
            at("2022-06-10 09:00"),
            frz("FRZ-MID", "2022-06-23 22:00", "2022-08-14 22:00", ["network", "m365"]),
            0,
        ),
        event(
            "freeze.declared",
            at("2022-09-01 08:00"),
            frz("FRZ-JUL", "2022-12-20 00:00", "2023-01-05 00:00", ["*"]),
            0,
        ),
        event("freeze.lifted", at("2022-12-28 10:00"), {"freeze_id": "FRZ-JUL"}, 1),
        event(
            "change.scheduled",
            at("2022-06-15 09:00"),
            chg("CHG-1", "m365", **plan("2022-06-27 20:00", "2022-06-27 22:00", title="Patch")),
            0,
        ),
        event("change.implemented", at("2022-06-27 20:30"), chg("CHG-1", "m365"), 1),
        event(
            "change.implemented",
            at("2022-07-01 03:00"),
            chg("CHG-2", "network", emergency=True, exception_approved_by="IT-chef"),
            0,
        ),
        event("change.implemented", at("2022-08-20 18:00"), chg("CHG-3", "processmotor"), 0),
        event(
            "change.scheduled",
            at("2022-08-25 09:00"),
            chg("CHG-4", "serverdrift", **plan("2022-09-10 18:00", "2022-09-10 20:00")),
            0,
        ),
        event(
            "change.scheduled",
            at("2022-12-01 09:00"),
            chg("CHG-5", "network", **plan("2022-12-22 18:00", "2022-12-22 19:00")),
            0,
        ),
        event("change.implemented", at("2022-12-22 18:05"), chg("CHG-5", "network"), 1),
    ]


# --- what the store should hold, from the core functions ----------------------------------


def grouped(events: list[dict[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    """family -> entity id -> parsed events (distinct by id)."""
    out: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for e in {e["id"]: e for e in events}.values():
        parsed = parse_event(e)
        out[e["type"].split(".")[0]][parsed.data.entity_id].append(parsed)
    return out


def micros(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp()) * 1_000_000  # whole seconds only


def ticket_row(s: TicketState) -> dict[str, Any]:
    return {
        "ticket_id": s.ticket_id,
        "category": s.category,
        "priority": s.priority,
        "municipality": s.municipality,
        "status": s.status,
        "created_at_us": micros(s.created_at),
        "resolved_at_us": micros(s.resolved_at),
        "closed_at_us": micros(s.closed_at),
        "reopened": s.reopened,
        "handling_hours": s.handling_hours,
        "business_handling_hours": s.business_handling_hours,
    }


def assert_ticket_rows_equal(
    got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]
) -> None:
    assert got.keys() == want.keys(), f"{len(got)} ticket rows, expected {len(want)}"
    for tid, w in want.items():
        g = got[tid]
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] == pytest.approx(v, abs=1e-9), (tid, k, g[k], v)
            else:
                assert g[k] == v, (tid, k, g[k], v)


def metric_samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """{sorted label pairs: value} of one metric's samples in the exposition format."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) :].rsplit(" ", 1)
            out[tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels)))] = float(value)
    return out


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs.items()))


# --- the test -------------------------------------------------------------------------------


def test_worker_stores_the_states_of_a_shuffled_mix_with_duplicates(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = worker_env
    prefix, bootstrap = env["OPSTRACK_TOPIC_PREFIX"], env["OPSTRACK_KAFKA_BOOTSTRAP"]
    db_url = env["OPSTRACK_DATABASE_URL"]
    events = generate_tickets(50, seed=3) + incident_events() + change_events()
    rnd = random.Random(5)
    messages = events + rnd.sample(events, len(events) // 10)  # 10 % sent twice, same ids
    rnd.shuffle(messages)

    families = grouped(events)
    calendar = BusinessCalendar()
    want_tickets = {
        tid: ticket_row(ticket_state(evs, calendar)) for tid, evs in families["ticket"].items()
    }
    want_incidents = {iid: incident_state(evs) for iid, evs in families["incident"].items()}
    want_changes = {cid: change_state(evs) for cid, evs in families["change"].items()}
    want_freezes = sorted(
        (s for evs in families["freeze"].values() if (s := freeze_state(evs)) is not None),
        key=lambda f: f.starts_at,
    )
    # The mix covers what it is meant to.
    assert len(want_tickets) == 50
    statuses = Counter(r["status"] for r in want_tickets.values())
    assert {"open", "paused", "resolved", "closed"} <= statuses.keys(), statuses
    assert any(r["reopened"] for r in want_tickets.values())
    assert any(i.resolved_at is None and i.outages for i in want_incidents.values())
    assert len(want_freezes) == 2 and want_freezes[1].lifted_at is not None

    log = tmp_path / "worker.log"
    url = f"http://127.0.0.1:{env['OPSTRACK_WORKER_WEB_PORT']}/metrics"
    topics = {f"{prefix}{t}" for t in ("tickets", "incidents", "changes")}

    def consumed() -> float:
        """Messages the worker has taken from our topics (applied, duplicate or invalid)."""
        samples = metric_samples(httpx.get(url, timeout=5).text, "opstrack_processor_events_total")
        return sum(v for k, v in samples.items() if dict(k)["topic"] in topics)

    started = time.monotonic()
    worker = start_worker(env, log)
    try:
        # Three chunks, each consumed before the next is sent, so most entities get their
        # events over several batches, out of order.
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        third = len(messages) // 3 + 1
        for i in range(0, len(messages), third):
            for e in messages[i : i + third]:
                key = parse_event(e).data.entity_id
                topic = f"{prefix}{topic_for(e['type'])}"
                producer.send(topic, key=key.encode(), value=orjson.dumps(e))
            producer.flush()
            sent = min(i + third, len(messages))

            def caught_up(sent: int = sent) -> None:
                try:
                    assert consumed() >= sent
                except httpx.TransportError as exc:  # the worker's web server is not up yet
                    raise AssertionError(exc) from None

            wait_for(caught_up, f"{sent} messages consumed (log: {log})", 60)
        producer.close()

        engine = make_engine(db_url)

        def settled() -> None:
            with engine.connect() as conn:
                got_tickets = {r.ticket_id: dict(r._mapping) for r in conn.execute(select(TICKETS))}
                got_incidents = incidents.overlapping(conn, 0, 2**62)
                got_changes = {c.change_id: c for c in changes.all_changes(conn)}
                got_implemented = changes.implemented(conn)
                got_freezes = changes.all_freezes(conn)
            assert_ticket_rows_equal(got_tickets, want_tickets)
            assert {i.incident_id: i for i in got_incidents} == want_incidents
            assert got_changes == want_changes
            assert got_implemented == sorted(
                (c for c in want_changes.values() if c.implemented_at is not None),
                key=lambda c: c.implemented_at or 0,
            )
            assert got_freezes == want_freezes

        try:
            wait_for(settled, f"entity rows equal to the core's states (log: {log})", 60)
        finally:
            engine.dispose()
        settled_after = time.monotonic() - started

        # Each distinct event is counted once, by type; the exposition passes promtool.
        want_types = {
            labels(type=t): float(n) for t, n in Counter(e["type"] for e in events).items()
        }

        def counted() -> str:
            text = httpx.get(url, timeout=5).text
            assert metric_samples(text, "opstrack_entity_events_total") == want_types
            return text

        text = wait_for(counted, "opstrack_entity_events_total per type", 30)
        processed = metric_samples(text, "opstrack_processor_events_total")
        for name in ("tickets", "incidents", "changes"):
            distinct = sum(1 for e in events if topic_for(e["type"]) == name)
            sent = sum(1 for e in messages if topic_for(e["type"]) == name)
            topic = f"{prefix}{name}"
            assert processed[labels(topic=topic, result="applied")] == distinct
            # A redelivery after a rebalance could add to these, never take away.
            assert processed[labels(topic=topic, result="duplicate")] >= sent - distinct
            assert processed[labels(topic=topic, result="invalid")] == 0
        batches = metric_samples(text, "opstrack_processor_batch_duration_seconds_count")
        assert batches[labels(topic=f"{prefix}tickets")] >= 3  # one per chunk at least
        assert promtool_lint(text) == []
        print(f"{len(messages)} messages settled {settled_after:.1f}s after the worker started")
    finally:
        stop([worker])
