"""Prometheus metrics of the ingest API process; names and labels are defined once, here.

Names follow Prometheus conventions (`promtool check metrics` runs in the tests):
base units, `_total` on counters only. Labels never carry personal data, and
their values come from small fixed sets (topics, route templates, status classes).
The pipeline alerts (services/observability/rules_pipeline.py) read these.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

INGEST_EVENTS = Counter(
    "opstrack_ingest_events_total",
    "Events received over HTTP, by result (accepted, duplicate, rejected).",
    ["result"],
)
OUTBOX_BACKLOG = Gauge(
    "opstrack_outbox_pending_events",
    "Accepted events stored in the outbox and not yet published to Kafka.",
)
RELAY_PUBLISHED = Counter(
    "opstrack_relay_published_events_total",
    "Events the outbox relay has published to Kafka (acks=all), by topic.",
    ["topic"],
)
RELAY_ERRORS = Counter(
    "opstrack_relay_errors_total",
    "Publishing rounds of the outbox relay that failed (broker away, store error, ...).",
)
# A timestamp rather than an age (Prometheus' advice): it stays right between
# refreshes, and an alert takes the age as time() minus it. Per topic, so an alert
# says which topic (and so which agent) is behind; a topic with nothing unapplied
# has no series.
OLDEST_UNAPPLIED = Gauge(
    "opstrack_outbox_oldest_unapplied_timestamp_seconds",
    "When the API accepted the oldest event of the topic that no worker has applied yet "
    "(published or not); no series when every event of the topic is applied.",
    ["topic"],
)
HTTP_RESPONSES = Counter(
    "opstrack_http_responses_total",
    "HTTP responses of the API, by route template (the path as declared, "
    '"unmatched" for paths no route takes) and status class (2xx, 3xx, 4xx, 5xx).',
    ["route", "code_class"],
)


class OptionalGauge(Collector):
    """An unlabelled gauge that has no sample until it is first set.

    prometheus_client's Gauge reads 0 before it is set; for a timestamp that is a
    lie (1970), so this one is absent until there is a value.
    """

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry = REGISTRY):
        self.name, self.documentation = name, documentation
        self._value: float | None = None
        self._lock = threading.Lock()
        registry.register(self)

    def set(self, value: float | None) -> None:
        with self._lock:
            self._value = value

    def get(self) -> float | None:
        with self._lock:
            return self._value

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily(self.name, self.documentation)]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        value = self.get()
        return [] if value is None else [GaugeMetricFamily(self.name, self.documentation, value)]


RELAY_LAST_PUBLISH = OptionalGauge(
    "opstrack_relay_last_publish_timestamp_seconds",
    "When the outbox relay last published a batch to Kafka; absent until it has, "
    "since the process started.",
)
