"""Poison pills written straight to a topic (kafka-python, not the API) stop nothing.

Issue 12: a call event with a NUL in its queue was applied on PostgreSQL with a
DataError, retried forever, and every event behind it waited. Now the worker's
contract refuses the NUL (dead letter `invalid_field`), and an event the contract
lets through but the store refuses for good (here a real CHECK constraint on
PostgreSQL, a real trigger on SQLite, standing for any column or constraint
narrower than the contract) is found by splitting its batch and dead-lettered as
`store_rejected`, without a single store retry; the valid events around both are
applied, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from sqlalchemy import text

from services.stack.procs import stop
from services.store.db import make_engine
from tests.builders import call_data, envelope
from tests.integration.conftest import start_worker
from tests.integration.test_deadletter import _read_dead_letters, _samples
from tests.integration.test_processor import PERIOD, rows_now
from tests.reference import assert_rows_equal, expected_calls, generate_calls, utc
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

REFUSED_QUEUE = "poison-queue"  # valid by the contract; the store's constraint refuses it


def _answered(n: int, queue: str) -> dict[str, Any]:
    data = call_data(f"poison-{n}", queue, "Askersund", wait=12)
    return envelope(
        "call.answered",
        data,
        id=f"poison-{n}",
        source="/other/producer",
        time="2022-05-02T09:00:00Z",
    )


def _refuse_in_store(db_url: str) -> None:
    """A real constraint of the store that refuses calls of REFUSED_QUEUE, for good."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text(
                        "ALTER TABLE call_buckets ADD CONSTRAINT no_poison "
                        f"CHECK (queue <> '{REFUSED_QUEUE}')"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE TRIGGER no_poison BEFORE INSERT ON call_buckets "
                        f"WHEN NEW.queue = '{REFUSED_QUEUE}' "
                        "BEGIN SELECT RAISE(ABORT, 'no_poison'); END"
                    )
                )
    finally:
        engine.dispose()


def test_a_poison_event_is_dead_lettered_and_the_events_behind_it_are_applied(
    any_db_worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = any_db_worker_env
    prefix, bootstrap = env["OPSTRACK_TOPIC_PREFIX"], env["OPSTRACK_KAFKA_BOOTSTRAP"]
    topic = f"{prefix}calls"
    db_url = env["OPSTRACK_DATABASE_URL"]
    _refuse_in_store(db_url)

    events = generate_calls(200, seed=12, start=utc(2022, 5, 2, 6), hours=10)
    nul = orjson.dumps(_answered(1, "a\u0000b"))
    refused = orjson.dumps(_answered(2, REFUSED_QUEUE))
    messages = [(e["data"]["call_id"].encode(), orjson.dumps(e)) for e in events]
    # Near the front, so that (nearly) every valid event waits behind a poison one.
    messages.insert(1, (b"poison-1", nul))
    messages.insert(3, (b"poison-2", refused))

    # All on the topic before the worker starts: its first batches hold poison and
    # valid events together.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()

    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        # The reference holds only the valid events: a poison call's bucket is never written.
        want = expected_calls(events, PERIOD, ("queue", "hour"))
        wait_for(
            lambda: assert_rows_equal(rows_now(db_url, ("queue", "hour")), want),
            f"SLIs of the valid events equal to the reference (log: {log})",
            90,
        )

        dead = {
            d["message"]: d for d in _read_dead_letters(bootstrap, f"{prefix}deadletter", 2, log)
        }
        assert set(dead) == {nul.decode(), refused.decode()}, dead
        assert dead[nul.decode()]["kind"] == "invalid_field"
        assert "data.queue" in dead[nul.decode()]["reason"]
        assert dead[refused.decode()]["kind"] == "store_rejected"
        assert "no_poison" in dead[refused.decode()]["reason"]
        assert all(d["topic"] == topic for d in dead.values())

        port = env["OPSTRACK_WORKER_WEB_PORT"]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        counted = _samples(metrics, "opstrack_processor_deadlettered_total")
        mine = {dict(k)["reason"]: n for k, n in counted.items() if ("topic", topic) in k and n}
        assert mine == {"invalid_field": 1, "store_rejected": 1}
        processed = _samples(metrics, "opstrack_processor_events_total")
        assert processed[(("result", "applied"), ("topic", topic))] == len(events)
        assert processed[(("result", "invalid"), ("topic", topic))] == 2
        # Set aside at once, never retried as if the store were away.
        retries = _samples(metrics, "opstrack_processor_store_retries_total")
        assert retries.get((("topic", topic),), 0) == 0
        assert worker.poll() is None, f"the worker stopped (log: {log})"
    finally:
        stop([worker])
