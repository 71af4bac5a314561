"""kafka-python helpers shared by the relay and `opstrack up`: producer and topics."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, TopicAlreadyExistsError


def producer(bootstrap: str) -> KafkaProducer:
    # acks=all: an event counts as published only once the broker has it for good.
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        retries=5,
        max_in_flight_requests_per_connection=1,
        request_timeout_ms=10_000,
        max_block_ms=10_000,
        # The embedded broker keeps every record in memory and cannot trim (Tansu 0.6
        # ignores retention.ms and panics on DeleteRecords): gzip batches take a
        # quarter of the memory (bench/stack.py), for little CPU next to the send.
        compression_type="gzip",
        client_id="opstrack-relay",
    )


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


def ensure_topics(bootstrap: str, partitions: Mapping[str, int]) -> None:
    """Create the topics that do not exist yet (the broker may not auto-create them)."""
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
    finally:
        admin.close()
