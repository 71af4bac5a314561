"""The API's pipeline metrics on the real store (SQLite and PostgreSQL): the oldest event
no worker has applied, the outbox backlog, and HTTP responses by route template.

Rows go into the outbox with known acceptance times and some are claimed in the
inbox, the way a worker claims what it applies; the expected figures are worked
out by hand from that table.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, insert, text

from services.api.main import create_app
from services.ingest.pipeline_watch import SETTLE_US, PipelineWatch
from services.observability.ingest_metrics import RELAY_LAST_PUBLISH
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.store import inbox, outbox
from services.store.db import now_us
from services.store.outbox import OUTBOX
from tests.builders import call_data, envelope
from tests.conftest import AUTH
from tests.integration.conftest import promtool_lint
from tests.integration.testclient import QUIET_TESTCLIENT, TestClient

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

OLDEST = "opstrack_outbox_oldest_unapplied_timestamp_seconds"


def rows(prefix: str, base_us: int) -> list[dict[str, Any]]:
    """(topic, accepted at, published, applied): what each row is, for the hand count below."""
    table = [
        ("a", "calls", 1_000, True, True),
        ("b", "calls", 2_000, True, False),  # published, not applied: the oldest of calls
        ("c", "calls", 3_000, False, False),  # not even published yet
        ("d", "tickets", 1_500, False, False),  # the oldest of tickets
        ("e", "tickets", 500, True, True),
        ("f", "incidents", 100, True, True),  # incidents: all applied
        ("g", "sla", 50, True, False),  # a notification for others: no processor applies it
    ]
    return [
        {
            "id": f"{prefix}{name}",
            "type": "x.y",
            "topic": f"{prefix}{topic}",
            "key": name,
            "event_time_ms": 0,
            "received_at_us": base_us + at,
            "published": published,
            "payload": "{}",
            "applied": applied,
        }
        for name, topic, at, published, applied in table
    ]


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"


def load(engine: Engine, table: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(OUTBOX), [{k: v for k, v in r.items() if k != "applied"} for r in table]
        )
        inbox.claim(conn, [r["id"] for r in table if r["applied"]])


def ours(oldest: dict[str, int], prefix: str) -> dict[str, int]:
    return {t.removeprefix(prefix): at for t, at in oldest.items()}


def applied_topics(prefix: str) -> list[str]:
    return [f"{prefix}{t}" for t in ("calls", "tickets", "incidents", "changes", "indicators")]


def test_the_oldest_unapplied_event_of_each_topic(engine: Engine, prefix: str) -> None:
    base = 1_600_000_000_000_000
    load(engine, rows(prefix, base))
    with engine.connect() as conn:
        topics = applied_topics(prefix)
        assert ours(outbox.oldest_unapplied(conn, topics), prefix) == {
            "calls": base + 2_000,
            "tickets": base + 1_500,
        }
        # From a mark on: what was accepted before it is not looked at.
        assert ours(outbox.oldest_unapplied(conn, topics, base + 1_600), prefix) == {
            "calls": base + 2_000
        }
        assert ours(outbox.oldest_unapplied(conn, topics, base + 2_001), prefix) == {
            "calls": base + 3_000
        }
        # Asked for, the sla notification is as unapplied as any.
        assert ours(outbox.oldest_unapplied(conn, [f"{prefix}sla"]), prefix) == {"sla": base + 50}
    with engine.begin() as conn:
        inbox.claim(conn, [f"{prefix}b", f"{prefix}d"])
    with engine.connect() as conn:
        assert ours(outbox.oldest_unapplied(conn, topics), prefix) == {"calls": base + 3_000}


def test_the_lookup_reads_the_pending_index_on_sqlite(sqlite_url: str) -> None:
    from services.store.db import make_engine
    from services.store.migrate import init_db

    eng = make_engine(sqlite_url)
    init_db(eng)
    try:
        with eng.connect() as conn:
            query = str(
                outbox.oldest_unapplied_query(["calls", "tickets"], True, 5).compile(
                    conn, compile_kwargs={"literal_binds": True}
                )
            )
            plan = " ".join(r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
    finally:
        eng.dispose()
    # A range on the index, not a scan of the table; the inbox by its primary key.
    assert "USING INDEX ix_outbox_pending (published=? AND received_at_us>?)" in plan, plan
    assert "SCAN outbox" not in plan, plan
    assert (
        "SEARCH applied_events USING COVERING INDEX sqlite_autoindex_applied_events_1 (id=?)"
        in plan
    )


def gauge(topic: str) -> float | None:
    return REGISTRY.get_sample_value(OLDEST, {"topic": topic})


def test_the_watch_sets_a_gauge_per_topic_and_drops_it_when_all_are_applied(
    engine: Engine, prefix: str
) -> None:
    base = now_us() - 3_600_000_000  # an hour ago: older than the settling time
    load(engine, rows(prefix, base))
    watch = PipelineWatch(engine, Settings(database_url="sqlite://", topic_prefix=prefix))
    watch.refresh()
    assert gauge(f"{prefix}calls") == (base + 2_000) / 1e6
    assert gauge(f"{prefix}tickets") == (base + 1_500) / 1e6
    assert gauge(f"{prefix}incidents") is None
    assert gauge(f"{prefix}sla") is None  # never applied by design: not waiting
    backlog = REGISTRY.get_sample_value("opstrack_outbox_pending_events")
    with engine.connect() as conn:
        assert backlog == outbox.backlog(conn)  # c and d of ours, and other tests' rows

    with engine.begin() as conn:
        inbox.claim(conn, [f"{prefix}b", f"{prefix}d"])
    watch.refresh()
    assert gauge(f"{prefix}calls") == (base + 3_000) / 1e6
    assert gauge(f"{prefix}tickets") is None  # all applied: no series, not a stale value

    with engine.begin() as conn:
        inbox.claim(conn, [f"{prefix}c"])
    watch.refresh()
    assert gauge(f"{prefix}calls") is None

    # An event accepted just now, not applied: still found although the mark has
    # moved past the hour-old rows (it stays the settling time behind now).
    fresh = rows(prefix, now_us())[1]
    fresh["id"] = f"{prefix}late"
    load(engine, [fresh])
    watch.refresh()
    assert gauge(f"{prefix}calls") == fresh["received_at_us"] / 1e6
    assert SETTLE_US >= 30_000_000  # at least SQLite's busy timeout (services/store/db.py)


# --- HTTP responses ------------------------------------------------------------------------


@pytest.fixture
def client(db_url: str, broker: EmbeddedBroker) -> Iterator[TestClient]:
    settings = Settings(
        database_url=db_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}-",
    )
    # Server errors answered as 500, as a real server does, instead of raised into the test.
    with TestClient(create_app(settings), headers=AUTH, raise_server_exceptions=False) as c:
        yield c


SOURCE = "/v1/webhooks/tickets/{source}"


def responses(route: str, code_class: str) -> float:
    value = REGISTRY.get_sample_value(
        "opstrack_http_responses_total", {"route": route, "code_class": code_class}
    )
    return value or 0.0


def test_responses_are_counted_by_route_template_and_status_class(
    client: TestClient, engine: Engine
) -> None:
    cases = [
        ("/healthz", "/healthz", "2xx", 200),
        ("/v1/webhooks/tickets/nosuchsource", SOURCE, "4xx", 404),  # no mapping for it
        ("/v1/webhooks/tickets/another", SOURCE, "4xx", 404),
        ("/no/such/path", "unmatched", "4xx", 404),
    ]
    before = {(r, c): responses(r, c) for _, r, c, _ in cases}
    for path, _, _, status in cases:
        r = client.get(path) if "webhooks" not in path else client.post(path, json={})
        assert r.status_code == status, r.text
    assert responses("/healthz", "2xx") - before["/healthz", "2xx"] == 1
    assert responses(SOURCE, "4xx") - before[SOURCE, "4xx"] == 2
    assert responses("unmatched", "4xx") - before["unmatched", "4xx"] == 1
    # The raw path is never a label.
    assert (
        REGISTRY.get_sample_value(
            "opstrack_http_responses_total",
            {"route": "/v1/webhooks/tickets/nosuchsource", "code_class": "4xx"},
        )
        is None
    )


def test_a_server_error_of_ingest_is_counted_as_5xx(client: TestClient, engine: Engine) -> None:
    errors = responses("/v1/events", "5xx")
    # The store refuses the write: the outbox table is gone.
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE outbox"))
    event = envelope(
        "call.queued",
        call_data("c-1"),
        id="evt-5xx",
        source="test/phone",
        time="2022-03-01T10:00:30+00:00",
    )
    r = client.post(
        "/v1/events", json=event, headers={"content-type": "application/cloudevents+json"}
    )
    assert r.status_code == 500
    assert responses("/v1/events", "5xx") - errors == 1


def test_the_api_metrics_pass_promtool(client: TestClient) -> None:
    RELAY_LAST_PUBLISH.value = time.time()  # normally absent until the relay has published
    client.get("/healthz")
    page = client.get("/metrics").text
    for name in (
        "opstrack_http_responses_total",
        "opstrack_relay_errors_total",
        "opstrack_relay_last_publish_timestamp_seconds",
        "opstrack_outbox_pending_events",
    ):
        assert f"\n{name}" in page, name
    # One registry per process: when the worker's metrics are imported too (the whole
    # suite in one process), their documented hours lint finding is allowed, no other.
    assert promtool_lint(page) == []
