"""Prometheus metrics of the processor worker; names and labels are defined once, here.

Names follow Prometheus conventions (`promtool check metrics` runs in the tests):
base units, `_total` on counters only. Labels never carry personal data.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from pydantic_core import from_json

from services.core.events import EVENT_MODELS, topic_for
from services.observability.optional_gauge import OptionalGauge

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
# The reason label's values, a small fixed set (see deadletter_reason).
DEADLETTER_REASONS = (
    "empty",
    "not_json",
    "not_an_event",
    "unknown_type",
    "wrong_topic",
    "invalid_field",
    "processing_failed",
    "store_rejected",
)
# How the worker's own reasons start (the rest are the validator's words).
PROCESSING_FAILED = "processing failed"
STORE_REJECTED = "store rejected"
DEADLETTERED = Counter(
    "opstrack_processor_deadlettered_total",
    "Messages sent to the dead-letter topic, by the topic they came from and why: "
    + ", ".join(DEADLETTER_REASONS)
    + ".",
    ["topic", "reason"],
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
# Talk times (call.completed), so average handle time = rate(seconds) / rate(talked).
CALLS_TALKED = Counter(
    "opstrack_calls_talked_total", "Answered calls whose talk time was reported.", _CALL
)
CALLS_TALK_SECONDS = Counter(
    "opstrack_calls_talk_seconds_total", "Sum of the talk times of answered calls.", _CALL
)
CALL_WAIT = Histogram(
    "opstrack_call_wait_seconds",
    "Time calls waited in the queue, by outcome (answered, abandoned, exited).",
    [*_CALL, "outcome"],
    buckets=(5, 10, 20, 30, 60, 120, 300, 600),
)

# --- tickets, incidents, changes (gauges are refreshed by the worker's clock) ---
ENTITY_EVENTS = Counter(
    "opstrack_entity_events_total",
    "Ticket, incident, change, freeze and indicator events applied, by type.",
    ["type"],
)
TICKETS_OPEN = Gauge(
    "opstrack_tickets_open",
    "Open tickets by priority and SLA state (ok, warning, breached, none: no target).",
    ["priority", "sla"],
)
SLA_EVENTS = Counter(
    "opstrack_sla_events_total",
    "SLA warnings and breaches raised for open tickets (each once per ticket).",
    ["type", "priority"],
)
INCIDENTS_OPEN = Gauge(
    "opstrack_incidents_open",
    "Unresolved incidents by service and severity.",
    ["service", "severity"],
)
SERVICE_DOWN = Gauge(
    "opstrack_service_down",
    "1 while a service is in an outage, its own or a dependency's (cause label).",
    ["service", "cause"],
)
ESERVICE_STATUS = Gauge(
    "opstrack_eservice_status",
    "An e-service's state on the public status page now, per municipality: 0 operational, "
    "1 maintenance, 2 degraded, 3 outage.",
    ["service", "municipality"],
)
FREEZES_ACTIVE = Gauge("opstrack_freezes_active", "Change freezes in force now.")
FREEZE_VIOLATIONS = Gauge(
    "opstrack_change_freeze_violations",
    "Changes implemented inside a freeze covering their service without an approved "
    "emergency exception, all time, by service (use delta() or changes() to alert).",
    ["service"],
)
CLOCK_SECONDS = Histogram(
    "opstrack_processor_clock_duration_seconds",
    "Time of one SLA check and gauge refresh.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5),
)

# --- the goal table (MER), for the current year ---
INDICATOR_VALUE = Gauge(
    "opstrack_indicator_value",
    "Goal-table indicators for the current year: kind current (nuvärde), forecast "
    "(prognos) or target (målvärde); percentages as fractions, yes/no as 1/0.",
    ["indicator", "kind"],
)
INDICATOR_ACHIEVED = Gauge(
    "opstrack_indicator_achieved",
    "1 when the indicator meets its target (judged as the goals file says), 0 when not.",
    ["indicator"],
)

INDICATOR_CURRENT_ACHIEVED = Gauge(
    "opstrack_indicator_current_achieved",
    "1 when the indicator's current value (nuvärde) meets its target, 0 when not; "
    "absent without a current value (whatever a forecast says).",
    ["indicator"],
)

# --- period figures from the store, by event time: exported by the lease holder only ---
# Label `period`: today, week (ISO), month, tertial, year, the current one in Stockholm,
# with exactly the bounds of GET /v1/sli/...?period=<that period>.
_PCALL = ["period", "queue", "municipality"]
PERIOD_CALLS_OFFERED = Gauge(
    "opstrack_period_calls_offered", "Calls offered in the current period (store).", _PCALL
)
PERIOD_CALLS_SHORT_ABANDONED = Gauge(
    "opstrack_period_calls_short_abandoned",
    "Calls abandoned before the short-abandon limit in the current period (store).",
    _PCALL,
)
PERIOD_CALLS_ANSWERED = Gauge(
    "opstrack_period_calls_answered", "Calls answered in the current period (store).", _PCALL
)
PERIOD_CALLS_ABANDONED = Gauge(
    "opstrack_period_calls_abandoned", "Calls abandoned in the current period (store).", _PCALL
)
PERIOD_CALLS_ANSWERED_WITHIN = Gauge(
    "opstrack_period_calls_answered_within",
    "Calls answered within the threshold (seconds) in the current period (store).",
    [*_PCALL, "threshold"],
)
PERIOD_CALLS_ANSWERED_WAIT = Gauge(
    "opstrack_period_calls_answered_wait_seconds",
    "Sum of the waits of answered calls in the current period (store); ASA = this / answered.",
    _PCALL,
)
PERIOD_TICKETS_RESOLVED = Gauge(
    "opstrack_period_tickets_resolved",
    "Tickets finally resolved in the current period (store).",
    ["period"],
)
PERIOD_TICKETS_HANDLING = Gauge(
    "opstrack_period_tickets_handling_hours",
    "Handling hours of the tickets resolved in the current period: stat mean, median, "
    "p90, business_mean (business hours); absent when none was resolved.",
    ["period", "stat"],
)
PERIOD_TICKETS_GROUP_RESOLVED = Gauge(
    "opstrack_period_tickets_group_resolved",
    "Tickets finally resolved in the current period, by category and priority (store).",
    ["period", "category", "priority"],
)
PERIOD_TICKETS_GROUP_HANDLING = Gauge(
    "opstrack_period_tickets_group_handling_hours",
    "Handling hours of the tickets resolved in the current period, by category and "
    "priority: stat mean, median, p90, business_mean.",
    ["period", "category", "priority", "stat"],
)
PERIOD_SERVICE_AVAILABILITY = Gauge(
    "opstrack_period_service_availability_ratio",
    "Availability of a service over the current period, its dependencies' outages included.",
    ["period", "service"],
)
PERIOD_SERVICE_DOWNTIME = Gauge(
    "opstrack_period_service_downtime_seconds",
    "Downtime of a service in the current period, its dependencies' outages included.",
    ["period", "service"],
)
# The same per municipality: an outage in Laxå is not downtime in Askersund (only the
# incidents that touched the municipality, or named none, count).
PERIOD_LOCAL_AVAILABILITY = Gauge(
    "opstrack_period_service_municipality_availability_ratio",
    "Availability of a service in one municipality over the current period.",
    ["period", "service", "municipality"],
)
PERIOD_LOCAL_DOWNTIME = Gauge(
    "opstrack_period_service_municipality_downtime_seconds",
    "Downtime of a service in one municipality in the current period.",
    ["period", "service", "municipality"],
)
PERIOD_INCIDENTS_MTTR = Gauge(
    "opstrack_period_incidents_mttr_seconds",
    "Mean time to resolve the incidents of a service resolved in the current period.",
    ["period", "service"],
)


# --- lease holder only: the staffing plan of the current and next ISO week (Stockholm) ---
# All queues pooled, as GET /v1/staffing?week=... without a queue answers; one series
# per open half hour (7 weekdays x 48 slots at most), none for a closed day.
_STAFFING = ["week", "weekday", "slot"]
STAFFING_REQUIRED = Gauge(
    "opstrack_staffing_required_agents",
    "Agents a half hour needs to answer the target share within the threshold, by model "
    "(erlang_c, erlang_a); week current or next, weekday Mon..Sun, slot its local start HH:MM.",
    ["week", "model", "weekday", "slot"],
)
STAFFING_SCHEDULED = Gauge(
    "opstrack_staffing_scheduled_agents",
    "Agents to schedule in a half hour: the Erlang C figure after shrinkage.",
    _STAFFING,
)
STAFFING_EXPECTED_CALLS = Gauge(
    "opstrack_staffing_expected_calls",
    "Calls expected in a half hour, from the staffing plan's basis weeks.",
    _STAFFING,
)
STAFFING_GAUGES = (STAFFING_REQUIRED, STAFFING_SCHEDULED, STAFFING_EXPECTED_CALLS)

# No sample on a worker without the lease: only the holder says when it refreshed.
PERIOD_FIGURES_REFRESHED = OptionalGauge(
    "opstrack_period_figures_refreshed_timestamp_seconds",
    "When this worker, the lease holder, last refreshed the period figures (unix seconds).",
)
GOAL_GAUGES = (INDICATOR_VALUE, INDICATOR_ACHIEVED, INDICATOR_CURRENT_ACHIEVED)
PERIOD_GAUGES = (
    PERIOD_CALLS_OFFERED,
    PERIOD_CALLS_SHORT_ABANDONED,
    PERIOD_CALLS_ANSWERED,
    PERIOD_CALLS_ABANDONED,
    PERIOD_CALLS_ANSWERED_WITHIN,
    PERIOD_CALLS_ANSWERED_WAIT,
    PERIOD_TICKETS_RESOLVED,
    PERIOD_TICKETS_HANDLING,
    PERIOD_TICKETS_GROUP_RESOLVED,
    PERIOD_TICKETS_GROUP_HANDLING,
    PERIOD_SERVICE_AVAILABILITY,
    PERIOD_SERVICE_DOWNTIME,
    PERIOD_INCIDENTS_MTTR,
    PERIOD_LOCAL_AVAILABILITY,
    PERIOD_LOCAL_DOWNTIME,
)

# --- every worker: opening hours, source freshness, handling time as tickets resolve ---
SERVICEDESK_OPEN = Gauge(
    "opstrack_servicedesk_open",
    "1 inside the servicedesk's opening hours (business calendar: Mon-Fri 08-17 "
    "Europe/Stockholm, Swedish holidays closed), else 0.",
)
CALLS_LAST_EVENT = Gauge(
    "opstrack_calls_last_event_timestamp_seconds",
    "Event time of the newest call event this worker applied; aggregate with max by (queue).",
    _CALL,
)
TICKET_HANDLING_HOURS = Histogram(
    "opstrack_ticket_handling_hours",
    "Handling hours of each ticket when it is first resolved (pauses subtracted).",
    ["category", "priority"],
    buckets=(1, 2, 4, 8, 12, 16, 20, 24, 32, 48, 72, 120, 240),
)

# --- unacknowledged incidents, for "severity-1 incident unacknowledged for 15 min" ---
INCIDENTS_UNACKNOWLEDGED = Gauge(
    "opstrack_incidents_unacknowledged",
    "Unresolved incidents not yet acknowledged, by service and severity.",
    ["service", "severity"],
)
# A timestamp rather than an age (Prometheus' advice): it stays right between
# refreshes, and an alert takes the age as time() minus it.
UNACKNOWLEDGED_OLDEST = Gauge(
    "opstrack_incidents_unacknowledged_oldest_opened_timestamp_seconds",
    "When the oldest unacknowledged unresolved incident was opened, by service and severity.",
    ["service", "severity"],
)


def deadletter_reason(topic: str, value: bytes | None, reason: str) -> str:
    """The label for a dead-lettered message from `topic` (unprefixed), from a small fixed set.

    Worked out from the message itself rather than the reason's wording, which is the
    validator's and may change; `reason` only tells the worker's own failures apart.
    """
    if reason.startswith(PROCESSING_FAILED):
        return "processing_failed"
    if reason.startswith(STORE_REJECTED):
        return "store_rejected"  # valid by the contract, refused by the store for good
    if not value:
        return "empty"  # a null (tombstone) or zero-length value
    try:
        doc = from_json(value)  # the event validator's own JSON reader: it takes 1e400 too
    except ValueError:
        return "not_json"
    if not isinstance(doc, dict):
        return "not_an_event"
    kind = doc.get("type")
    if not isinstance(kind, str) or kind not in EVENT_MODELS:
        return "unknown_type"
    if topic_for(kind) != topic:
        return "wrong_topic"
    return "invalid_field"
