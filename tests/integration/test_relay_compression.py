"""The relay's producer compresses its batches, and the processor's client reads them back.

The embedded broker keeps every record in memory and cannot trim them (Tansu 0.6
ignores retention.ms and fails DeleteRecords), so the relay sends gzip batches,
which Tansu stores as they come: a quarter of the memory (bench/stack.py). This
checks that what the relay's producer sends comes back exactly, in order, through
aiokafka, the client faust consumes with.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from services.ingest.kafka import ensure_topics, producer
from services.stack.broker import EmbeddedBroker
from tests.reference import generate_calls, utc

pytestmark = pytest.mark.integration


async def consume(bootstrap: str, topic: str, n: int) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
        rebalance_timeout_ms=2000,
    )
    await consumer.start()
    got: list[tuple[bytes, bytes]] = []
    try:
        async with asyncio.timeout(60):
            while len(got) < n:
                batches = await consumer.getmany(timeout_ms=500)
                got += [(m.key, m.value) for msgs in batches.values() for m in msgs]
    except TimeoutError:
        pytest.fail(f"only {len(got)} of {n} records came back within 60 s")
    finally:
        await consumer.stop()
    return got


def test_gzip_batches_from_the_relay_producer_come_back_exactly(broker: EmbeddedBroker) -> None:
    topic = f"compressed-{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, {topic: 1})
    events = generate_calls(1500, seed=5, start=utc(2022, 5, 2, 0), hours=24)
    sent = [(e["id"].encode(), orjson.dumps(e)) for e in events]
    prod = producer(broker.bootstrap)
    try:
        assert prod.config["compression_type"] == "gzip"
        for key, value in sent:
            prod.send(topic, key=key, value=value)
        prod.flush(timeout=30)
    finally:
        prod.close(timeout=5)

    assert asyncio.run(consume(broker.bootstrap, topic, len(sent))) == sent
