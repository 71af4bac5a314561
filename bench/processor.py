"""Processor throughput: the faust worker against a raw aiokafka consumer and a quixstreams app.

All three sides get the same N call events and do the same job: parse, fold
into call buckets and write them with the inbox in one transaction
(services/processor/calls.py apply_batch). Each round starts a fresh embedded
broker (so its memory does not grow over the rounds); each side gets its own
fresh topic, produced to beforehand, its own fresh database, and runs as a
subprocess; the inbox (applied_events) is polled every 0.1 s until it holds N
ids. Throughput counts from the first applied event (its inbox timestamp), so
process start and group join are reported apart as startup.

The machine is shared and noisy: the sides run one after the other in each
round (in a rotated order), over several rounds, and the figures are medians;
the ratios are medians of each round's own ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bench.common import Figure, call_events, fresh_db, peak_rss_mib, wait_applied
from services.core.calls import CallBucket
from services.ingest.kafka import ensure_topics
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import free_port, spawn, stop
from services.store.calls import sum_buckets
from services.store.db import make_engine

NAME = "processor"
ROUNDS = 3  # 1 with --quick
SIDES = {"faust": "faust worker", "raw": "raw aiokafka", "quix": "quixstreams"}


def produce(
    bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], partition: int | None = None
) -> None:
    """Send (key, value) pairs with acks=all; to `partition`, or by key if None."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    for key, value in messages:
        producer.send(topic, key=key, value=value, partition=partition)
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


def argv_for(side: str, bootstrap: str, url: str, settings: Settings) -> list[str]:
    if side == "faust":
        return [sys.executable, "-m", "services.cli", "worker"]
    module = {"raw": "bench.baseline", "quix": "bench.quix"}[side]
    group = f"{settings.topic_prefix}{side}"
    return [sys.executable, "-m", module, bootstrap, url, settings.topic("calls"), group]


def run_side(
    side: str, broker: EmbeddedBroker, url: str, messages: list[tuple[bytes, bytes]], tmp: Path
) -> dict[str, float]:
    """Produce to a fresh topic, start the consumer process, wait for all events in the store."""
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    settings = Settings(database_url=url, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix)
    ensure_topics(broker.bootstrap, settings.topic_partitions())
    produce(broker.bootstrap, settings.topic("calls"), messages)
    log = tmp / f"{side}-{prefix}log"
    env = {
        "OPSTRACK_DATABASE_URL": url,
        "OPSTRACK_KAFKA_BOOTSTRAP": broker.bootstrap,
        "OPSTRACK_TOPIC_PREFIX": prefix,
        "OPSTRACK_WORKER_WEB_PORT": str(free_port()),
        "OPSTRACK_WORKER_DATADIR": str(tmp / f"{side}-{prefix}data"),
    }
    started = time.time()
    proc = spawn(argv_for(side, broker.bootstrap, url, settings), env, log)
    try:
        cpu_at_first = cpu_once_applied(url, proc)
        applied = wait_applied(url, len(messages), proc, 120 + len(messages) / 200, log)
        cpu = cpu_seconds(proc.pid) - cpu_at_first
        out = {
            "events_per_s": len(messages) / (applied.done - applied.first),
            "cpu_us_per_event": 1e6 * cpu / len(messages),
            "startup_s": applied.first - started,
            "peak_rss_mib": peak_rss_mib(proc.pid),
        }
        if side == "faust":
            batches, seconds = batch_stats(env["OPSTRACK_WORKER_WEB_PORT"])
            out["batch_events"] = len(messages) / batches
            out["batch_ms"] = 1000 * seconds / batches
    finally:
        stop([proc])
    return out


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_once_applied(url: str, proc: subprocess.Popen[bytes]) -> float:
    """The process's CPU time when its first event is applied (startup excluded).

    CPU per event is the figure that the other processes on a shared machine
    disturb least; events/s depend on how much CPU the side was given.
    """
    engine = make_engine(url)
    try:
        while proc.poll() is None:
            with engine.connect() as conn:
                if conn.execute(text("SELECT 1 FROM applied_events LIMIT 1")).first():
                    return cpu_seconds(proc.pid)
            time.sleep(0.05)
        return 0.0  # exited: wait_applied reports it with the log
    finally:
        engine.dispose()


def buckets(url: str) -> dict[tuple[Any, ...], CallBucket]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sum_buckets(conn, 0, 2**62, by=("queue", "hour"))
    finally:
        engine.dispose()


def run_round(
    args: argparse.Namespace, tmp: Path, messages: list[tuple[bytes, bytes]], order: list[str]
) -> tuple[dict[str, dict[str, float]], bool]:
    results, sums = {}, []
    with EmbeddedBroker(log=tmp / "broker.log") as broker:
        for side in order:
            with fresh_db(args.db, tmp, f"{side}{uuid.uuid4().hex[:6]}") as url:
                results[side] = run_side(side, broker, url, messages, tmp)
                sums.append(buckets(url))
            print(f"  {side}: {results[side]['events_per_s']:,.0f} events/s", file=sys.stderr)
    return results, all(s == sums[0] for s in sums)


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    rounds = 1 if getattr(args, "quick", False) else ROUNDS
    events = call_events(args.events // 2, seed=2022)
    messages = [(e["data"]["call_id"].encode(), orjson.dumps(e)) for e in events]
    per_round, identical = [], True
    sides = list(SIDES)
    for i in range(rounds):
        order = sides[i % len(sides) :] + sides[: i % len(sides)]
        print(f"round {i + 1}/{rounds}: {', '.join(order)}", file=sys.stderr)
        results, same = run_round(args, tmp, messages, order)
        per_round.append(results)
        identical = identical and same

    def median(side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in per_round)

    def ratio(a: str, b: str) -> float:
        return statistics.median(r[a]["events_per_s"] / r[b]["events_per_s"] for r in per_round)

    def cpu_ratio(a: str, b: str) -> float:
        return statistics.median(
            r[a]["cpu_us_per_event"] / r[b]["cpu_us_per_event"] for r in per_round
        )

    label = f"{NAME} ({args.db})"
    figures = [
        Figure(label, "events", len(messages), "events"),
        Figure(label, "rounds (figures are medians)", rounds),
    ]
    for side, name in SIDES.items():
        figures += [
            Figure(label, f"{name}: throughput", median(side, "events_per_s"), "events/s"),
            Figure(label, f"{name}: CPU per event", median(side, "cpu_us_per_event"), "µs"),
            Figure(label, f"{name}: start to first event", median(side, "startup_s"), "s"),
            Figure(label, f"{name}: peak RSS", median(side, "peak_rss_mib"), "MiB"),
        ]
    return [
        *figures,
        Figure(label, "faust worker: mean batch", median("faust", "batch_events"), "events"),
        Figure(label, "faust worker: mean apply_batch time", median("faust", "batch_ms"), "ms"),
        Figure(label, "ratio faust / raw aiokafka", ratio("faust", "raw"), "x"),
        Figure(label, "ratio faust / quixstreams", ratio("faust", "quix"), "x"),
        Figure(label, "CPU per event, faust / raw aiokafka", cpu_ratio("faust", "raw"), "x"),
        Figure(label, "identical bucket sums (all sides)", "yes" if identical else "no"),
    ]
