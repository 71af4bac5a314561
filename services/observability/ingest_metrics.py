"""Prometheus metrics of the ingest API process; names and labels are defined once, here.

Names follow Prometheus conventions (`promtool check metrics` runs in the tests):
base units, `_total` on counters only. Labels never carry personal data.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
    "Events the outbox relay has published to Kafka (acks=all).",
)
