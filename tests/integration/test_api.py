"""The HTTP app with its real store (SQLite and PostgreSQL) and the real embedded broker.

Each test builds its own app with its own topic prefix; the outbox is checked through a
second engine on the same database, and Kafka through a plain kafka-python consumer.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from services.api.main import create_app
from services.core.calls import BucketKey, CallBucket
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import free_port
from services.store import calls, outbox, workers
from services.store.outbox import OUTBOX
from tests.builders import call_data, envelope
from tests.conftest import AUTH
from tests.integration.conftest import tolerates_kafka_socket_leak
from tests.integration.testclient import QUIET_TESTCLIENT, TestClient
from tests.reference import NO_CALLS
from tests.waiting import gather, wait_until

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
JSON = "application/json"
DEADLINE_S = 30.0
REPO = Path(__file__).resolve().parents[2]


def call_event(
    n: int,
    kind: str = "call.answered",
    wait: float | None = 12.5,
    at: str = "2022-03-01T10:00:30+00:00",
) -> dict[str, Any]:
    return envelope(
        kind, call_data(f"call-{n}", wait=wait), id=f"evt-{n}", source="test/phone", time=at
    )


def settings_for(db_url: str, bootstrap: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=db_url,
        kafka_bootstrap=bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}-",
        **overrides,
    )


@contextmanager
def running(settings: Settings) -> Iterator[TestClient]:
    """The app with its lifespan (engine, relay thread) running."""
    with TestClient(create_app(settings), headers=AUTH) as client:
        yield client


@pytest.fixture
def app_settings(db_url: str, broker: EmbeddedBroker) -> Settings:
    return settings_for(db_url, broker.bootstrap)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with running(app_settings) as c:
        yield c


def post(client: TestClient, body: object, content_type: str = SINGLE) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post("/v1/events", content=raw, headers={"content-type": content_type})


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        # By event id, from the payload: rows are keyed by (source, id).
        rows = conn.execute(select(OUTBOX))
        return {orjson.loads(row.payload)["id"]: dict(row._mapping) for row in rows}


def outbox_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one())


def backlog(engine: Engine) -> int:
    with engine.connect() as conn:
        return outbox.backlog(conn)


def consume(bootstrap: str, topic: str, expected: int) -> list[ConsumerRecord]:
    """Read the topic from the start until `expected` records came, or fail at the deadline."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        client_id="opstrack-test",
    )
    try:
        return gather(
            lambda: [r for batch in consumer.poll(timeout_ms=200).values() for r in batch],
            expected,
            f"{expected} records on {topic}",
            DEADLINE_S,
        )
    finally:
        consumer.close()


def published(labels: dict[str, str]) -> float | None:
    return REGISTRY.get_sample_value("opstrack_relay_published_events_total", labels)


def relay_errors() -> float:
    return REGISTRY.get_sample_value("opstrack_relay_errors_total") or 0.0


def ingest_counter(client: TestClient, result: str) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "opstrack_ingest_events":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") == result:
                    return sample.value
    return 0.0


# --- ingest ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [SINGLE, JSON, f"{SINGLE}; charset=utf-8"])
def test_single_event_is_accepted_then_a_duplicate(
    client: TestClient, engine: Engine, app_settings: Settings, content_type: str
) -> None:
    event = call_event(1)
    first = post(client, event, content_type)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0, "conflicts": []}

    again = post(client, event, content_type)
    assert again.status_code == 202, again.text
    assert again.json() == {"accepted": 0, "duplicates": 1, "conflicts": []}

    rows = stored(engine)
    assert list(rows) == ["evt-1"]
    row = rows["evt-1"]
    assert row["type"] == "call.answered"
    assert row["topic"] == f"{app_settings.topic_prefix}calls"
    assert row["key"] == "call-1"
    assert (
        row["event_time_ms"] == int(datetime(2022, 3, 1, 10, 0, 30, tzinfo=UTC).timestamp()) * 1000
    )
    payload = orjson.loads(row["payload"])
    assert payload["id"] == "evt-1"
    # As sent; an optional field left out is stored as null (the canonical form).
    assert payload["data"] == event["data"] | {"entered_at": None}


def test_same_id_under_the_other_content_type_is_a_duplicate(
    client: TestClient, engine: Engine
) -> None:
    assert post(client, call_event(1), SINGLE).json() == {
        "accepted": 1,
        "duplicates": 0,
        "conflicts": [],
    }
    assert post(client, call_event(1), JSON).json() == {
        "accepted": 0,
        "duplicates": 1,
        "conflicts": [],
    }
    assert post(client, [call_event(1)], BATCH).json() == {
        "accepted": 0,
        "duplicates": 1,
        "conflicts": [],
    }
    assert outbox_count(engine) == 1


