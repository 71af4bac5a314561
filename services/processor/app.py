"""The faust app: thin batch handlers that hand batches to plain functions, plus a clock and metrics."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from services import config
from services.core import scrub
from services.core.calendar import BusinessCalendar
from services.observability import processor_metrics as m
from services.processor import goal_metrics, observe, period_metrics, staffing_metrics
from services.processor.calls import apply_batch
from services.processor.clock import tick
from services.processor.entities import apply_entity_batch
from services.processor.reducers import TOPIC_FAMILIES, reducers
from services.processor.transport import App
from services.settings import Settings
from services.store import errors as store_errors
from services.store import workers
from services.store.db import make_engine
from services.store.migrate import init_db

log = logging.getLogger(__name__)


class _Result(Protocol):
    @property
    def invalid(self) -> list[tuple[bytes, str]]: ...


R = TypeVar("R", bound=_Result)


def create_app(settings: Settings, engine: Engine | None = None) -> Any:
    engine = engine or make_engine(settings.database_url)
    init_db(engine)
    scrub.set_enabled(settings.scrub_personal_data)  # as the API that took the events in
    rules = settings.call_rules
    calendar = BusinessCalendar() if settings.business_calendar else None
    # SLA clocks on business hours need the calendar even when handling times do not.
    sla_calendar = calendar or BusinessCalendar()
    catalog = config.catalog(settings.config_dir)
    labels = config.labels(settings.config_dir)  # bounds every metric label from event text
    targets = config.sla_targets(settings.config_dir)
    family_reducers = reducers(calendar)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    app = _faust_app(settings)
    deadletter = app.topic(settings.topic("deadletter"))

    def agent(name: str, apply: Callable[[list[bytes]], R], seen: Callable[[R, str], None]) -> None:
        topic_name = settings.topic(name)
        # Every series from 0, so an alert's increase() sees the first dead letter too.
        for kind in m.DEADLETTER_REASONS:
            m.DEADLETTERED.labels(topic_name, kind)

        async def dead_letter(value: bytes | None, reason: str) -> None:
            kind = m.deadletter_reason(name, value, reason)
            await deadletter.send(value=_dead_letter(topic_name, value, reason, kind))
            m.DEADLETTERED.labels(topic_name, kind).inc()

        async def handle(values: list[bytes]) -> None:
            result = await _with_retry(partial(apply, values), topic_name)
            seen(result, topic_name)
            for value, reason in result.invalid:
                await dead_letter(value, reason)

        async def consume(values: list[bytes]) -> None:
            # Transient store errors are retried inside handle(); what comes out is a
            # message this code cannot process or the store refuses for good. A batch
            # is one transaction, so nothing of it was written: split it in halves
            # until the culprit is alone, dead-letter that, and apply the rest.
            try:
                await handle(values)
            except Exception as exc:
                if len(values) > 1:
                    log.warning(
                        "batch of %d on %s failed (%r); splitting it", len(values), topic_name, exc
                    )
                    half = len(values) // 2
                    await consume(values[:half])
                    await consume(values[half:])
                    return
                log.exception("message on %s set aside", topic_name)
                m.PROCESSED.labels(topic_name, "invalid").inc()
                why = m.STORE_REJECTED if store_errors.is_permanent(exc) else m.PROCESSING_FAILED
                await dead_letter(values[0], f"{why}: {exc!r}")

        app.batch_agent(topic_name, consume, settings.processor_batch_size)

    agent("calls", lambda v: apply_batch(engine, rules, v), partial(observe.calls, known=labels))
    for name, families in TOPIC_FAMILIES.items():
        chosen = {f: family_reducers[f] for f in families}
        agent(
            name,
            partial(apply_entity_batch, engine, chosen),
            partial(observe.entities, known=labels),
        )

    async def heartbeat(*_: Any, **__: Any) -> None:
        held = len(app.consumer.assignment())

        def write() -> None:
            with engine.begin() as conn:
                workers.beat(conn, worker_id, held)

        try:
            await asyncio.to_thread(write)
        except DBAPIError as exc:
            log.warning("heartbeat: store unavailable: %s", exc)

    app.timer(interval=2.0)(heartbeat)
    # /readyz waits for a beat that holds partitions: write it as soon as they are
    # assigned, not up to one timer interval later (`opstrack up` is ready sooner).
    app.on_rebalance_complete.connect(heartbeat)

    @app.timer(interval=settings.clock_interval_seconds)  # type: ignore[untyped-decorator]
    async def clock() -> None:
        # SLA clocks and gauges depend on the time of day, not only on events.
        try:
            with m.CLOCK_SECONDS.time():
                await asyncio.to_thread(
                    tick,
                    engine,
                    settings,
                    sla_calendar,
                    targets,
                    catalog,
                    labels,
                    datetime.now(UTC),
                )
        except DBAPIError as exc:
            log.warning("clock: store unavailable: %s", exc)

    # The store-derived figures and the goal table are exported by one worker only,
    # the holder of a lease in the store, so several workers never export them twice.
    period_interval = settings.period_metrics_interval_seconds
    thresholds = settings.call_rules.thresholds

    async def holds_lease() -> bool:
        try:
            held = await asyncio.to_thread(
                period_metrics.holds_lease, engine, worker_id, datetime.now(UTC), period_interval
            )
        except DBAPIError as exc:
            # Unrenewed, the lease may pass to another worker: stop exporting now.
            log.warning("period-figures lease: store unavailable: %s", exc)
            held = False
        if not held:
            period_metrics.clear_lease_held()
        return held

    async def give_up_lease(*_: Any, **__: Any) -> None:
        try:
            await asyncio.to_thread(period_metrics.give_up_lease, engine, worker_id)
        except DBAPIError as exc:
            log.warning("period-figures lease not released (it expires): %s", exc)

    app.on_before_shutdown.connect(give_up_lease)

    @app.timer(interval=period_interval)  # type: ignore[untyped-decorator]
    async def period_figures() -> None:
        if not await holds_lease():
            return
        now = datetime.now(UTC)
        try:
            samples = await asyncio.to_thread(
                period_metrics.period_samples,
                engine,
                catalog,
                thresholds,
                settings.business_calendar,
                now,
                labels,
            )
        except DBAPIError as exc:
            log.warning("period figures: store unavailable: %s", exc)
            return
        period_metrics.publish_periods(samples, now)  # on the loop: no scrape in between

    @app.timer(interval=settings.goals_interval_seconds)  # type: ignore[untyped-decorator]
    async def goal_gauges() -> None:
        if not await holds_lease():
            return
        try:
            goals = config.goals(settings.config_dir)  # re-read: an edit shows without a restart
            samples = await asyncio.to_thread(
                goal_metrics.goal_samples, engine, goals, catalog, thresholds, datetime.now(UTC)
            )
        except (DBAPIError, config.ConfigError) as exc:
            log.warning("goal gauges: %s", exc)
            return
        period_metrics.publish(m.GOAL_GAUGES, samples)

    # The staffing plan changes little within a quarter hour, but a worker that has
    # just taken the lease (or started) plans at once: the timer runs as often as
    # the period figures' and re-plans when the last plan is older than its interval.
    planned: list[float] = []  # monotonic time of this holder's last plan, if any

    @app.timer(interval=period_interval)  # type: ignore[untyped-decorator]
    async def staffing_gauges() -> None:
        if not await holds_lease():
            planned.clear()
            return
        due = time.monotonic() - settings.staffing_metrics_interval_seconds
        if planned and planned[-1] > due:
            return
        try:
            staffing = config.staffing(settings.config_dir)  # re-read, as the API does
            samples = await asyncio.to_thread(
                staffing_metrics.staffing_samples,
                engine,
                staffing,
                sla_calendar,
                datetime.now(UTC),
            )
        except (DBAPIError, config.ConfigError) as exc:
            log.warning("staffing gauges: %s", exc)
            return
        period_metrics.publish(m.STAFFING_GAUGES, samples)
        planned[:] = [time.monotonic()]

    @app.page("/metrics")  # type: ignore[untyped-decorator]
    async def metrics(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type=, so the header is set whole.
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return app


def _faust_app(settings: Settings) -> Any:
    return App(
        settings.topic("opstrack-processor"),  # the group id: one per stack sharing a cluster
        broker=";".join(f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")),
        value_serializer="raw",
        key_serializer="raw",
        processing_guarantee="exactly_once" if settings.exactly_once else "at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        producer_acks=-1,
        topic_partitions=settings.partitions,
        # The topics are created by opstrack (ensure_topics) with their partition counts.
        topic_allow_declare=False,
        datadir=settings.worker_datadir,
        web_enabled=True,
        web_bind=settings.worker_web_host,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        # A topic that appears after the worker joined (a restarted embedded broker
        # is empty until the relay creates them again) is assigned within 10 s
        # instead of aiokafka's 5 min metadata refresh.
        consumer_metadata_max_age_ms=10_000,
    )


async def _with_retry(apply: Callable[[], R], topic: str) -> R:
    """Keep retrying while the store is away: the batch is neither lost nor half-applied.

    A permanent store error (services.store.errors) is raised instead, for the
    caller to find the event at fault.
    """
    delay = 0.2
    while True:
        try:
            with m.BATCH_SECONDS.labels(topic).time():
                # Inline, not in a thread: the write is short (~25 ms per 1,000
                # events) and a thread fighting the event loop for the GIL made
                # it 3x slower (bench/: 5.6k -> 9.5k events/s). Heartbeats run
                # in faust's consumer thread, so the group does not notice.
                return apply()
        except DBAPIError as exc:
            if store_errors.is_permanent(exc):
                raise  # the data's fault: the same write fails every time
            m.STORE_RETRIES.labels(topic).inc()
            log.warning("store write failed (%s); retrying in %.1fs", exc.__class__.__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


# A dead letter quotes at most this much of its message: escaped, a message near the
# broker's size limit would grow past it, and the dead letter could not be sent.
_DEAD_LETTER_QUOTE = 64 * 1024


def _dead_letter(topic: str, value: bytes | None, reason: str, kind: str) -> bytes:
    # A null value (a tombstone from another producer) is dead-lettered as null.
    message = None if value is None else value[:_DEAD_LETTER_QUOTE].decode(errors="replace")
    size = 0 if value is None else len(value)
    return orjson.dumps(
        {"topic": topic, "reason": reason, "kind": kind, "message": message, "bytes": size}
    )
