"""The outbox relay: publishes stored events to Kafka, and keeps trying while it is away.

A broker that comes back without its log (the embedded one is memory-only)
has lost what was published but not yet applied. The relay notices by the
topic ids, which change when a topic is created again, and then sends every
event that no processor has applied once more. It looks on every (re)connect
and, while publishing, every few seconds; a restart during a quiet spell is
noticed with the next event. With a durable Kafka the ids never change, so
this never runs; if it did, the inbox would ignore the repeats.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Engine

from services.core.events import TOPICS
from services.ingest.kafka import ensure_settings_topics, producer
from services.observability import ingest_metrics as metrics
from services.settings import Settings
from services.store import outbox

log = logging.getLogger(__name__)


class Relay:
    """A daemon thread; `wake()` after each commit makes it publish at once."""

    def __init__(
        self, engine: Engine, settings: Settings, batch: int = 2000, check_every: float = 5.0
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._batch = batch
        self._check_every = check_every
        self._checked_at = -check_every
        self._topic_ids: dict[str, str | None] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._producer: KafkaProducer | None = None
        self.connected = False
        # Every topic's series from 0: an alert's increase() then sees the first event,
        # and a topic nothing was published to reads 0, not "no data".
        for name in TOPICS:
            metrics.RELAY_PUBLISHED.labels(settings.topic(name))

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._producer is not None:
            self._producer.close(timeout=5)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            # Cleared before publishing: a wake() that comes during the publish
            # is kept for the next round instead of being lost.
            self._wake.clear()
            try:
                sent = self.publish_pending()
                backoff = 0.5
            except (KafkaError, OSError) as exc:
                metrics.RELAY_ERRORS.inc()
                # Broker away: keep the events in the outbox and retry with backoff.
                log.warning("relay: broker unavailable (%s); retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            except Exception:
                metrics.RELAY_ERRORS.inc()
                log.exception("relay: unexpected error; retrying")
                self._stop.wait(backoff)
                continue
            if sent < self._batch:
                self._wake.wait(1.0)

    def publish_pending(self) -> int:
        """Publish one batch of the backlog; returns how many events were sent.

        While the broker is away this raises KafkaError or OSError, and drops the
        producer: one that a restarted broker no longer knows cannot carry on
        (Tansu fails its InitProducerId), so the next call builds a new one.
        """
        try:
            return self._publish_batch()
        except (KafkaError, OSError):
            self._drop_producer()
            raise

    def _publish_batch(self) -> int:
        if self._producer is None:
            self._check_topics()  # on every (re)connect, before anything is sent
        prod = self._ensure_producer()
        with self._engine.connect() as conn:
            batch = outbox.pending(conn, self._batch)
        if not batch:
            return 0
        if time.monotonic() - self._checked_at >= self._check_every:
            # A broker that restarted between two sends, without the relay seeing an
            # error. Not while idle: an idle relay leaves the broker alone.
            self._check_topics()
        futures = [prod.send(p.topic, key=p.key.encode(), value=p.payload.encode()) for p in batch]
        prod.flush(timeout=30)
        for fut in futures:
            fut.get(timeout=0)  # raises the send's KafkaError, if any
        with self._engine.begin() as conn:
            received = [p.received_at_us for p in batch]
            outbox.mark_published(conn, [p.id for p in batch], (min(received), max(received)))
        for topic, n in Counter(p.topic for p in batch).items():
            metrics.RELAY_PUBLISHED.labels(topic).inc(n)
        metrics.RELAY_LAST_PUBLISH.value = time.time()
        return len(batch)

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = producer(self._settings.kafka_bootstrap)
            self.connected = True
        return self._producer

    def _check_topics(self) -> None:
        """Create missing topics; if any was created anew, resend what is unapplied."""
        ids = ensure_settings_topics(self._settings)
        renewed = recreated(self._topic_ids, ids)
        if renewed:
            with self._engine.begin() as conn:
                requeued = outbox.requeue_unapplied(conn)
            log.warning(
                "relay: topics %s are new on the broker (it lost its log); "
                "%d events no processor has applied are sent again",
                ", ".join(renewed),
                requeued,
            )
        # Only once the requeue is committed: if it failed, the next check finds the same change.
        self._topic_ids = ids
        self._checked_at = time.monotonic()

    def _drop_producer(self) -> None:
        self.connected = False
        if self._producer is not None:
            with contextlib.suppress(Exception):  # already failing; closing is best effort
                self._producer.close(timeout=1)
            self._producer = None


def recreated(before: Mapping[str, str | None], now: Mapping[str, str | None]) -> list[str]:
    """The topics known before whose id is now another: created again since."""
    return sorted(t for t, i in now.items() if before.get(t) not in (None, i))