@pytest.mark.parametrize("content_type", [BATCH, JSON])
def test_batch_counts_new_events_and_duplicates(
    client: TestClient, engine: Engine, content_type: str
) -> None:
    assert post(client, call_event(1)).json() == {"accepted": 1, "duplicates": 0, "conflicts": []}
    # evt-1 is stored already; evt-3 comes twice in the batch.
    batch = [call_event(1), call_event(2, "call.abandoned", 3.0), call_event(3), call_event(3)]
    r = post(client, batch, content_type)
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "duplicates": 2, "conflicts": []}
    assert sorted(stored(engine)) == ["evt-1", "evt-2", "evt-3"]


def test_batch_with_invalid_items_is_refused_whole(client: TestClient, engine: Engine) -> None:
    no_wait = call_event(2, wait=None)  # a terminal event without wait_seconds
    naive_time = call_event(4, at="2022-03-01T10:00:30")  # no UTC offset
    unknown = call_event(5, kind="call.transferred")
    batch = [call_event(1), no_wait, call_event(3), naive_time, unknown]
    r = post(client, batch, BATCH)
    assert r.status_code == 422, r.text
    body = r.json()
    assert {(e["index"], e["field"]) for e in body["errors"]} == {
        (1, "data.wait_seconds"),
        (3, "time"),
        (4, "type"),
    }
    assert all(e["message"] for e in body["errors"])
    assert "3 of 5" in body["detail"]
    assert outbox_count(engine) == 0  # not even the valid events 0 and 2


def test_a_huge_bad_batch_lists_a_hundred_errors_and_counts_them_all(
    client: TestClient, engine: Engine
) -> None:
    batch = [call_event(n, wait=-1.0) for n in range(10_000)]  # one error each
    r = post(client, batch, BATCH)
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    assert body["error_count"] == 10_000
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (n, "data.wait_seconds") for n in range(100)
    ]
    assert body["detail"] == (
        "10000 of 10000 events are invalid; nothing was stored; "
        "the first 100 of 10000 errors are listed"
    )
    assert len(r.content) < 50_000  # was 4 MB
    assert outbox_count(engine) == 0


def test_single_invalid_event_names_the_field(client: TestClient, engine: Engine) -> None:
    event = call_event(1, wait=-1.0)
    r = post(client, event, SINGLE)
    assert r.status_code == 422, r.text
    assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(0, "data.wait_seconds")]
    assert outbox_count(engine) == 0


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("id",), "evt\x001"),  # was a 500: PostgreSQL text cannot hold NUL
        (("source",), "/pbx\x00"),
        (("data", "queue"), "a\x00b"),  # was accepted, then stalled the worker for good
        (("data", "municipality"), "Askersund\x1b[31m"),
        (("ext",), "x\x00"),  # an extension attribute: dropped, but refused all the same
    ],
)
def test_an_unstorable_character_is_422_naming_the_field(
    client: TestClient, engine: Engine, where: tuple[str, ...], value: str
) -> None:
    event = call_event(1)
    (event["data"] if where[0] == "data" else event)[where[-1]] = value
    for content_type, body in ((SINGLE, event), (BATCH, [call_event(2), event])):
        r = post(client, body, content_type)
        assert r.status_code == 422, r.text
        index = 0 if content_type == SINGLE else 1
        assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(index, ".".join(where))]
    assert outbox_count(engine) == 0


def _get_routes() -> list[str]:
    """Every documented GET route, read from the app itself so that a new one is covered too."""
    paths = create_app(Settings()).openapi()["paths"]
    return sorted(p for p, ops in paths.items() if "get" in ops and "{" not in p)


@pytest.mark.parametrize("path", _get_routes())
def test_an_unstorable_query_parameter_is_422_naming_it(client: TestClient, path: str) -> None:
    # Raw query strings: %00 is the NUL that reached PostgreSQL as a filter (a 500).
    for query, name in (("period=2022-03&queue=a%00b", "queue"), ("period=2022%0A03", "period")):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert [e["loc"] for e in r.json()["detail"]] == [["query", name]], r.text


