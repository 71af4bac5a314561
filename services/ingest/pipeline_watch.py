"""The API's periodic look at the store for the pipeline's gauges: outbox backlog and the
oldest event no worker has applied (per topic), which the pipeline alerts read.

A thread of its own rather than the relay's: while the broker is away the relay
sits in its backoff, and that is exactly when these gauges must stay fresh.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from services.observability import ingest_metrics as metrics
from services.processor.reducers import APPLIED_TOPICS
from services.settings import Settings
from services.store import outbox
from services.store.db import now_us

log = logging.getLogger(__name__)

INTERVAL_S = 10.0  # within one scrape interval (15 s in deploy/prometheus/prometheus.yml)
# How long an accepted event may take to become visible: its received_at_us is taken
# before its transaction commits, which may wait up to SQLite's 30 s busy timeout.
# The scan mark stays this far behind now, so such a late commit is still seen.
SETTLE_US = 120_000_000


class PipelineWatch:
    """Refreshes the gauges every `interval` seconds in a daemon thread; `refresh()` once."""

    def __init__(self, engine: Engine, settings: Settings, interval: float = INTERVAL_S) -> None:
        self._engine = engine
        self._applied = frozenset(settings.topic(name) for name in APPLIED_TOPICS)
        self._interval = interval
        # Every event accepted before this (epoch µs) is known to be applied. 0 at first:
        # the first refresh reads the whole outbox, once per process.
        self._since_us = 0
        self._topics: set[str] = set()
        # What the last refresh found, for readers in other threads (the status page):
        # topic -> received_at_us of its oldest unapplied event, and when it looked.
        self.oldest_us: dict[str, int] = {}
        self.refreshed_at_us: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pipeline-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except DBAPIError as exc:
                # The gauges keep their last values; the store's own alerts say why.
                log.warning("pipeline gauges: store unavailable: %s", exc)
            except Exception:
                log.exception("pipeline gauges: unexpected error; trying again")
            self._stop.wait(self._interval)

    def refresh(self) -> None:
        started = now_us()
        with self._engine.connect() as conn:
            backlog = outbox.backlog(conn)
            oldest = outbox.oldest_unapplied(conn, self._applied, self._since_us)
        metrics.OUTBOX_BACKLOG.set(backlog)
        for topic in self._topics - oldest.keys():
            metrics.OLDEST_UNAPPLIED.remove(topic)  # all applied: no series, not a stale one
        for topic, at_us in oldest.items():
            metrics.OLDEST_UNAPPLIED.labels(topic).set(at_us / 1_000_000)
        self._topics = set(oldest)
        self.oldest_us, self.refreshed_at_us = dict(oldest), started
        self._since_us = min([started - SETTLE_US, *oldest.values()])
