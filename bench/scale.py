"""Scale-out on a three-node Apache Kafka cluster: 1, 2 and 3 faust workers on PostgreSQL.

The cluster is tests/kafka/cluster.py's (Apache Kafka in KRaft, three nodes,
replication factor 3, min.insync.replicas 2, six partitions a topic, the worker
settings of docker-compose.yml), with one change: the brokers wait
group.initial.rebalance.delay.ms = 3 s (Kafka's default; the tests use 0) before
the first assignment of a new group, so that workers started together are
assigned together and one does not take every partition alone first.

For each worker count, N call events are produced beforehand to a fresh topic
prefix (so a fresh consumer group), each call's two events to one partition
chosen from its call id. Then the
workers start on a fresh PostgreSQL schema; the clock starts when their
heartbeats show that every one holds partitions and together all of them (the
events applied before that are left out of the rate), and stops when the inbox
holds N ids. CPU per event is the workers' own user + system time over the same
window (PostgreSQL's is not counted).

The kill run: three workers, and when a quarter of the events are in, one is
SIGKILLed. It cannot leave its group, so its partitions move only after the
session timeout (60 s, as docker-compose.yml sets it on Apache Kafka) and a
rebalance. Measured from the SIGKILL: until the survivors' heartbeats hold every
partition, and until every partition that still had events at the kill has
applied more of them (the last of these are the killed worker's); a side table
maps each event's inbox key to the partition it was produced to.

The machine has 2 cores: with PostgreSQL, three brokers and the benchmark on
them as well, three workers cannot scale linearly.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaAdminClient
from sqlalchemy import text

from bench.common import Figure, call_events, cpu_seconds, fresh_db, tail
from bench.processor import buckets, produce
from services.core.contracts.envelope import dedup_key
from services.core.events import APPLIED_TOPICS
from services.ingest.kafka import ensure_settings_topics
from services.settings import Settings
from services.stack.procs import free_port, spawn, stop
from services.store.db import make_engine
from tests.integration.faults import applied_count, partitions_held
from tests.kafka.cluster import BROKER_TIMEOUTS, PARTITIONS, KafkaCluster
from tests.waiting import wait_for

NAME = "scale"
COUNTS = (1, 2, 3)
KILL_AT = 0.25  # share of the events applied when one of three workers is SIGKILLed
# The kill run's events, in multiples of the size: enough that the killed worker still
# has some left after every partition's first offset commit (faust commits every 2.8 s).
KILL_SIZE = 3
# Kafka's own default; tests/kafka/cluster.py sets 0 so that a test's lone worker
# starts at once.
CLUSTER_SETTINGS = {"group.initial.rebalance.delay.ms": "3000"}
# Every partition of the topics a worker consumes: what the group shares out.
ASSIGNED = PARTITIONS * len(APPLIED_TOPICS)
SESSION_S = float(BROKER_TIMEOUTS["OPSTRACK_BROKER_SESSION_TIMEOUT"])
RESUME_S = 180.0  # three times the session timeout: longer is no resumption
STALLED_S = 5.0  # a partition the survivors held moves on sooner than this after the kill

Messages = dict[int, list[tuple[bytes, bytes]]]


def messages(n: int) -> Messages:
    """n call events by partition of the calls topic (each call's two to one partition)."""
    out: Messages = {p: [] for p in range(PARTITIONS)}
    for event in call_events(n // 2, seed=2027):
        call_id = event["data"]["call_id"]
        out[zlib.crc32(call_id.encode()) % PARTITIONS].append(
            (call_id.encode(), orjson.dumps(event))
        )
    return out


def mark_partitions(url: str, msgs: Messages) -> None:
    """A side table of the benchmark's: each event's inbox key (a hash) and its partition."""
    rows = [
        {"id": dedup_key(e["source"], e["id"]), "p": p}
        for p, batch in msgs.items()
        for e in (orjson.loads(value) for _, value in batch)
    ]
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_partitions (id text PRIMARY KEY, p int)"))
            conn.execute(text("INSERT INTO bench_partitions VALUES (:id, :p)"), rows)
    finally:
        engine.dispose()


def progress(url: str) -> dict[int, int]:
    """Events applied so far, by partition of the calls topic (needs mark_partitions)."""
    query = text(
        "SELECT b.p, count(*) FROM applied_events a JOIN bench_partitions b USING (id) GROUP BY 1"
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    finally:
        engine.dispose()
    return {int(p): int(c) for p, c in rows}


@dataclass
class Workers:
    """`opstrack worker` processes in one consumer group on the cluster."""

    env: dict[str, str]
    tmp: Path
    procs: list[subprocess.Popen[bytes]]

    def start(self, count: int) -> None:
        for i in range(count):
            env = self.env | {
                "OPSTRACK_WORKER_WEB_PORT": str(free_port()),
                "OPSTRACK_WORKER_DATADIR": str(self.tmp / f"w{i}"),
            }
            argv = [sys.executable, "-m", "services.cli", "worker"]
            self.procs.append(spawn(argv, env, self.tmp / f"w{i}.log"))

    def live(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.live())

    def logs(self) -> str:
        return "\n".join(f"{log}:\n{tail(log, 8)}" for log in sorted(self.tmp.glob("w*.log")))

    def check_alive(self) -> None:
        dead = [p for p in self.procs if p.returncode is None and p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker(s) {[p.pid for p in dead]} exited:\n{self.logs()}")

    def holding_all(self, url: str) -> Callable[[], None]:
        """A check: every live worker holds partitions, and together all of them."""

        def check() -> None:
            self.check_alive()
            beats = partitions_held(url)
            mine = [beats.get(p.pid, 0) for p in self.live()]
            assert all(mine) and sum(mine) == ASSIGNED, f"heartbeats {beats}, want {ASSIGNED}"

        return check

    def applied(self, url: str, want: int) -> Callable[[], None]:
        def check() -> None:
            self.check_alive()
            got = applied_count(url)
            assert got >= want, f"{got} of {want} applied"

        return check


@contextmanager
def workers_on(
    cluster: KafkaCluster, msgs: Messages, tmp: Path, name: str
) -> Iterator[tuple[str, Workers]]:
    """A fresh topic prefix loaded with msgs, a fresh database, and no workers yet."""
    prefix = f"{name}{uuid.uuid4().hex[:6]}-"
    env = cluster.opstrack_env(prefix)
    settings = Settings(
        kafka_bootstrap=cluster.bootstrap,
        topic_prefix=prefix,
        partitions=PARTITIONS,
        replication_factor=cluster.replication_factor,
        min_insync_replicas=cluster.min_insync_replicas,
    )
    ensure_settings_topics(settings)
    for p, batch in msgs.items():
        produce(cluster.bootstrap, settings.topic("calls"), batch, partition=p)
    with fresh_db("postgresql", tmp, name) as url:
        folder = tmp / name
        folder.mkdir()
        workers = Workers(env | {"OPSTRACK_DATABASE_URL": url}, folder, [])
        try:
            yield url, workers
        finally:
            stop(workers.procs)


def throughput(cluster: KafkaCluster, msgs: Messages, count: int, tmp: Path) -> dict[str, Any]:
    n = sum(len(m) for m in msgs.values())
    with workers_on(cluster, msgs, tmp, f"scale{count}w") as (url, workers):
        workers.start(count)
        wait_for(workers.holding_all(url), f"{count} worker(s) sharing the partitions", 180)
        began, cpu0 = time.monotonic(), workers.cpu()
        before = applied_count(url)
        wait_for(workers.applied(url, n), f"{n} events applied", 120 + n / 100, interval=0.1)
        seconds, cpu = time.monotonic() - began, workers.cpu() - cpu0
        return {
            "events_per_s": (n - before) / seconds,
            "cpu_us": 1e6 * cpu / (n - before),
            "before": before,
            "sums": buckets(url),
        }


def committed(cluster: KafkaCluster, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets on the topic's partitions (those it has committed)."""
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, client_id="opstrack-bench")
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: o.offset for tp, o in offsets.items() if tp.topic == topic}


def kill_one(cluster: KafkaCluster, msgs: Messages, tmp: Path) -> dict[str, Any]:
    n = sum(len(m) for m in msgs.values())
    totals = {p: len(m) for p, m in msgs.items()}
    with workers_on(cluster, msgs, tmp, "scalekill") as (url, workers):
        mark_partitions(url, msgs)
        prefix = workers.env["OPSTRACK_TOPIC_PREFIX"]
        group, topic = f"{prefix}opstrack-processor", f"{prefix}calls"
        workers.start(3)
        wait_for(workers.holding_all(url), "3 workers sharing the partitions", 180)

        def ready() -> None:
            # A quarter in, and every partition committed once: a worker killed before
            # its first commit is another case (see docs/benchmarks.md).
            workers.applied(url, int(n * KILL_AT))()
            got = committed(cluster, group, topic)
            assert len(got) == PARTITIONS, f"offsets committed on partitions {sorted(got)}"

        wait_for(ready, "a quarter applied and every partition committed", 300, interval=0.1)
        victim = workers.procs[-1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        killed = time.monotonic()
        at_kill = progress(url)
        left = {p for p, total in totals.items() if at_kill.get(p, 0) < total}
        moved: dict[int, float] = {}  # partition: seconds from the SIGKILL to more applied
        rebalanced: list[float] = []
        check = workers.holding_all(url)

        def resumed() -> None:
            now = progress(url)
            since = time.monotonic() - killed
            moved.update(
                {p: since for p in left - moved.keys() if now.get(p, 0) > at_kill.get(p, 0)}
            )
            if not rebalanced:
                try:
                    check()
                    rebalanced.append(since)
                except AssertionError:
                    pass
            assert moved.keys() == left and rebalanced, f"{sorted(moved)} of {sorted(left)}"

        out: dict[str, Any] = {"left": len(left), "stalled": None, "resumed_s": None}
        if not left:
            print("  kill: every partition was done at the kill; size too small", file=sys.stderr)
            out["rebalanced_s"] = None
            return out
        try:
            wait_for(
                resumed, "the killed worker's partitions applied again", RESUME_S, interval=0.1
            )
        except AssertionError as exc:
            # No figure rather than a wrong one; what is missing goes to stderr.
            print(f"  kill: {exc}\n{workers.logs()}", file=sys.stderr)
            out["rebalanced_s"] = rebalanced[0] if rebalanced else None
            out["moved"] = len(moved)
            return out
        wait_for(workers.applied(url, n), f"all {n} events applied", 120 + n / 100)
        return out | {
            "rebalanced_s": rebalanced[0],
            "resumed_s": max(moved.values()),
            "moved": len(moved),
            "stalled": sum(1 for s in moved.values() if s > STALLED_S),
        }


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    msgs = messages(args.events)
    n = sum(len(m) for m in msgs.values())
    label = f"{NAME} (3 Kafka nodes, PostgreSQL)"
    figures = [
        Figure(label, "call events per run (6 partitions, replication 3)", n, "events"),
        Figure(
            label, "CPU cores (brokers, PostgreSQL and workers share them)", os.cpu_count() or 0
        ),
    ]
    with KafkaCluster(nodes=3, workdir=tmp / "kafka", settings=CLUSTER_SETTINGS) as cluster:
        figures.append(Figure(label, "Apache Kafka", cluster.version))
        results = {}
        for count in COUNTS:
            results[count] = r = throughput(cluster, msgs, count, tmp)
            print(f"  {count} worker(s): {r['events_per_s']:,.0f} events/s", file=sys.stderr)
            figures += [
                Figure(label, f"{count} worker(s): throughput", r["events_per_s"], "events/s"),
                Figure(label, f"{count} worker(s): workers' CPU per event", r["cpu_us"], "µs"),
                Figure(label, f"{count} worker(s): applied before all had joined", r["before"]),
            ]
        one = results[1]["events_per_s"]
        figures += [
            Figure(label, f"speed-up, {c} workers / 1", results[c]["events_per_s"] / one, "x")
            for c in COUNTS[1:]
        ]
        kill = kill_one(cluster, messages(KILL_SIZE * args.events), tmp)
    sums = [r["sums"] for r in results.values()]  # the kill run has more events
    return [
        *figures,
        Figure(label, "kill: call events (3 workers, one SIGKILLed)", KILL_SIZE * n, "events"),
        Figure(label, "kill: session timeout (docker-compose.yml)", SESSION_S, "s"),
        Figure(label, "kill: calls partitions with events left at the kill", kill["left"]),
        Figure(
            label,
            "kill: SIGKILL → survivors hold all partitions",
            _or_none(kill["rebalanced_s"]),
            "s",
        ),
        Figure(
            label, "kill: SIGKILL → all of them applying again", _or_none(kill["resumed_s"]), "s"
        ),
        Figure(
            label, f"kill: partitions that waited > {STALLED_S:.0f} s", _or_none(kill["stalled"])
        ),
        Figure(label, "identical bucket sums (1, 2, 3 workers)", _same(sums)),
    ]


def _or_none(value: float | int | None) -> float | int | str:
    return "none" if value is None else value


def _same(sums: list[Any]) -> str:
    return "yes" if all(s == sums[0] for s in sums) else "no"
