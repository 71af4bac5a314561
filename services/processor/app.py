"""The faust app: thin agents that hand batches to plain functions, plus metrics and heartbeat."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from services.core.calls import CallBucket, CallRules
from services.core.events import CallAbandoned, CallAnswered, CallExited
from services.observability import processor_metrics as m
from services.processor.calls import BatchResult, apply_batch
from services.processor.transport import App
from services.settings import Settings
from services.store import workers
from services.store.db import init_db, make_engine

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine: Engine | None = None) -> Any:
    engine = engine or make_engine(settings.database_url)
    init_db(engine)
    rules = settings.call_rules
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    guarantee = "exactly_once" if settings.exactly_once else "at_least_once"
    app = App(
        settings.topic("opstrack-processor"),  # the group id: one per stack sharing a cluster
        broker=";".join(f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")),
        value_serializer="raw",
        key_serializer="raw",
        processing_guarantee=guarantee,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        producer_acks=-1,
        topic_partitions=settings.calls_partitions,
        # The topics are created by opstrack (ensure_topics) with their partition counts.
        topic_allow_declare=False,
        datadir=settings.worker_datadir,
        web_enabled=True,
        web_bind=settings.worker_web_host,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
    )
    calls_name = settings.topic("calls")
    calls_topic = app.topic(calls_name)
    deadletter = app.topic(settings.topic("deadletter"))

    @app.agent(calls_topic)
    async def calls(stream: Any) -> None:
        async for values in stream.take(
            settings.processor_batch_size, within=settings.processor_batch_seconds
        ):
            result = await _apply_with_retry(engine, rules, values, calls_name)
            _observe(result, calls_name)
            for value, reason in result.invalid:
                await deadletter.send(
                    value=orjson.dumps(
                        {
                            "topic": calls_name,
                            "reason": reason,
                            "message": value.decode(errors="replace"),
                        }
                    )
                )

    @app.timer(interval=2.0)  # type: ignore[untyped-decorator]
    async def heartbeat() -> None:
        held = len(app.consumer.assignment())

        def write() -> None:
            with engine.begin() as conn:
                workers.beat(conn, worker_id, held)

        try:
            await asyncio.to_thread(write)
        except DBAPIError as exc:
            log.warning("heartbeat: store unavailable: %s", exc)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type=, so the header is set whole.
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return app


async def _apply_with_retry(
    engine: Engine, rules: CallRules, values: list[bytes], topic: str
) -> BatchResult:
    """Keep retrying while the store is away: the batch is neither lost nor half-applied."""
    delay = 0.2
    while True:
        try:
            with m.BATCH_SECONDS.labels(topic).time():
                # Inline, not in a thread: the write is short (~25 ms per 1,000
                # events) and a thread fighting the event loop for the GIL made
                # it 3x slower (bench/: 5.6k -> 9.5k events/s). Heartbeats run
                # in faust's consumer thread, so the group does not notice.
                return apply_batch(engine, rules, values)
        except (OperationalError, DBAPIError) as exc:
            m.STORE_RETRIES.labels(topic).inc()
            log.warning("store write failed (%s); retrying in %.1fs", exc.__class__.__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def _observe(result: BatchResult, topic: str) -> None:
    m.PROCESSED.labels(topic, "applied").inc(len(result.applied))
    m.PROCESSED.labels(topic, "duplicate").inc(result.duplicates)
    m.PROCESSED.labels(topic, "invalid").inc(len(result.invalid))
    # Counters from the batch's bucket deltas: they count exactly what the
    # buckets count, with one label lookup per queue rather than per event.
    per_queue: dict[tuple[str, str], CallBucket] = {}
    for key, delta in result.deltas.items():
        per_queue.setdefault((key.queue, key.municipality), CallBucket()).add(delta)
    for (q, muni), d in per_queue.items():
        m.CALLS_OFFERED.labels(q, muni).inc(d.offered)
        m.CALLS_ANSWERED.labels(q, muni).inc(d.answered)
        m.CALLS_ABANDONED.labels(q, muni).inc(d.abandoned)
        m.CALLS_SHORT_ABANDONED.labels(q, muni).inc(d.short_abandoned)
        for threshold, n in d.answered_within.items():
            m.CALLS_ANSWERED_WITHIN.labels(q, muni, str(threshold)).inc(n)
    # The wait histogram and exit reasons need each call.
    for e in result.applied:
        if isinstance(e, CallAnswered | CallAbandoned | CallExited):
            q, muni = e.data.queue, e.data.municipality
            m.CALL_WAIT.labels(q, muni, _OUTCOME[e.type]).observe(e.data.wait_seconds)
            if isinstance(e, CallExited):
                m.CALLS_EXITED.labels(q, muni, e.data.reason).inc()


_OUTCOME = {"call.answered": "answered", "call.abandoned": "abandoned", "call.exited": "exited"}
