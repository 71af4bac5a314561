"""The faust worker on the real embedded broker and PostgreSQL: exact, idempotent, observable."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from services.core.grouping import regroup
from services.core.sli import call_figures
from services.stack.procs import stop
from services.store.calls import sum_buckets
from services.store.db import make_engine
from tests.integration.conftest import promtool_lint, start_worker
from tests.integration.faults import applied_count
from tests.reference import assert_rows_equal, expected_calls, generate_calls, utc
from tests.waiting import gather, wait_for, wait_until

pytestmark = pytest.mark.integration

PERIOD = (utc(2022, 5, 2, 0), utc(2022, 5, 3, 0))


def produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(topic, key=key.encode(), value=value)
    producer.flush()
    producer.close()


def rows_now(db_url: str, group_by: tuple[str, ...]) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            sums = sum_buckets(
                conn,
                int(PERIOD[0].timestamp()),
                int(PERIOD[1].timestamp()),
                by=tuple("hour" if g == "hour" else g for g in group_by),
            )
    finally:
        engine.dispose()
    return [labels | call_figures(b, (20, 60)) for labels, b in regroup(sums, group_by)]


def test_worker_applies_each_event_once_and_dead_letters_the_malformed(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = worker_env
    prefix, bootstrap = env["OPSTRACK_TOPIC_PREFIX"], env["OPSTRACK_KAFKA_BOOTSTRAP"]
    events = generate_calls(400, seed=7, start=utc(2022, 5, 2, 6), hours=12)
    duplicates = events[::10]  # 10 % redelivered, same ids
    messages = [(e["data"]["call_id"], orjson.dumps(e)) for e in events + duplicates]
    messages.append(("junk", b"{not json"))
    messages.append(("bad", orjson.dumps({**events[1], "id": "bad-1", "data": {"call_id": "x"}})))

    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        produce(bootstrap, f"{prefix}calls", messages)
        group_by = ("queue", "hour")
        want = expected_calls(events, PERIOD, group_by)

        def settled() -> None:
            assert_rows_equal(rows_now(env["OPSTRACK_DATABASE_URL"], group_by), want)

        wait_for(settled, f"buckets equal to the reference (log: {log})", 60)

        # Both malformed messages reach the dead-letter topic with a reason.
        consumer = KafkaConsumer(
            f"{prefix}deadletter",
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
            group_id=f"check-{uuid.uuid4().hex[:6]}",
        )
        try:
            dead = gather(lambda: [orjson.loads(m.value) for m in consumer], 2, "dead letters", 30)
        finally:
            consumer.close()
        assert len(dead) == 2
        assert {d["message"][:9] for d in dead} >= {"{not json"}
        assert all(d["reason"] for d in dead)

        # The worker's metrics count each call once and pass promtool's lint.
        port = env["OPSTRACK_WORKER_WEB_PORT"]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        offered = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("opstrack_calls_offered_total{")
        )
        assert offered == 400
        assert promtool_lint(text) == []
    finally:
        stop([worker])


def test_restarted_worker_reconsumes_without_counting_twice(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    """A worker killed mid-stream re-reads uncommitted messages; the inbox makes that harmless."""
    env = worker_env
    prefix, bootstrap = env["OPSTRACK_TOPIC_PREFIX"], env["OPSTRACK_KAFKA_BOOTSTRAP"]
    events = generate_calls(600, seed=11, start=utc(2022, 5, 2, 0), hours=24)
    half = len(events) // 2
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        produce(
            bootstrap,
            f"{prefix}calls",
            [(e["data"]["call_id"], orjson.dumps(e)) for e in events[:half]],
        )
        # Killed once it has applied something: where exactly does not matter, but a
        # worker killed before its first write would test no restart at all.
        db_url = env["OPSTRACK_DATABASE_URL"]
        wait_until(lambda: applied_count(db_url), f"a first event applied (log: {log})")
        worker.kill()
        worker.wait()
        produce(
            bootstrap, f"{prefix}calls", [(e["data"]["call_id"], orjson.dumps(e)) for e in events]
        )
        worker = start_worker(env, log)
        want = expected_calls(events, PERIOD, ("municipality",))

        def settled() -> None:
            assert_rows_equal(rows_now(env["OPSTRACK_DATABASE_URL"], ("municipality",)), want)

        wait_for(settled, f"buckets equal to the reference (log: {log})", 60)
    finally:
        stop([worker])


def test_worker_env_is_isolated() -> None:
    # Guard for the fixtures above: the worker must not inherit a developer's settings.
    assert "OPSTRACK_TOPIC_PREFIX" not in os.environ