def test_an_unstorable_path_parameter_is_422_naming_it(client: TestClient) -> None:
    r = client.post("/v1/webhooks/tickets/glpi%00", json={})
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["path", "source"]]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"specversion": "1.0", "id": ', SINGLE),
        (b"[{}, ", BATCH),
        (b"not json", JSON),
        (b"", JSON),
    ],
)
def test_malformed_json_is_400(
    client: TestClient, engine: Engine, body: bytes, content_type: str
) -> None:
    r = post(client, body, content_type)
    assert r.status_code == 400, r.text
    assert "malformed JSON" in r.json()["detail"]
    assert outbox_count(engine) == 0


def test_wrong_shape_for_the_content_type_is_400(client: TestClient, engine: Engine) -> None:
    assert post(client, [call_event(1)], SINGLE).status_code == 400
    assert post(client, call_event(1), BATCH).status_code == 400
    assert post(client, [], BATCH).status_code == 400
    assert outbox_count(engine) == 0


def test_body_over_the_limit_is_413(db_url: str, broker: EmbeddedBroker, engine: Engine) -> None:
    settings = settings_for(db_url, broker.bootstrap, max_body_bytes=1024)
    big = [call_event(n) for n in range(10)]
    raw = orjson.dumps(big)
    assert len(raw) > 1024
    with running(settings) as client:
        r = post(client, raw, BATCH)
        assert r.status_code == 413, r.text
        assert "1024" in r.json()["detail"]

        # The same without a Content-Length (chunked): the limit holds while reading.
        def chunks() -> Iterator[bytes]:
            for i in range(0, len(raw), 100):
                yield raw[i : i + 100]

        r = client.post("/v1/events", content=chunks(), headers={"content-type": BATCH})
        assert r.status_code == 413, r.text
        assert outbox_count(engine) == 0

        small = orjson.dumps([call_event(1)])
        assert len(small) <= 1024
        assert post(client, small, BATCH).json() == {
            "accepted": 1,
            "duplicates": 0,
            "conflicts": [],
        }


