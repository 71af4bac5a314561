"""Fault: the broker goes away for a minute while events keep arriving over HTTP.

A dedicated embedded broker (Tansu, memory only) is stopped for 60 s and started
again on the same port, so it comes back empty: no topics, no committed
offsets, and what it held but no worker had applied is gone. Ingest must keep
answering 202 into the outbox all along; afterwards the relay notices the new
broker, re-publishes what no worker has applied, the worker resumes on the
empty topics, and the SLIs equal a reference computed from every event sent.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from sqlalchemy import func, select

from services.ingest.relay import Relay, recreated
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import stop
from services.store import inbox, outbox
from services.store.db import make_engine
from services.store.migrate import init_db
from services.store.outbox import APPLIED, OUTBOX
from tests.integration.conftest import serving, start_worker, tolerates_kafka_socket_leak
from tests.integration.faults import TOKEN, api_settings, applied_count, check_calls
from tests.reference import generate_calls, utc
from tests.waiting import gather, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]

HEADERS = {
    "authorization": f"Bearer {TOKEN}",
    "content-type": "application/cloudevents-batch+json",
}
OUTAGE_S = 60.0
CHUNK, INTERVAL_S = 10, 0.2  # a steady 50 events/s


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """This test's own broker (worker_env takes it): stopping it must not touch other tests."""
    b = EmbeddedBroker(log=tmp_path / "broker.log").start()
    try:
        yield b
    finally:
        b.stop()


class Sender(threading.Thread):
    """Posts the events in small batches at a steady pace until told to stop."""

    def __init__(self, url: str, events: list[dict[str, Any]]) -> None:
        super().__init__(name="event-sender", daemon=True)
        self.url, self.events = url, events
        self.sent: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=HEADERS, timeout=10) as client:
            tick = time.monotonic()
            for start in range(0, len(self.events), CHUNK):
                if self.halt.is_set():
                    return
                chunk = self.events[start : start + CHUNK]
                try:
                    r = client.post("/v1/events", content=orjson.dumps(chunk))
                    self.statuses.append(r.status_code)
                    if r.status_code != 202:
                        self.errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                self.sent += chunk  # a post that failed may still have been stored
                tick += INTERVAL_S
                time.sleep(max(0.0, tick - time.monotonic()))  # the sending pace, not a wait


def published_unapplied(db_url: str) -> int:
    engine = make_engine(db_url)
    applied = select(APPLIED.c.id).where(APPLIED.c.id == OUTBOX.c.id).exists()
    query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.published.is_(True), ~applied)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def readiness(url: str) -> dict[str, bool]:
    return dict(httpx.get(f"{url}/readyz", timeout=5).json()["checks"])


@tolerates_kafka_socket_leak
def test_ingest_accepts_through_a_broker_outage_and_the_backlog_is_applied_after(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path, kafka_log: list[str]
) -> None:
    env, db_url = worker_env, worker_env["OPSTRACK_DATABASE_URL"]
    events = generate_calls(6000, seed=2026, start=utc(2022, 5, 2, 4), hours=36)
    worker_log = tmp_path / "worker.log"
    worker = start_worker(env, worker_log)
    try:
        with serving(api_settings(env)) as url:

            def ready() -> None:
                checks = readiness(url)
                assert all(checks.values()), checks

            wait_for(ready, f"the stack ready before the outage (log {worker_log})", 60)
            sender = Sender(url, events)
            sender.start()

            # Some events go all the way through first, so the old broker holds
            # committed offsets that the new one will not know.
            def some_applied() -> None:
                assert applied_count(db_url) >= 300, f"{applied_count(db_url)} applied"

            wait_for(some_applied, f"300 events applied before the outage (log {worker_log})", 60)
            # Then the worker lags (paused), so that the broker goes down holding
            # published events that no worker has applied: those it loses.
            os.kill(worker.pid, signal.SIGSTOP)
            try:

                def lagging() -> None:
                    n = published_unapplied(db_url)
                    assert n >= 200, f"{n} published events not applied"

                wait_for(lagging, "200 published events the paused worker has not applied", 60)
                broker.stop()
            finally:
                os.kill(worker.pid, signal.SIGCONT)
            lost = published_unapplied(db_url)
            sent_before = len(sender.sent)
            seen: list[dict[str, bool]] = []
            outage_end = time.monotonic() + OUTAGE_S
            while time.monotonic() < outage_end:
                seen.append(readiness(url))
                time.sleep(2.0)  # the outage's length is the fault; readiness sampled meanwhile
            sent_during = len(sender.sent) - sent_before
            broker.start()  # same port, empty
            back_at, sent_back = time.monotonic(), len(sender.sent)

            def sending_again() -> None:
                n = len(sender.sent) - sent_back
                assert n >= 5 * CHUNK, f"{n} events sent since the broker came back"

            # Keep sending to the new broker: five more batches accepted, not a guessed time.
            wait_for(sending_again, "five batches sent to the new broker", 60)
            sender.halt.set()
            sender.join(30)
            assert not sender.is_alive(), "the sender did not stop"

            assert sender.errors == [], sender.errors[:5]
            assert set(sender.statuses) == {202}, sorted(set(sender.statuses))
            assert sent_during >= 0.8 * OUTAGE_S * CHUNK / INTERVAL_S, (
                f"only {sent_during} events sent during the outage"
            )
            assert all(not c["broker"] and c["database"] for c in seen), seen

            try:
                wait_for(
                    check_calls(url, sender.sent),
                    f"SLIs equal to the reference after the outage (logs {tmp_path})",
                    120,
                )
            except AssertionError as exc:
                relay = [line for line in kafka_log if line.startswith("services.")]
                raise AssertionError(
                    f"{exc}\n{published_unapplied(db_url)} published and not applied;"
                    f" the relay said: {relay[-8:]}"
                ) from None
            assert applied_count(db_url) == len({e["id"] for e in sender.sent})
            # The relay did resend what the broker lost (not merely the backlog).
            assert any("sent again" in line for line in kafka_log), kafka_log[-5:]
            print(
                f"broker outage: {lost} published events lost with the broker, "
                f"{sent_during} accepted during the {OUTAGE_S:.0f} s outage, "
                f"{len(sender.sent)} in all; SLIs exact "
                f"{time.monotonic() - back_at:.1f} s after the broker came back"
            )
    finally:
        stop([worker])


