"""The pipeline dashboard: opstrack watching itself, from ingest to the store.

The same signals the pipeline alerts (rules_pipeline.py) read: scrape targets, the API's
ingest, HTTP responses, outbox and relay, events not yet applied, and the workers'
applying, retries, dead letters and batch times, and the call sources.

A counter child appears with its first count (a route's first 5xx, a topic's first store
retry): where a panel divides or compares such a child, a missing one is taken as zero
only beside a sibling that shows the process reported (`or 0 * <sibling>`), so the panel
reads 0 while opstrack is scraped and "No data" when it is not, never a made-up 0.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, statetimeline
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm

from services.observability.dashboard_parts import (
    PROMETHEUS,
    board,
    query,
    series,
    single,
    steps,
    value_text,
)

RATE = "$__rate_interval"
JOBS = 'job=~"opstrack-.*"'
PER_S = "ops"  # Grafana's "ops/sec"
NONE_GOOD = steps((None, "green"), (1, "red"))
OLDEST = "opstrack_outbox_oldest_unapplied_timestamp_seconds"
# The API reports its backlog whenever it is scraped: with no topic waiting, the oldest
# unapplied event's age is 0 then, and absent only when the API is not scraped.
API_REPORTS = "0 * max(opstrack_outbox_pending_events)"
RESPONSES = f"sum by (route) (rate(opstrack_http_responses_total[{RATE}]))"
CONSUMED = f"sum by (topic) (rate(opstrack_processor_events_total[{RATE}]))"


def _oldest_age() -> str:
    return f"time() - min({OLDEST}) or on () {API_REPORTS}"


def _oldest_age_by_topic() -> str:
    none_waiting = f'label_replace({API_REPORTS}, "topic", "none waiting", "", "")'
    return f"time() - min by (topic) ({OLDEST}) or on () {none_waiting}"


def _server_error_share() -> str:
    errors = f'sum by (route) (rate(opstrack_http_responses_total{{code_class="5xx"}}[{RATE}]))'
    return f"({errors} or 0 * {RESPONSES}) / {RESPONSES}"


def _store_retries() -> str:
    retries = f"sum by (topic) (rate(opstrack_processor_store_retries_total[{RATE}]))"
    return f"{retries} or 0 * {CONSUMED}"


def _targets() -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title("Scrape targets")
        .description("Each opstrack process Prometheus scrapes, up or down.")
        .datasource(PROMETHEUS)
        .with_target(query(f"up{{{JOBS}}}", "{{job}} {{instance}}"))
        .mappings(value_text({"0": ("down", "red"), "1": ("up", "green")}))
        .span(12)
        .height(8)
        .show_value(cm.VisibilityMode.NEVER)
        .merge_values(True)
    )


def _quiet_queues() -> bargauge.Panel:
    last = "max by (queue) (opstrack_calls_last_event_timestamp_seconds)"
    return (
        bargauge.Panel()
        .title("Since the last call, by queue")
        .description(
            "Event time of the newest call applied from each queue; CallSourceQuiet "
            "tickets when a queue is quiet for 30 minutes of opening hours."
        )
        .datasource(PROMETHEUS)
        .with_target(query(f"time() - {last}", "{{queue}}", instant=True))
        .unit("s")
        .thresholds(steps((None, "green"), (1800, "orange")))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .span(12)
        .height(8)
    )


def pipeline(_opstrack_url: str) -> db.Dashboard:
    return (
        board(
            "opstrack-pipeline",
            "opstrack · Pipeline",
            "opstrack itself: scrape targets, ingest and HTTP errors, outbox and relay, "
            "events not yet applied, and the workers applying them.",
            "now-6h",
        )
        .with_row(db.Row("Now"))
        .with_panel(
            single(
                "Targets up",
                query(f"sum(up{{{JOBS}}})"),
                description="opstrack processes Prometheus scraped successfully just now.",
                span=6,
            )
        )
        .with_panel(
            single(
                "Outbox backlog now",
                query("max(opstrack_outbox_pending_events)"),
                description="Accepted events not yet published to Kafka.",
                span=6,
            )
        )
        .with_panel(
            single(
                "Oldest unapplied event, age",
                query(_oldest_age()),
                unit="s",
                description="Since the API accepted the oldest event no worker has applied "
                "yet; 0 when every event is applied. Alert at 10 minutes.",
                span=6,
            ).thresholds(steps((None, "green"), (120, "orange"), (600, "red")))
        )
        .with_panel(
            single(
                "Since the relay last published",
                query("time() - max(opstrack_relay_last_publish_timestamp_seconds)"),
                unit="s",
                description="No data until the relay has published once since the API started.",
                span=6,
            )
        )
        .with_row(db.Row("Ingest and relay"))
        .with_panel(_targets())
        .with_panel(
            series(
                "Ingest rate by result",
                query(
                    f"sum by (result) (rate(opstrack_ingest_events_total[{RATE}]))", "{{result}}"
                ),
                unit=PER_S,
            )
        )
        .with_panel(
            series(
                "HTTP responses by status class",
                query(
                    f"sum by (code_class) (rate(opstrack_http_responses_total[{RATE}]))",
                    "{{code_class}}",
                ),
                unit="reqps",
            )
        )
        .with_panel(
            series(
                "HTTP 5xx share by route",
                query(_server_error_share(), "{{route}}"),
                unit="percentunit",
                description="Share of each route's responses that were server errors; "
                "IngestServerErrors pages above 5 % on the ingest routes.",
            ).thresholds(NONE_GOOD)
        )
        .with_panel(
            series("Outbox backlog", query("max(opstrack_outbox_pending_events)", "pending"))
        )
        .with_panel(
            series(
                "Relay published rate and errors",
                query(
                    f"sum by (topic) (rate(opstrack_relay_published_events_total[{RATE}]))",
                    "{{topic}}",
                ),
                query(
                    f"sum(rate(opstrack_relay_errors_total[{RATE}]))",
                    "failed rounds",
                    ref="B",
                ),
                unit=PER_S,
            )
        )
        .with_panel(
            series(
                "Age of the oldest unapplied event",
                query(_oldest_age_by_topic(), "{{topic}}"),
                unit="s",
                description="By topic; 0 (none waiting) when every event is applied.",
            )
        )
        .with_row(db.Row("Workers"))
        .with_panel(
            series(
                "Processor applied rate by topic",
                query(
                    'sum by (topic) (rate(opstrack_processor_events_total{result="applied"}'
                    f"[{RATE}]))",
                    "{{topic}}",
                ),
                unit=PER_S,
            )
        )
        .with_panel(
            series(
                "Batch duration p95 by topic",
                query(
                    "histogram_quantile(0.95, sum by (topic, le) "
                    f"(rate(opstrack_processor_batch_duration_seconds_bucket[{RATE}])))",
                    "{{topic}}",
                ),
                unit="s",
            )
        )
        .with_panel(
            series(
                "Store retries by topic",
                query(_store_retries(), "{{topic}}"),
                unit=PER_S,
                description="Store transactions that failed and were retried.",
            )
        )
        .with_panel(
            series(
                "Dead letters by reason",
                query(
                    f"sum by (reason) (increase(opstrack_processor_deadlettered_total[{RATE}]))",
                    "{{reason}}",
                ),
                description="Messages sent to the dead-letter topic in each interval.",
            ).thresholds(NONE_GOOD)
        )
        .with_panel(_quiet_queues())
    )
