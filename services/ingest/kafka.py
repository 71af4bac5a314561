"""Kafka helpers shared by the relay and `opstrack up`: the relay's producer, topics."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Mapping
from typing import Any

import confluent_kafka
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
)


class Producer:
    """The relay's producer: librdkafka (confluent-kafka) behind the few kafka-python
    calls the relay makes, failing with kafka-python's errors.

    kafka-python builds, compresses and frames each record in Python: ~0.075 s of
    CPU per 1,000 events, about half the API process's, taken with the GIL from
    the requests. librdkafka does it in C, in its own threads: ~0.009 s
    (bench/ingest.py).
    """

    def __init__(self, bootstrap: str, **overrides: object) -> None:
        # Under kafka-python's names, as the rest of the code and its tests know them.
        self.config: dict[str, object] = {
            "bootstrap_servers": bootstrap,
            # acks=all: an event counts as published only once the broker has it for good.
            "acks": "all",
            "linger_ms": 5,
            # One request at a time per broker: a retried batch cannot overtake the next.
            "max_in_flight_requests_per_connection": 1,
            "request_timeout_ms": 10_000,
            # Below the relay's flush timeout (30 s): with the broker away, records
            # fail and stay in the outbox instead of staying queued in the producer.
            "delivery_timeout_ms": 20_000,
            # The embedded broker keeps every record in memory and cannot trim (Tansu 0.6
            # ignores retention.ms and panics on DeleteRecords): gzip batches take a
            # quarter of the memory (bench/stack.py), for little CPU in librdkafka.
            "compression_type": "gzip",
            "client_id": "opstrack-relay",
            **overrides,
        }
        c = self.config
        self._producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": c["bootstrap_servers"],
                "acks": c["acks"],
                "linger.ms": c["linger_ms"],
                "max.in.flight.requests.per.connection": c["max_in_flight_requests_per_connection"],
                "request.timeout.ms": c["request_timeout_ms"],
                "message.timeout.ms": c["delivery_timeout_ms"],
                "compression.type": c["compression_type"],
                "client.id": c["client_id"],
                # The Java client's (and kafka-python's) key hash: a key keeps the
                # partition it had before (librdkafka's default is CRC32).
                "partitioner": "murmur2_random",
                # No InitProducerId: Tansu fails it for a producer it lost on a restart.
                "enable.idempotence": False,
                "logger": _RDKAFKA_LOG,
            }
        )
        self._failed: list[str] = []

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=self._delivered)
        except (BufferError, confluent_kafka.KafkaException) as exc:
            raise KafkaError(f"cannot queue a record for {topic}: {exc}") from exc

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self._failed.append(str(err))

    def flush(self, timeout: float) -> None:
        """Wait until every record sent is acknowledged; KafkaError if any was not."""
        left = self._producer.flush(timeout)
        failed, self._failed = self._failed, []
        if failed:
            raise KafkaError(f"{len(failed)} records were not delivered: {failed[0]}")
        if left:
            raise KafkaTimeoutError(f"{left} records not acknowledged within {timeout} s")

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, for at most `timeout` s; drop whatever is left."""
        self._producer.flush(timeout)
        self._producer.purge()
        self._producer.poll(0)


_RDKAFKA_LOG = logging.getLogger("services.ingest.rdkafka")


def producer(bootstrap: str) -> Producer:
    return Producer(bootstrap)


def reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection now."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


def require_broker(bootstrap: str) -> None:
    # kafka-python clients start an I/O thread before they find out that no
    # broker answers, and one that raises from __init__ leaves it running; so
    # look first, and build clients only when a broker is there.
    if not reachable(bootstrap):
        raise KafkaConnectionError(f"no Kafka broker reachable at {bootstrap}")


def ensure_topics(bootstrap: str, partitions: Mapping[str, int]) -> dict[str, str | None]:
    """Create the topics that do not exist yet (the broker may not auto-create them).

    Returns each topic's id. A topic deleted and created again gets a new id,
    which is how the relay finds out that a broker lost its log (the embedded
    one does on every restart). Brokers before Kafka 2.8 have no ids: None.
    """
    require_broker(bootstrap)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="opstrack-admin", request_timeout_ms=10_000
    )
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(name, num_partitions=n, replication_factor=1)
            for name, n in partitions.items()
            if name not in existing
        ]
        if new:
            # Another process may create one between our look and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
        described = admin.describe_topics(list(partitions))
    finally:
        admin.close()
    return {t["name"]: _topic_id(t.get("topic_id")) for t in described}


def _topic_id(raw: object) -> str | None:
    # The all-zero id is what a broker without topic ids answers.
    return None if raw is None or str(raw).strip("0-") == "" else str(raw)
