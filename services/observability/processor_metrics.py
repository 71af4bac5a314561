"""Prometheus metrics of the processor worker; names and labels are defined once, here.

Names follow Prometheus conventions (`promtool check metrics` runs in the tests):
base units, `_total` on counters only. Labels never carry personal data.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROCESSED = Counter(
    "opstrack_processor_events_total",
    "Events consumed by the processor, by topic and result (applied, duplicate, invalid).",
    ["topic", "result"],
)
BATCH_SECONDS = Histogram(
    "opstrack_processor_batch_duration_seconds",
    "Time to apply one batch of events to the store, in one transaction.",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STORE_RETRIES = Counter(
    "opstrack_processor_store_retries_total",
    "Store transactions that failed and were retried.",
    ["topic"],
)

_CALL = ["queue", "municipality"]
CALLS_OFFERED = Counter("opstrack_calls_offered_total", "Calls that ended their queue stay.", _CALL)
CALLS_ANSWERED = Counter("opstrack_calls_answered_total", "Calls answered.", _CALL)
CALLS_ANSWERED_WITHIN = Counter(
    "opstrack_calls_answered_within_total",
    "Calls answered within the threshold (seconds) of the label.",
    [*_CALL, "threshold"],
)
CALLS_ABANDONED = Counter(
    "opstrack_calls_abandoned_total", "Calls abandoned by the caller in the queue.", _CALL
)
CALLS_SHORT_ABANDONED = Counter(
    "opstrack_calls_short_abandoned_total",
    "Abandoned calls that hung up before the short-abandon limit.",
    _CALL,
)
CALLS_EXITED = Counter(
    "opstrack_calls_exited_total",
    "Calls that left the queue without answer or abandon (timeout, key, empty, full, closed).",
    [*_CALL, "reason"],
)
CALL_WAIT = Histogram(
    "opstrack_call_wait_seconds",
    "Time calls waited in the queue, by outcome (answered, abandoned, exited).",
    [*_CALL, "outcome"],
    buckets=(5, 10, 20, 30, 60, 120, 300, 600),
)
