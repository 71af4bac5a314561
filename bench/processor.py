"""Processor throughput: the faust worker against a raw aiokafka consumer, same events, same store.

Both sides get the same N call events, produced beforehand to their own fresh
topic on one embedded broker, and their own fresh database. Each runs as a
subprocess; the inbox (applied_events) is polled every 0.1 s until it holds N
ids. Throughput counts from the first applied event (its inbox timestamp), so
process start and group join are reported apart as startup.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench.common import Figure, call_events, fresh_db, peak_rss_mib, wait_applied
from services.core.calls import CallBucket
from services.ingest.kafka import ensure_topics
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import free_port, spawn, stop
from services.store.calls import sum_buckets
from services.store.db import make_engine

NAME = "processor"


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def batch_stats(port: str) -> tuple[float, float]:
    """The faust worker's store batches so far: how many, and seconds spent in them."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    stats = {}
    for family in text_string_to_metric_families(text):
        if family.name == "opstrack_processor_batch_duration_seconds":
            stats = {s.name.rsplit("_", 1)[1]: s.value for s in family.samples}
    return stats.get("count", 0.0), stats.get("sum", 0.0)


def run_side(
    side: str, broker: EmbeddedBroker, url: str, messages: list[tuple[bytes, bytes]], tmp: Path
) -> dict[str, float]:
    """Produce to a fresh topic, start the consumer process, wait for all events in the store."""
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    settings = Settings(database_url=url, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix)
    ensure_topics(broker.bootstrap, settings.topic_partitions())
    produce(broker.bootstrap, settings.topic("calls"), messages)
    log = tmp / f"{side}.log"
    if side == "faust":
        argv = [sys.executable, "-m", "services.cli", "worker"]
    else:
        argv = [sys.executable, "-m", "bench.baseline", broker.bootstrap, url]
        argv += [settings.topic("calls"), f"{prefix}baseline"]
    env = {
        "OPSTRACK_DATABASE_URL": url,
        "OPSTRACK_KAFKA_BOOTSTRAP": broker.bootstrap,
        "OPSTRACK_TOPIC_PREFIX": prefix,
        "OPSTRACK_WORKER_WEB_PORT": str(free_port()),
        "OPSTRACK_WORKER_DATADIR": str(tmp / f"{side}-data"),
    }
    started = time.time()
    proc = spawn(argv, env, log)
    try:
        applied = wait_applied(url, len(messages), proc, 120 + len(messages) / 200, log)
        out = {
            "events_per_s": len(messages) / (applied.done - applied.first),
            "startup_s": applied.first - started,
            "total_s": applied.done - started,
            "peak_rss_mib": peak_rss_mib(proc.pid),
        }
        if side == "faust":
            batches, seconds = batch_stats(env["OPSTRACK_WORKER_WEB_PORT"])
            out["batch_events"] = len(messages) / batches
            out["batch_ms"] = 1000 * seconds / batches
    finally:
        stop([proc])
    return out


def buckets(url: str) -> dict[tuple[Any, ...], CallBucket]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sum_buckets(conn, 0, 2**62, by=("queue", "hour"))
    finally:
        engine.dispose()


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    events = call_events(args.events // 2, seed=2022)
    messages = [(e["data"]["call_id"].encode(), orjson.dumps(e)) for e in events]
    results, sums = {}, {}
    with EmbeddedBroker(log=tmp / "broker.log") as broker:
        for side in ("faust", "baseline"):
            with fresh_db(args.db, tmp, side) as url:
                results[side] = run_side(side, broker, url, messages, tmp)
                sums[side] = buckets(url)
    f, b = results["faust"], results["baseline"]
    label = f"{NAME} ({args.db})"
    return [
        Figure(label, "events", len(messages), "events"),
        Figure(label, "faust worker: throughput", f["events_per_s"], "events/s"),
        Figure(label, "faust worker: start to first event", f["startup_s"], "s"),
        Figure(label, "faust worker: start to all applied", f["total_s"], "s"),
        Figure(label, "faust worker: peak RSS", f["peak_rss_mib"], "MiB"),
        Figure(label, "faust worker: mean batch", f["batch_events"], "events"),
        Figure(label, "faust worker: mean apply_batch time", f["batch_ms"], "ms"),
        Figure(label, "baseline aiokafka: throughput", b["events_per_s"], "events/s"),
        Figure(label, "baseline aiokafka: start to first event", b["startup_s"], "s"),
        Figure(label, "baseline aiokafka: peak RSS", b["peak_rss_mib"], "MiB"),
        Figure(label, "ratio faust / baseline", f["events_per_s"] / b["events_per_s"], "x"),
        Figure(
            label, "identical bucket sums", "yes" if sums["faust"] == sums["baseline"] else "no"
        ),
    ]
