"""Prometheus metrics of the ingest API process; names and labels are defined once, here.

Names follow Prometheus conventions (`promtool check metrics` runs in the tests):
base units, `_total` on counters only. Labels never carry personal data, and
their values come from small fixed sets (topics, route templates, status classes).
The pipeline alerts (services/observability/rules_pipeline.py) read these.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from services.observability.optional_gauge import OptionalGauge

INGEST_EVENTS = Counter(
    "opstrack_ingest_events_total",
    "Events received over HTTP, by result (accepted, duplicate, conflict, rejected).",
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


RELAY_LAST_PUBLISH = OptionalGauge(
    "opstrack_relay_last_publish_timestamp_seconds",
    "When the outbox relay last published a batch to Kafka; absent until it has, "
    "since the process started.",
)
