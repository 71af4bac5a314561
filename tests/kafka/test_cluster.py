"""opstrack on a three-broker Apache Kafka cluster, with faults (issue 13).

Three KRaft brokers (tests/kafka/cluster.py) with the production replication
settings (replication factor 3, min.insync.replicas 2, six partitions a topic),
the API in-process (its relay publishes with acks=all) and worker processes on
PostgreSQL. Several thousand events, a fifth of them twice and all shuffled, go
in over HTTP while one broker, leader of some partitions, is SIGKILLed and later
restarted, one worker is SIGKILLed, and a worker is added. The figures must then
equal the reference computed here from the accepted events (tests/reference.py):
nothing accepted is lost, nothing counted twice. Rebalance times and consumer lag
are printed (`pytest -s`), not asserted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from services.core.events import APPLIED_TOPICS, TOPICS
from services.ingest.kafka import ensure_settings_topics
from services.settings import Settings
from services.stack.procs import free_port, stop
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.integration.conftest import (  # kafka_log: a fixture
    kafka_log,  # noqa: F401
    serving,
    start_worker,
    tolerates_kafka_socket_leak,
)
from tests.integration.faults import (
    PERIOD,
    TOKEN,
    check_calls,
    check_rows,
    metric,
    partitions_held,
    post,
)
from tests.kafka.cluster import PARTITIONS, KafkaCluster
from tests.reference import generate_calls, generate_tickets, utc
from tests.ticket_reference import expected_ticket_rows
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

START = utc(2022, 5, 2, 6)


def cluster_settings(env: dict[str, str]) -> Settings:
    """The API's settings: those of the workers' environment (and calendar hours,
    which the reference computes)."""
    return Settings(
        database_url=env["OPSTRACK_DATABASE_URL"],
        kafka_bootstrap=env["OPSTRACK_KAFKA_BOOTSTRAP"],
        topic_prefix=env["OPSTRACK_TOPIC_PREFIX"],
        partitions=int(env["OPSTRACK_PARTITIONS"]),
        replication_factor=int(env["OPSTRACK_REPLICATION_FACTOR"]),
        min_insync_replicas=int(env["OPSTRACK_MIN_INSYNC_REPLICAS"]),
        dev_token=TOKEN,
        business_calendar=False,
    )


class Admin:
    """What the test reads off the cluster: leaders, replicas, configs, lag."""

    def __init__(self, cluster: KafkaCluster, settings: Settings) -> None:
        self.cluster = cluster
        self.topics = [settings.topic(t) for t in TOPICS]
        # The lag is the group's on what it consumes (the sla topic is for others).
        self.applied = [settings.topic(t) for t in APPLIED_TOPICS]
        self.group = settings.topic("opstrack-processor")

    def _admin(self) -> KafkaAdminClient:
        live = ",".join(n.address for n in self.cluster.nodes if n.proc is not None)
        return KafkaAdminClient(bootstrap_servers=live, request_timeout_ms=10_000)

    def partitions(self) -> list[dict[str, Any]]:
        """Every partition of opstrack's topics, with its leader, replicas and ISR."""
        try:
            admin = self._admin()
            try:
                described = admin.describe_topics(self.topics)
            finally:
                admin.close()
        except KafkaError as exc:
            # Right after a broker died the client may still ask it: not there yet.
            raise AssertionError(f"no metadata: {exc!r}") from None
        return [{"topic": t["name"]} | p for t in described for p in t["partitions"]]

    def min_insync(self, topic: str) -> str:
        admin = self._admin()
        try:
            resource = ConfigResource(
                ConfigResourceType.TOPIC, topic, configs=["min.insync.replicas"]
            )
            found = admin.describe_configs([resource])
        finally:
            admin.close()
        # A broker that has not caught up with the topic's creation yet knows no config.
        value = found["topic"].get(topic, {}).get("min.insync.replicas")
        assert value is not None, f"no min.insync.replicas for {topic} yet"
        return str(value["value"])

    def lag(self) -> int:
        """Records on the topics the workers apply that the group has not committed yet."""
        admin = self._admin()
        try:
            committed = admin.list_group_offsets({self.group: None})[self.group]
        finally:
            admin.close()
        consumer = KafkaConsumer(bootstrap_servers=self.cluster.bootstrap)
        try:
            tps = [
                TopicPartition(t, p)
                for t in self.applied
                for p in sorted(consumer.partitions_for_topic(t) or ())
            ]
            ends = consumer.end_offsets(tps)
        finally:
            consumer.close()
        return sum(
            end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()
        )