def topic_ids(bootstrap: str, topic: str, partitions: int, expected: int) -> list[str]:
    """The event ids on a topic, read from its start until `expected` are there (bounded)."""
    # No consumer group: joining one on Tansu takes seconds, and nothing is committed.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=1000)
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    consumer.seek_to_beginning()
    try:
        got = gather(
            lambda: [orjson.loads(m.value)["id"] for m in consumer],
            expected,
            f"{expected} event ids on {topic}",
            30,
        )
        # One more empty round: anything beyond `expected` would show here.
        got += [orjson.loads(m.value)["id"] for m in consumer]
    finally:
        consumer.close()
    return got


@tolerates_kafka_socket_leak
def test_relay_resends_only_unapplied_events_to_a_broker_that_lost_its_log(
    broker: EmbeddedBroker, sqlite_url: str, kafka_log: list[str]
) -> None:
    settings = Settings(
        database_url=sqlite_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}-",
    )
    topic = settings.topic("calls")
    events = generate_calls(6, seed=3, start=utc(2022, 5, 2, 8), hours=2)  # 12 events
    late = events[10:]  # arrive while the broker is away
    events = events[:10]
    engine = make_engine(sqlite_url)
    init_db(engine)

    def accept(batch: list[dict[str, Any]]) -> None:
        rows = [
            outbox.NewEvent(
                e["id"], e["type"], topic, e["data"]["call_id"], 0, orjson.dumps(e).decode()
            )
            for e in batch
        ]
        with engine.begin() as conn:
            outbox.add(conn, rows)

    accept(events)
    # Driven by hand, not by its thread: every call looks at the topic ids.
    relay = Relay(engine, settings, check_every=0)
    try:
        assert relay.publish_pending() == 10
        applied = {e["id"] for e in events[:4]}
        with engine.begin() as conn:
            inbox.claim(conn, applied)
        # The same broker: nothing is sent again (the path a durable Kafka takes).
        assert relay.publish_pending() == 0
        assert sorted(topic_ids(broker.bootstrap, topic, settings.partitions, 10)) == sorted(
            e["id"] for e in events
        )

        broker.stop()
        accept(late)
        with pytest.raises(KafkaError):
            relay.publish_pending()
        broker.start()  # same port, empty
        # The 6 events no processor applied are published again, with the 2 late ones.
        assert relay.publish_pending() == 8
        assert relay.publish_pending() == 0
        unapplied = sorted(e["id"] for e in events + late if e["id"] not in applied)
        assert sorted(topic_ids(broker.bootstrap, topic, settings.partitions, 8)) == unapplied
    finally:
        relay.stop()
        engine.dispose()


def test_recreated_names_only_known_topics_with_a_new_id() -> None:
    before = {"calls": "a", "tickets": "b", "old": "c", "no-ids": None}
    now = {"calls": "a", "tickets": "B", "fresh": "d", "no-ids": None}
    assert recreated(before, now) == ["tickets"]
    assert recreated({}, now) == []  # the first look knows nothing to compare with
