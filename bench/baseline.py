"""The raw-consumer baseline for bench/processor.py: aiokafka straight into apply_batch.

Run as `python -m bench.baseline BOOTSTRAP DATABASE_URL TOPIC GROUP`; it consumes
until stopped. The same store writes as the faust worker, without faust: what
Python can do with these writes.
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer

from services.processor.calls import apply_batch
from services.settings import Settings
from services.store.db import make_engine


async def consume(bootstrap: str, url: str, topic: str, group: str) -> None:
    engine = make_engine(url)
    rules = Settings().call_rules
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        # The embedded broker's group join takes about half the session timeout;
        # the same tuning as the opstrack worker (services/settings.py).
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
        rebalance_timeout_ms=2000,
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            values = [m.value for msgs in batches.values() for m in msgs]
            if values:
                await asyncio.to_thread(apply_batch, engine, rules, values)
    finally:
        await consumer.stop()
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(consume(*sys.argv[1:5]))