def test_too_many_events_is_413(db_url: str, broker: EmbeddedBroker, engine: Engine) -> None:
    settings = settings_for(db_url, broker.bootstrap, max_batch_events=2)
    with running(settings) as client:
        r = post(client, [call_event(1), call_event(2), call_event(3)], BATCH)
        assert r.status_code == 413, r.text
        assert "3 events" in r.json()["detail"]
        assert outbox_count(engine) == 0
        # At the limit is fine.
        r = post(client, [call_event(1), call_event(2)], BATCH)
        assert r.json() == {"accepted": 2, "duplicates": 0, "conflicts": []}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_unsupported_content_type_is_415(
    client: TestClient, engine: Engine, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/v1/events", content=orjson.dumps(call_event(1)), headers=headers)
    assert r.status_code == 415, r.text
    assert "unsupported content type" in r.json()["detail"]
    assert outbox_count(engine) == 0


# --- relay to Kafka -------------------------------------------------------------------------


def test_relay_publishes_accepted_events_keyed_by_call_id(
    client: TestClient, engine: Engine, app_settings: Settings, broker: EmbeddedBroker
) -> None:
    exited = call_event(3, "call.exited", 40.0)
    exited["data"]["reason"] = "full"
    batch = [call_event(1), call_event(2, "call.queued", wait=None), exited]
    before_post = time.time()
    assert post(client, batch, BATCH).json() == {"accepted": 3, "duplicates": 0, "conflicts": []}
    assert post(client, call_event(1), SINGLE).json() == {
        "accepted": 0,
        "duplicates": 1,
        "conflicts": [],
    }

    wait_until(lambda: backlog(engine) == 0, "outbox backlog drained", DEADLINE_S)
    assert all(row["published"] for row in stored(engine).values())
    # Counted by topic once marked published (the topic is this test's own, from 0).
    calls_topic = {"topic": app_settings.topic("calls")}
    wait_until(lambda: published(calls_topic) == 3, "three events counted as published", DEADLINE_S)
    assert published({"topic": app_settings.topic("tickets")}) == 0  # there from the start
    last = REGISTRY.get_sample_value("opstrack_relay_last_publish_timestamp_seconds")
    assert last is not None and before_post <= last <= time.time()

    records = consume(broker.bootstrap, app_settings.topic("calls"), 3)
    got = sorted((r.key, orjson.loads(r.value)["id"]) for r in records)
    assert got == [(b"call-1", "evt-1"), (b"call-2", "evt-2"), (b"call-3", "evt-3")]
    by_id = {orjson.loads(r.value)["id"]: orjson.loads(r.value) for r in records}
    assert by_id["evt-3"]["data"]["reason"] == "full"
    assert by_id["evt-3"]["subject"] == "call-3"


@tolerates_kafka_socket_leak
def test_events_wait_in_the_outbox_while_the_broker_is_away(
    db_url: str, engine: Engine, kafka_log: list[str]
) -> None:
    port = free_port()  # nothing listens here until the broker is started below
    settings = settings_for(db_url, f"127.0.0.1:{port}")
    errors = relay_errors()
    with running(settings) as client:
        r = post(client, [call_event(1), call_event(2)], BATCH)
        assert r.status_code == 202, r.text
        assert r.json() == {"accepted": 2, "duplicates": 0, "conflicts": []}

        # The relay has tried the broker (its client logged the refused connection)
        # and both events are still pending.
        wait_until(
            lambda: bool(kafka_log), "the relay's client logged a refused connection", DEADLINE_S
        )
        wait_until(
            lambda: relay_errors() > errors, "the relay counted its failed round", DEADLINE_S
        )
        assert backlog(engine) == 2
        assert not any(row["published"] for row in stored(engine).values())
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"] is False

        # An event accepted while the broker is still away waits too.
        assert post(client, call_event(3), SINGLE).json() == {
            "accepted": 1,
            "duplicates": 0,
            "conflicts": [],
        }
        assert backlog(engine) == 3

        with EmbeddedBroker(port=port) as late:
            # kafka-python's reconnect backoff grows to ~25 s, the relay's to 10 s.
            wait_until(lambda: backlog(engine) == 0, "backlog drained once the broker came", 60)
            assert all(row["published"] for row in stored(engine).values())
            records = consume(late.bootstrap, settings.topic("calls"), 3)
            assert sorted((r.key, orjson.loads(r.value)["id"]) for r in records) == [
                (b"call-1", "evt-1"),
                (b"call-2", "evt-2"),
                (b"call-3", "evt-3"),
            ]
            assert client.get("/readyz").json()["checks"]["broker"] is True


LEAK_PROBE = """
import threading
from services.ingest.kafka import ensure_topics
from services.stack.procs import free_port
try:
    ensure_topics(f"127.0.0.1:{free_port()}", {"t-probe-calls": 1})
except Exception as exc:
    print("raised", type(exc).__name__)
print("kafka threads", sum(t.name.startswith("kafka-") for t in threading.enumerate()))
"""


def test_ensure_topics_leaves_no_client_thread_behind_when_the_broker_is_away() -> None:
    # In a child process: the leaked thread would otherwise outlive this test.
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", LEAK_PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    # It looks before it builds a client, so it fails at once and leaves no thread.
    assert out == ["raised KafkaConnectionError", "kafka threads 0"]


@tolerates_kafka_socket_leak
def test_readyz_notices_that_the_broker_went_away(sqlite_url: str, kafka_log: list[str]) -> None:
    def broker_loss_seen() -> None:
        # In a function of its own, so that a failure's traceback does not keep the
        # app (and the kafka client's leaked sockets) alive after the test.
        own = EmbeddedBroker().start()
        try:
            with running(settings_for(sqlite_url, own.bootstrap)) as client:
                wait_until(
                    lambda: client.get("/readyz").json()["checks"]["broker"],
                    "broker up",
                    DEADLINE_S,
                )
                own.stop()
                wait_until(
                    lambda: client.get("/readyz").json()["checks"]["broker"] is False,
                    "/readyz to say broker: false after the broker stopped",
                    DEADLINE_S,  # the idle relay loops once a second
                )
        finally:
            own.stop()

    broker_loss_seen()


# --- read API -------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2022-13", "2022-W54", "yesterday", "2022-02-30"])
def test_sli_calls_bad_period_is_422_naming_it(client: TestClient, period: str) -> None:
    r = client.get("/v1/sli/calls", params={"period": period})
    assert r.status_code == 422, r.text
    assert repr(period) in r.json()["detail"]


def test_sli_calls_needs_a_period(client: TestClient) -> None:
    assert client.get("/v1/sli/calls").status_code == 422


def test_sli_calls_bad_group_by_is_422(client: TestClient) -> None:
    r = client.get("/v1/sli/calls", params={"period": "2022-03", "group_by": "weekday"})
    assert r.status_code == 422
    assert "weekday" in r.json()["detail"]


def test_sli_calls_without_data_is_one_row_of_nulls(client: TestClient) -> None:
    r = client.get("/v1/sli/calls", params={"period": "2022-03"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "period": {
            "label": "2022-03",
            "from": "2022-03-01T00:00:00+01:00",
            "to": "2022-04-01T00:00:00+02:00",  # summer time from 27 March
        },
        "rows": [NO_CALLS],
    }
    # Grouped, no data means no groups.
    r = client.get("/v1/sli/calls", params={"period": "2022-03", "group_by": "queue"})
    assert r.json()["rows"] == []


def test_sli_calls_from_stored_buckets(client: TestClient, engine: Engine) -> None:
    h10 = int(datetime(2022, 3, 1, 10, tzinfo=UTC).timestamp())  # 11:00 in Stockholm
    with engine.begin() as conn:
        calls.add_buckets(
            conn,
            {
                # answered after 10 s and 50 s, abandoned after 2 s (short) and 30 s
                BucketKey(h10, "askersund", "Askersund"): CallBucket(
                    offered=4,
                    answered=2,
                    abandoned=2,
                    short_abandoned=1,
                    answered_within={20: 1, 60: 2},
                    wait_answered_ms=60_000,
                    wait_offered_ms=92_000,
                    abandoned_within={20: 1, 60: 2},
                    talked=2,  # talk times 100 s and 200 s
                    talk_ms=300_000,
                ),
                # exited after 8 s, in the next month: outside 2022-03-01
                BucketKey(h10 + 31 * 86_400, "askersund", "Askersund"): CallBucket(
                    offered=1, exited=1, wait_offered_ms=8_000
                ),
            },
        )
    r = client.get("/v1/sli/calls", params={"period": "2022-03-01", "group_by": "queue,hour"})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [
        {
            "queue": "askersund",
            "bucket_start": "2022-03-01T11:00:00+01:00",
            "offered": 4,
            "answered": 2,
            "abandoned": 2,
            "short_abandoned": 1,
            "exited": 0,
            "answered_within": {"20": 1, "60": 2},
            "service_level": {"20": 1 / 3, "60": 2 / 3},
            "abandon_rate": 1 / 3,
            "asa_seconds": 30.0,
            "avg_wait_seconds": 23.0,
            "talked": 2,
            "aht_seconds": 150.0,
            "abandoned_within": {"20": 1, "60": 2},
            "asterisk_sl": {"20": 1 / 2, "60": 2 / 2},  # within / answered
            "asterisk_sl2": {"20": 2 / 4, "60": 4 / 4},  # (within + ab. within) / 4
        }
    ]
    other = client.get("/v1/sli/calls", params={"period": "2022-03-01", "queue": "hallsberg"})
    assert other.json()["rows"] == [NO_CALLS]


# --- metrics and health ---------------------------------------------------------------------


def test_metrics_count_ingested_events(client: TestClient) -> None:
    page = client.get("/metrics")
    assert page.status_code == 200
    assert "opstrack_ingest_events_total" in page.text
    assert "opstrack_outbox_pending_events" in page.text

    # The registry is per process, so compare before and after.
    accepted = ingest_counter(client, "accepted")
    duplicate = ingest_counter(client, "duplicate")
    rejected = ingest_counter(client, "rejected")
    assert post(client, [call_event(1), call_event(2)], BATCH).status_code == 202
    assert post(client, call_event(1)).status_code == 202
    assert post(client, [call_event(3), call_event(4, wait=None)], BATCH).status_code == 422
    assert ingest_counter(client, "accepted") - accepted == 2
    assert ingest_counter(client, "duplicate") - duplicate == 1
    assert ingest_counter(client, "rejected") - rejected == 2


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_is_503_without_a_worker_heartbeat(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert body["checks"]["worker"] is False
    assert body["checks"]["database"] is True


def test_readyz_turns_200_with_a_consuming_worker(client: TestClient, engine: Engine) -> None:
    # A worker that holds no partition does not count.
    with engine.begin() as conn:
        workers.beat(conn, "worker-idle", 0)
    assert client.get("/readyz").json()["checks"]["worker"] is False

    with engine.begin() as conn:
        workers.beat(conn, "worker-1", 2)
    # The relay connects to the (session) broker in the background.
    wait_until(lambda: client.get("/readyz").status_code == 200, "/readyz 200", DEADLINE_S)
    assert client.get("/readyz").json() == {
        "status": "ready",
        "checks": {"database": True, "broker": True, "worker": True},
    }
