"""`opstrack rebuild`: the outbox replayed through the processors gives the live state back.

Events go into the outbox the way ingest stores them and are applied the way the
worker's agents apply them (apply_batch, apply_entity_batch with the reducers of
each topic), shuffled, in small batches, 10 % twice. A rebuild must then leave
the same rows and the same /v1/sli answers; with changed call rules it must give
what the reference in tests/reference.py computes for those rules.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, delete, select, update

from services.core.calendar import BusinessCalendar
from services.core.events import parse_event, topic_for
from services.ingest.batch import to_outbox
from services.processor.calls import apply_batch
from services.processor.entities import apply_entity_batch
from services.processor.reducers import TOPIC_FAMILIES, reducers
from services.processor.replay import clear, replay, start_hour
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.store import outbox
from services.store.incidents import INCIDENTS
from services.store.rebuild import BUCKETS, ENTITY_EVENTS
from services.store.tables import (
    AppliedEvent,
    CallBucketRow,
    CallWithinRow,
    ChangeRow,
    EntityEvent,
    FreezeRow,
    IncidentRow,
    TicketRow,
)
from services.store.tickets import TICKETS
from tests.integration.conftest import serving
from tests.integration.test_entity_worker import change_events, generate_tickets, incident_events
from tests.reference import assert_rows_equal, call_event, expected_calls, generate_calls, utc

pytestmark = pytest.mark.integration

CALLS = generate_calls(500, seed=3, start=utc(2022, 9, 14, 6), hours=48)
ENTITIES = generate_tickets(60, seed=5) + incident_events() + change_events()
SEPTEMBER = (utc(2022, 8, 31, 22), utc(2022, 9, 30, 22))  # the local month, in UTC
FROM = "2022-09-15T11:40:00+02:00"  # rebuilds from 09:00 UTC that day
FROM_HOUR = utc(2022, 9, 15, 9)
QUERIES = [
    ("/v1/sli/calls", {"period": "2022-09", "group_by": "queue,hour"}),
    ("/v1/sli/calls", {"period": "2022-09", "group_by": "municipality,day"}),
    ("/v1/sli/tickets", {"period": "2022", "group_by": "category,priority"}),
    ("/v1/sli/tickets", {"period": "2022-09", "group_by": "municipality"}),
    ("/v1/sli/incidents", {"period": "2022", "group_by": "service"}),
    ("/v1/sli/changes", {"period": "2022", "group_by": "service"}),
]
DERIVED = (CallBucketRow, CallWithinRow, EntityEvent, TicketRow, IncidentRow, ChangeRow, FreezeRow)


def boundary_calls() -> list[dict[str, Any]]:
    """Calls that enter before FROM_HOUR and end after it: their bucket is the earlier hour."""
    out = []
    for n, (kind, wait) in enumerate([("call.answered", 75.0), ("call.abandoned", 48.5)]):
        entered = FROM_HOUR - timedelta(seconds=30)
        i = 90_000 + n
        out.append(call_event(i, "call.queued", entered, "laxa", "Laxå", None))
        out.append(call_event(i, kind, entered + timedelta(seconds=wait), "laxa", "Laxå", wait))
    return out


ALL_CALLS = CALLS + boundary_calls()


@pytest.fixture
def settings(broker: EmbeddedBroker, db_url: str, engine: Engine) -> Settings:
    """Settings of a stack of its own (the API's relay publishes to its own topics)."""
    prefix = f"rb{uuid.uuid4().hex[:8]}-"
    return Settings(database_url=db_url, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix)


def ingest(engine: Engine, settings: Settings, events: list[dict[str, Any]]) -> None:
    rows = to_outbox([parse_event(e) for e in events], settings.topic)
    with engine.begin() as conn:
        outbox.add(conn, rows)


def live(engine: Engine, settings: Settings, events: list[dict[str, Any]], seed: int) -> None:
    """Apply as the worker's agents do: per topic, shuffled, in batches, 10 % redelivered."""
    rnd = random.Random(seed)
    messages = events + rnd.sample(events, len(events) // 10)
    rnd.shuffle(messages)
    family_reducers = reducers(BusinessCalendar() if settings.business_calendar else None)
    by_topic: dict[str, list[bytes]] = {}
    for e in messages:
        by_topic.setdefault(topic_for(e["type"]), []).append(orjson.dumps(e))
    for topic, values in by_topic.items():
        for i in range(0, len(values), 37):
            batch = values[i : i + 37]
            if topic == "calls":
                apply_batch(engine, settings.call_rules, batch)
            else:
                chosen = {f: family_reducers[f] for f in TOPIC_FAMILIES[topic]}
                apply_entity_batch(engine, chosen, batch)


def rebuild(engine: Engine, settings: Settings, since: datetime | None = None) -> int:
    hour = start_hour(since)
    total = clear(engine, hour)
    done = replay(engine, settings, hour, batch_size=97)
    assert not done.invalid, done.invalid[:3]
    assert done.events == total
    return total


def answers(settings: Settings) -> list[Any]:
    with serving(settings) as url:
        out = []
        for path, params in QUERIES:
            r = httpx.get(f"{url}{path}", params=params, timeout=30)
            assert r.status_code == 200, (path, params, r.text)
            out.append(r.json())
        return out


def rows(engine: Engine, table: Any, where: Callable[[Any], Any] | None = None) -> list[Any]:
    t = table.__table__
    query = select(t) if where is None else select(t).where(where(t))
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(query))


def derived(engine: Engine) -> dict[str, list[Any]]:
    """Every derived row, and the ids (not times) of the inbox."""
    out = {m.__tablename__: rows(engine, m) for m in DERIVED}
    return out | {"applied_events": sorted(r[0] for r in rows(engine, AppliedEvent))}


def calls_answer(settings: Settings) -> list[dict[str, Any]]:
    with serving(settings) as url:
        r = httpx.get(
            f"{url}/v1/sli/calls",
            params={"period": "2022-09", "group_by": "hour,queue"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return list(r.json()["rows"])


def test_a_rebuild_gives_back_what_the_processors_made(engine: Engine, settings: Settings) -> None:
    events = ALL_CALLS + ENTITIES
    ingest(engine, settings, events)
    live(engine, settings, events, seed=1)
    assert_rows_equal(
        calls_answer(settings), expected_calls(ALL_CALLS, SEPTEMBER, ("hour", "queue"))
    )
    want_answers, want_rows = answers(settings), derived(engine)

    # Damage the derived state, so that an identical result cannot come from leaving it alone.
    buckets, events_table = BUCKETS, ENTITY_EVENTS
    with engine.begin() as conn:
        conn.execute(delete(buckets).where(buckets.c.hour % 7200 == 0))
        conn.execute(delete(TICKETS))
        conn.execute(delete(events_table).where(events_table.c.family == "change"))
        conn.execute(update(INCIDENTS).values(service="nowhere"))

    assert rebuild(engine, settings) == len({e["id"] for e in events})
    assert derived(engine) == want_rows
    assert answers(settings) == want_answers


def test_a_rebuild_applies_changed_call_rules(engine: Engine, settings: Settings) -> None:
    ingest(engine, settings, ALL_CALLS)
    live(engine, settings, ALL_CALLS, seed=2)
    changed = settings.model_copy(
        update={"short_abandon_seconds": 10.0, "answer_thresholds": (30,)}
    )
    want = expected_calls(
        ALL_CALLS, SEPTEMBER, ("hour", "queue"), short_abandon=10.0, thresholds=(30,)
    )
    with pytest.raises(AssertionError):
        assert_rows_equal(calls_answer(changed), want)  # not before the rebuild

    rebuild(engine, changed)
    assert_rows_equal(calls_answer(changed), want)


def test_a_rebuild_from_a_date_keeps_earlier_hours(engine: Engine, settings: Settings) -> None:
    events = ALL_CALLS + ENTITIES
    ingest(engine, settings, events)
    live(engine, settings, events, seed=3)
    before = derived(engine)
    cut = int(FROM_HOUR.timestamp())
    earlier = {
        m.__tablename__: rows(engine, m, lambda t: t.c.hour < cut)
        for m in (CallBucketRow, CallWithinRow)
    }
    assert earlier["call_buckets"] and len(earlier["call_buckets"]) < len(before["call_buckets"])

    changed = settings.model_copy(update={"short_abandon_seconds": 10.0})
    since = datetime.fromisoformat(FROM)
    replayed = rebuild(engine, changed, since)
    assert replayed == len(
        {e["id"] for e in events if datetime.fromisoformat(e["time"]) >= FROM_HOUR}
    )

    for m in (CallBucketRow, CallWithinRow):  # untouched, to the row
        assert rows(engine, m, lambda t: t.c.hour < cut) == earlier[m.__tablename__]
    gb = ("hour", "queue")
    want = expected_calls(ALL_CALLS, (SEPTEMBER[0], FROM_HOUR), gb) + expected_calls(
        ALL_CALLS, (FROM_HOUR, SEPTEMBER[1]), gb, short_abandon=10.0
    )
    assert_rows_equal(calls_answer(changed), want)
    # Entities: their events from the date on were replayed, with the earlier ones still there.
    after = derived(engine)
    for table in ("entity_events", "tickets", "incidents", "changes", "freezes", "applied_events"):
        assert after[table] == before[table], table


def test_a_worker_applying_meanwhile_counts_each_event_once(
    engine: Engine, settings: Settings
) -> None:
    rnd = random.Random(4)
    events = ALL_CALLS[:]
    rnd.shuffle(events)
    first, second = events[: len(events) // 2], events[len(events) // 2 :]
    ingest(engine, settings, events)  # all accepted; the worker has applied only the first half
    live(engine, settings, first, seed=5)

    errors: list[BaseException] = []

    def rebuilding() -> None:
        try:
            rebuild(engine, settings)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=rebuilding)
    thread.start()
    # Meanwhile the worker goes on: the second half, and redeliveries of the first.
    for i in range(0, len(second), 25):
        batch = second[i : i + 25] + first[i : i + 5]
        apply_batch(engine, settings.call_rules, [orjson.dumps(e) for e in batch])
    thread.join(120)
    assert not thread.is_alive(), "the rebuild did not end within 120 s"
    assert not errors, errors

    assert_rows_equal(
        calls_answer(settings), expected_calls(ALL_CALLS, SEPTEMBER, ("hour", "queue"))
    )
    assert len(rows(engine, AppliedEvent)) == len({e["id"] for e in events})


def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_rebuild_command(engine: Engine, settings: Settings) -> None:
    ingest(engine, settings, ALL_CALLS)
    live(engine, settings, ALL_CALLS, seed=6)
    url = settings.database_url
    env = {"PATH": "/usr/bin:/bin", "OPSTRACK_SHORT_ABANDON_SECONDS": "12.5"}
    before = derived(engine)

    bad = run_cli("rebuild", "--yes", "--from", "next tuesday", "--database-url", url, env=env)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == ["error: 'next tuesday' is not an ISO 8601 time"]

    # Without --yes it asks; no answer changes nothing.
    asked = run_cli("rebuild", "--database-url", url, env=env)
    assert asked.returncode == 1 and "Clear the call buckets (all)" in asked.stdout + asked.stderr
    assert derived(engine) == before

    done = run_cli("rebuild", "--yes", env=env | {"OPSTRACK_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    n = len({e["id"] for e in ALL_CALLS})
    assert f"replayed {n:,} events (all)" in done.stdout
    assert f"{n:,} applied, 0 already applied, 0 invalid" in done.stdout

    short = sum(
        1
        for e in {e["id"]: e for e in ALL_CALLS}.values()
        if e["type"] == "call.abandoned" and e["data"]["wait_seconds"] < 12.5
    )
    got = calls_answer(settings.model_copy(update={"short_abandon_seconds": 12.5}))
    assert sum(r["short_abandoned"] for r in got) == short


def test_rebuild_reports_an_unreachable_database_in_one_line() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    result = run_cli("rebuild", "--yes", "--database-url", url, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database: "), result.stderr