class Workers:
    """`opstrack worker` processes sharing one consumer group, each with its own port."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, str] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        port = str(free_port())
        env = self.env | {
            "OPSTRACK_WORKER_WEB_PORT": port,
            "OPSTRACK_WORKER_DATADIR": str(self.tmp / name),
        }
        self.ports[name] = port
        self.procs[name] = start_worker(env, self.log(name))
        return self.procs[name]

    def log(self, name: str) -> Path:
        return self.tmp / f"worker-{name}.log"

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def live(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items() if p.poll() is None}

    def held(self) -> dict[str, int]:
        """Partitions each live worker said it holds in its latest heartbeat."""
        beats = partitions_held(self.env["OPSTRACK_DATABASE_URL"])
        return {name: beats.get(pid, 0) for name, pid in self.live().items()}

    def stop(self) -> None:
        stop(list(self.procs.values()))


def timed(check: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until check() passed (wait_for); for the report, not for an assertion."""
    began = time.monotonic()
    wait_for(check, what, timeout)
    return time.monotonic() - began


@pytest.fixture
def env(kafka_cluster: KafkaCluster, pg_url: str) -> dict[str, str]:
    prefix = f"c{uuid.uuid4().hex[:8]}-"
    env = kafka_cluster.opstrack_env(prefix) | {"OPSTRACK_DATABASE_URL": pg_url}
    engine = make_engine(pg_url)
    init_db(engine)
    engine.dispose()
    return env


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    w = Workers(env, tmp_path)
    yield w
    w.stop()


