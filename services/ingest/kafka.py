"""kafka-python helpers shared by the relay and `opstrack up`: producer and topics."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from services.settings import Settings


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
        # Below the relay's flush timeout (30 s): with the broker away, records fail
        # and stay in the outbox instead of staying buffered in a producer that
        # then cannot be closed (close() first flushes, and raises on a timeout).
        delivery_timeout_ms=20_000,
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


def ensure_topics(
    bootstrap: str,
    partitions: Mapping[str, int],
    replication_factor: int = 1,
    configs: Mapping[str, str] | None = None,
) -> dict[str, str | None]:
    """Create the topics that do not exist yet (the broker may not auto-create them),
    with `replication_factor` replicas and the topic `configs` (Settings.topic_configs).
    A topic that exists already is left as it is.

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
            NewTopic(
                name,
                num_partitions=n,
                replication_factor=replication_factor,
                topic_configs=dict(configs or {}),
            )
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


def ensure_settings_topics(settings: Settings) -> dict[str, str | None]:
    """The topics of `settings` (names, partitions, replicas, configs): see ensure_topics."""
    return ensure_topics(
        settings.kafka_bootstrap,
        settings.topic_partitions(),
        settings.replication_factor,
        settings.topic_configs(),
    )


def _topic_id(raw: object) -> str | None:
    # The all-zero id is what a broker without topic ids answers.
    return None if raw is None or str(raw).strip("0-") == "" else str(raw)
