"""Malformed messages written straight to a topic by another producer (kafka-python, not
the ingest API): each reaches the dead-letter topic with its reason, is counted in
`opstrack_processor_deadlettered_total{topic,reason}`, and the worker goes on with the
valid events around them, whose SLIs equal the reference.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from services.stack.procs import stop
from tests.builders import call_data, envelope, ticket_data
from tests.integration.conftest import start_worker
from tests.integration.test_processor import PERIOD, rows_now
from tests.reference import assert_rows_equal, expected_calls, generate_calls, utc
from tests.waiting import gather, wait_for

pytestmark = pytest.mark.integration

QUOTE = 64 * 1024  # how much of a message a dead letter quotes (services/processor/app.py)
# The reason label's values, written out here: the set is part of the metric's contract.
REASONS = (
    "empty",
    "not_json",
    "not_an_event",
    "unknown_type",
    "wrong_topic",
    "invalid_field",
    "processing_failed",
    "store_rejected",
)


def _call(n: int, **data: Any) -> dict[str, Any]:
    return envelope(
        "call.answered",
        call_data(f"bad-{n}", wait=12, **data),
        id=f"bad-{n}",
        source="/other/producer",
        time="2022-05-02T09:00:00Z",
    )


def _ticket() -> dict[str, Any]:
    return _call(9) | {"type": "ticket.created", "data": ticket_data("T-1", "konto", 2, "Laxå")}


huge_queue = "q" * 300_000  # over the 200-character limit, and over the quote limit
# (key, value, kind label, words the reason must hold: the field at fault, where one applies)
BAD: list[tuple[bytes | None, bytes | None, str, str]] = [
    (b"junk", b"{not json", "not_json", "Invalid JSON"),
    (b"bytes", b"\xff\xfe\x00garbage", "not_json", "Invalid JSON"),
    (b"array", b"[1, 2, 3]", "not_an_event", "object"),
    (b"number", b"42", "not_an_event", "object"),
    (b"type", orjson.dumps(_call(1) | {"type": "call.teleported"}), "unknown_type", "type:"),
    (
        b"notype",
        orjson.dumps({k: v for k, v in _call(2).items() if k != "type"}),
        "unknown_type",
        "type:",
    ),
    (b"neg", orjson.dumps(_call(3, wait_seconds=-5)), "invalid_field", "data.wait_seconds"),
    (
        b"inf",
        orjson.dumps(_call(4)).replace(b'"wait_seconds":12', b'"wait_seconds":1e400'),
        "invalid_field",
        "data.wait_seconds",
    ),
    (
        b"big",
        orjson.dumps(_call(5)).replace(b'"wait_seconds":12', b'"wait_seconds":' + b"9" * 40),
        "invalid_field",
        "data.wait_seconds",
    ),
    (
        b"time",
        orjson.dumps(_call(6) | {"time": "9999-12-31T23:59:59-12:00"}),
        "invalid_field",
        "time",
    ),
    (b"extra", orjson.dumps(_call(7, caller="0701234567")), "invalid_field", "data.caller"),
    (b"huge", orjson.dumps(_call(8, queue=huge_queue)), "invalid_field", "data.queue"),
    (b"T-1", orjson.dumps(_ticket()), "wrong_topic", "does not belong"),
    (b"empty", b"", "empty", "(event)"),
    (b"tombstone", None, "empty", "(event)"),
    (None, b"{not json either", "not_json", "Invalid JSON"),  # no key at all
]


def _quoted(value: bytes | None) -> str | None:
    return None if value is None else value[:QUOTE].decode(errors="replace")


def test_malformed_messages_are_dead_lettered_counted_and_passed_over(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = worker_env
    prefix, bootstrap = env["OPSTRACK_TOPIC_PREFIX"], env["OPSTRACK_KAFKA_BOOTSTRAP"]
    topic = f"{prefix}calls"
    events = generate_calls(300, seed=21, start=utc(2022, 5, 2, 6), hours=10)
    # The bad messages go in among the valid ones, so batches hold both.
    messages: list[tuple[bytes | None, bytes | None]] = [
        (e["data"]["call_id"].encode(), orjson.dumps(e)) for e in events
    ]
    for i, (key, value, _, _) in enumerate(BAD):
        messages.insert(1 + i * (len(messages) // len(BAD)), (key, value))
    # A valid event without a key is still a valid event.
    keyless = events[-1]
    messages.remove((keyless["data"]["call_id"].encode(), orjson.dumps(keyless)))
    messages.append((None, orjson.dumps(keyless)))

    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=2**21)
        for key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()

        want = expected_calls(events, PERIOD, ("queue", "hour"))
        wait_for(
            lambda: assert_rows_equal(
                rows_now(env["OPSTRACK_DATABASE_URL"], ("queue", "hour")), want
            ),
            f"SLIs of the valid events equal to the reference (log: {log})",
            90,
        )

        dead = _read_dead_letters(bootstrap, f"{prefix}deadletter", len(BAD), log)
        by_message = {(d["message"], d["bytes"]): d for d in dead}
        assert len(by_message) == len(BAD), [d["message"][:40] for d in dead if d["message"]]
        for key, value, kind, words in BAD:
            d = by_message.get((_quoted(value), 0 if value is None else len(value)))
            assert d is not None, f"no dead letter for {key!r}"
            assert d["topic"] == topic
            assert d["kind"] == kind, (key, d)
            assert words in d["reason"], (key, d["reason"])

        # The worker counts each by topic and kind; the valid ones as applied.
        want_counts: dict[str, int] = {}
        for _, _, kind, _ in BAD:
            want_counts[kind] = want_counts.get(kind, 0) + 1
        port = env["OPSTRACK_WORKER_WEB_PORT"]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        got = _samples(text, "opstrack_processor_deadlettered_total")
        mine = {labels: n for labels, n in got.items() if ("topic", topic) in labels}
        # Every reason of the topic is exported (from 0, for alerts); these ones counted.
        assert {dict(labels)["reason"] for labels in mine} == set(REASONS)
        assert {dict(k)["reason"]: n for k, n in mine.items() if n} == want_counts
        applied = _samples(text, "opstrack_processor_events_total")
        assert applied[(("result", "applied"), ("topic", topic))] == len(events)
        assert applied[(("result", "invalid"), ("topic", topic))] == len(BAD)
        assert worker.poll() is None, f"the worker stopped (log: {log})"
    finally:
        stop([worker])


def _read_dead_letters(bootstrap: str, topic: str, want: int, log: Path) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
        group_id=f"check-{uuid.uuid4().hex[:6]}",
        fetch_max_bytes=2**22,
        max_partition_fetch_bytes=2**22,
    )
    try:
        dead = gather(
            lambda: [orjson.loads(m.value) for m in consumer],
            want,
            f"{want} dead letters (log: {log})",
            30,
        )
    finally:
        consumer.close()
    assert len(dead) == want, f"{len(dead)} dead letters, expected {want} (log: {log})"
    return dead


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric, keyed by their sorted labels (simple exposition parser)."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1 :].rsplit("} ", 1)
            pairs = tuple(sorted(tuple(p.split("=", 1)) for p in labels.split(",")))
            out[tuple((k, v.strip('"')) for k, v in pairs)] = float(value)
    return out