@pytest.mark.timeout(420)
@tolerates_kafka_socket_leak  # the relay's and the test's clients knock on the dead broker
def test_three_brokers_three_workers_faults_and_nothing_lost(
    kafka_cluster: KafkaCluster,
    env: dict[str, str],
    workers: Workers,
    kafka_log: list[str],  # noqa: F811
) -> None:
    settings = cluster_settings(env)
    ensure_settings_topics(settings)
    admin = Admin(kafka_cluster, settings)

    # The topics are laid out as production's: 6 partitions, 3 replicas, 2 in sync to ack.
    def laid_out() -> list[dict[str, Any]]:
        parts = admin.partitions()
        assert len(parts) == PARTITIONS * len(TOPICS)
        assert all(len(p["replica_nodes"]) == 3 for p in parts), parts
        assert {admin.min_insync(t) for t in admin.topics} == {"2"}
        return parts

    parts = wait_for(laid_out, "the topics created on every broker", 30)

    calls = generate_calls(2500, seed=131, start=START, hours=24)
    tickets = generate_tickets(400, seed=132, start=START, hours=24 * 10)
    events = calls + tickets
    rnd = random.Random(133)
    messages = events + rnd.sample(events, len(events) // 5)  # a fifth twice, same ids
    rnd.shuffle(messages)  # answers before queueing, resolutions before creations

    report: list[str] = []

    def note(line: str) -> None:
        report.append(line)
        print(line, flush=True)

    def all_held_by(names: set[str]) -> Callable[[], None]:
        def check() -> None:
            held = workers.held()
            assert set(held) == names, f"live workers {sorted(held)}, want {sorted(names)}"
            assert all(held.values()) and sum(held.values()) == total, (
                f"{held} hold {sum(held.values())} of {total} partitions"
            )

        return check

    def logs() -> str:
        return ", ".join(str(workers.log(n)) for n in workers.procs)

    workers.start("a")

    def alone() -> int:
        held = workers.held().get("a", 0)
        assert held > 0, "worker a holds no partitions yet"
        return held

    # What one worker holds alone is the whole: every partition of the topics it reads.
    total = wait_for(alone, f"worker a consuming ({logs()})", 90)
    assert total == PARTITIONS * len(APPLIED_TOPICS)
    workers.start("b")
    t = timed(all_held_by({"a", "b"}), 90, f"workers a and b sharing the partitions ({logs()})")
    note(f"worker b joined a; the group split {total} partitions in {t:.1f} s")

    # The broker to kill: the leader of calls partition 0 (and so of others too).
    victim = next(p["leader_id"] for p in parts if p["topic"].endswith("calls"))
    led = sum(1 for p in parts if p["leader_id"] == victim)

    batch = 100
    chunks = [messages[i : i + batch] for i in range(0, len(messages), batch)]
    n = len(chunks)
    accepted: set[str] = set()
    with serving(settings) as url:
        for i, chunk in enumerate(chunks):
            answer = post(url, chunk)  # asserts 202: the outbox has them
            assert answer["accepted"] + answer["duplicates"] == len(chunk), answer
            accepted.update(m["id"] for m in chunk)

            if i == n // 5:
                kafka_cluster.kill(victim)
                note(f"broker {victim} SIGKILLed, leader of {led} of {len(parts)} partitions")

                def moved() -> None:
                    stale = [p for p in admin.partitions() if p["leader_id"] in (victim, -1)]
                    assert not stale, f"{len(stale)} partitions still led by {victim} or none"

                t = timed(moved, 60, "new leaders for the dead broker's partitions")
                note(f"leadership of its partitions moved in {t:.1f} s")
            elif i == 2 * n // 5:

                def b_applies() -> None:
                    got = metric(workers.ports["b"], "opstrack_processor_events_total")
                    assert got > 0, "worker b has applied nothing yet"

                wait_for(b_applies, f"worker b applying events ({logs()})", 60)
                workers.kill("b")
                killed = time.monotonic()
                note("worker b SIGKILLed")
                # After the session timeout (60 s, as in production) and a rebalance.
                wait_for(all_held_by({"a"}), f"worker a taking b's partitions ({logs()})", 150)
                note(
                    f"rebalance after the SIGKILL: a holds all {total} partitions "
                    f"{time.monotonic() - killed:.1f} s later (session timeout "
                    f"{env['OPSTRACK_BROKER_SESSION_TIMEOUT']} s)"
                )
            elif i == 3 * n // 5:
                workers.start("c")
                t = timed(all_held_by({"a", "c"}), 90, f"worker c joining ({logs()})")
                note(f"worker c added mid-stream: the group rebalanced in {t:.1f} s")
            elif i == 4 * n // 5:
                began = time.monotonic()
                kafka_cluster.restart(victim)

                def in_sync() -> None:
                    short = [p for p in admin.partitions() if len(p["isr_nodes"]) < 3]
                    assert not short, f"{len(short)} partitions with fewer than 3 in sync"

                wait_for(in_sync, f"broker {victim} back in sync", 90)
                note(f"broker {victim} restarted and all replicas in sync in "
                     f"{time.monotonic() - began:.1f} s")  # fmt: skip
        note(f"sent {len(messages)} messages ({len(accepted)} distinct events) over HTTP")
        assert accepted == {e["id"] for e in events}
        note(f"consumer lag right after the last POST: {admin.lag()} records")

        began = time.monotonic()
        wait_for(check_calls(url, events), f"calls SLIs equal the reference ({logs()})", 180)
        want_tickets = expected_ticket_rows(events, PERIOD, business=False)
        assert want_tickets[0]["resolved"] > 100  # the mix exercises what it is meant to
        wait_for(check_rows(url, "tickets", want_tickets), f"ticket SLIs ({logs()})", 60)
        note(f"figures equal the reference {time.monotonic() - began:.1f} s after the last POST")

        def caught_up() -> None:
            lag = admin.lag()
            assert lag == 0, f"consumer lag {lag}"

        wait_for(caught_up, "the group committing everything", 60)
        note("consumer lag at the end: 0 records")
    assert set(workers.live()) == {"a", "c"}, f"a worker died ({logs()})"
    redelivered = sum(
        metric(port, "opstrack_processor_events_total", result="duplicate")
        for name, port in workers.ports.items()
        if name in workers.procs
    )
    note(f"duplicates dropped by the inbox of the live workers: {redelivered:.0f}")
    note(f"the relay's and the test's Kafka clients logged {len(kafka_log)} warnings")


@pytest.mark.timeout(420)
def test_partitions_of_a_worker_killed_before_its_first_commit_are_taken_over(
    kafka_cluster: KafkaCluster,
    env: dict[str, str],
    workers: Workers,
) -> None:
    """A worker SIGKILLed while no partition of the group has a committed offset.

    Its partitions move after the session timeout with no commit to seek to: the
    survivors must fetch them from their first offset. One such partition sat
    unfetched for minutes in two of five runs without the explicit seek in
    services/processor/transport.py (`_seek_to_committed`), so this test does
    not fail every time that seek is missing (docs/benchmarks.md).
    """
    settings = cluster_settings(env)
    ensure_settings_topics(settings)
    total = PARTITIONS * len(APPLIED_TOPICS)

    def logs() -> str:
        return ", ".join(str(workers.log(n)) for n in workers.procs)

    for name in "abc":
        workers.start(name)

    def shared() -> None:
        held = workers.held()
        assert set(held) == {"a", "b", "c"} and all(held.values()), f"heartbeats {held}"
        assert sum(held.values()) == total, f"{held} hold {sum(held.values())} of {total}"

    wait_for(shared, f"three workers sharing the partitions ({logs()})", 120)
    # Nothing posted yet, so nothing applied and no offset committed anywhere.
    workers.kill("c")
    killed = time.monotonic()
    events = generate_calls(600, seed=141, start=START, hours=24)
    with serving(settings) as url:
        for i in range(0, len(events), 200):
            answer = post(url, events[i : i + 200])
            assert answer["accepted"] == len(events[i : i + 200]), answer
        # Every partition applied, the killed worker's too: the figures equal the reference.
        wait_for(check_calls(url, events), f"calls SLIs equal the reference ({logs()})", 300)
    print(
        f"a worker killed before any commit: figures complete {time.monotonic() - killed:.1f} s "
        f"after the SIGKILL (session timeout {env['OPSTRACK_BROKER_SESSION_TIMEOUT']} s)"
    )
    assert set(workers.live()) == {"a", "b"}, f"a worker died ({logs()})"
