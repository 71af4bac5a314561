"""Alerts on opstrack itself (rule file pipeline.yml): the pipeline watches itself.

If the pipeline stops, the service-level alerts do not fire, they go silent; these
say that it stopped, and where: a scrape target down, no worker up, the outbox relay
stalled or falling behind, events accepted but not applied, an agent that stopped
consuming its topic, ingest answering 5xx, the store refusing writes, the period
figures not refreshed, and a call source gone quiet in opening hours.

Every alert carries summary, description, runbook (one line: what to do) and
runbook_url (the alert's anchor in the runbook, under a base the caller supplies).
Counters are summed over instances before they are compared: with several workers
(some may hold no partition of a topic) a topic is judged as a whole.
"""

from __future__ import annotations

from typing import Any

Rule = dict[str, Any]

JOBS = 'job=~"opstrack-.*"'  # the job names of deploy/prometheus/prometheus.yml
WORKER_JOB = 'job="opstrack-worker"'
# The routes that take events in (route templates, as opstrack_http_responses_total says).
INGEST_ROUTES = 'route=~"/v1/events|/v1/webhooks/.+"'

TARGET_DOWN_FOR = "3m"  # a restart or a slow scrape is no news
NO_WORKER_FOR = "2m"
STALL = "5m"  # the relay or an agent doing nothing while there is work, this long
BACKLOG_GROWING_FOR = "5m"  # on top of the STALL window the growth is measured over
UNAPPLIED_AFTER_S = 600  # an accepted event not applied after 10 minutes
# An agent is judged stopped only while an event of its topic has waited this long:
# a worker that consumed a burst before its first scrape shows no increase, but
# leaves nothing unapplied either.
WAITING_S = 120
SERVER_ERROR_RATIO = 0.05  # of ingest responses over the STALL window
SERVER_ERRORS_FOR = "2m"
RETRY_WINDOW = "10m"
RETRIES = 10  # a store away for about a minute, at the worker's backoff (0.2 s to 10 s)
FIGURES_STALE_S = 300  # the lease holder refreshes the period figures far more often
QUIET_S = 1800  # no calls from a queue for 30 minutes of opening hours
# A queue unheard of for longer than this is retired (or only in imported history),
# not quiet: it would otherwise alert every opening hour for ever.
QUIET_HORIZON_S = 7 * 86400
QUIET_OPEN = "30m"  # the servicedesk open throughout this long, so 08:00 does not alert


def pipeline_group(runbook_base: str) -> Rule:
    """The rule group of pipeline.yml; runbook_url is `<runbook_base>#<alert name lowercased>`."""
    rules = [
        _target_down(),
        _no_worker(),
        _relay_stalled(),
        _backlog_growing(),
        _unapplied(),
        _worker_not_applying(),
        _ingest_errors(),
        _store_retries(),
        _figures_stale(),
        _source_quiet(),
        _child_restarting(),
    ]
    for rule in rules:
        rule["annotations"]["runbook_url"] = f"{runbook_base}#{rule['alert'].lower()}"
    return {"name": "opstrack-pipeline", "rules": rules}


def _alert(
    name: str,
    expr: str,
    severity: str,
    summary: str,
    description: str,
    runbook: str,
    for_: str | None = None,
) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    # About opstrack itself: as an opstrack incident it would feed back into what it
    # measures, so Alertmanager's opstrack route skips it (deploy/alertmanager).
    rule["labels"] = {"severity": severity, "incident": "false"}
    rule["annotations"] = {"summary": summary, "description": description, "runbook": runbook}
    return rule


def _target_down() -> Rule:
    return _alert(
        "OpstrackTargetDown",
        f"up{{{JOBS}}} == 0",
        "ticket",
        "opstrack target {{ $labels.instance }} ({{ $labels.job }}) is down",
        "Prometheus has not scraped {{ $labels.job }} at {{ $labels.instance }} for "
        f"{TARGET_DOWN_FOR}: the process is down or unreachable, and what it exports "
        "(and the alerts on it) is missing meanwhile.",
        "Look at the process (`docker compose ps`, its logs) and start it again; "
        "the alert clears at the next good scrape.",
        TARGET_DOWN_FOR,
    )


def _no_worker() -> Rule:
    return _alert(
        "OpstrackNoWorkerUp",
        f"absent(up{{{WORKER_JOB}}} == 1)",
        "page",
        "No opstrack worker is up",
        f"No opstrack-worker target has been up for {NO_WORKER_FOR}: no event is applied, "
        "every figure stands still and the service-level alerts cannot fire.",
        "Start the workers (`docker compose up -d worker-1 worker-2`) and read their logs "
        "for why they stopped; the events wait in Kafka and the outbox.",
        NO_WORKER_FOR,
    )


def _relay_stalled() -> Rule:
    # The backlog as the value; stalled while none of the API processes published.
    return _alert(
        "OutboxRelayStalled",
        f"max(min_over_time(opstrack_outbox_pending_events[{STALL}])) > 0\n"
        "unless on ()\n"
        f"sum(increase(opstrack_relay_published_events_total[{STALL}])) > 0\n",
        "page",
        "The outbox relay has published nothing for 5 minutes while events wait",
        "{{ $value }} accepted events wait in the outbox and the relay has published "
        f"none in {STALL}: Kafka is away or the relay is stuck "
        "(opstrack_relay_errors_total counts its failed rounds).",
        "Check the broker (`/readyz` says broker: false when the API cannot reach it) and "
        "the API's log for relay errors; restart the API if the broker is fine.",
        "1m",
    )


def _backlog_growing() -> Rule:
    return _alert(
        "OutboxBacklogGrowing",
        f"max(min_over_time(opstrack_outbox_pending_events[{STALL}])) > 0\n"
        "and on ()\n"
        f"max(delta(opstrack_outbox_pending_events[{STALL}])) > 0\n",
        "ticket",
        "The outbox backlog keeps growing",
        "The outbox has held unpublished events throughout and grown over every "
        f"{STALL} window for {BACKLOG_GROWING_FOR} (at least {{{{ $value }}}} waiting): "
        "events come in faster than the relay publishes them.",
        "Check the broker's health and latency and the API's log; a large import drains "
        "by itself, otherwise add broker capacity.",
        BACKLOG_GROWING_FOR,
    )


def _unapplied() -> Rule:
    return _alert(
        "EventsUnappliedTooLong",
        f"time() - min by (topic) (opstrack_outbox_oldest_unapplied_timestamp_seconds)"
        f" > {UNAPPLIED_AFTER_S}",
        "page",
        "Events on {{ $labels.topic }} accepted but not applied for over 10 minutes",
        "The oldest event on {{ $labels.topic }} that no worker has applied was accepted "
        "{{ $value | humanizeDuration }} ago: the figures of that topic lag behind "
        "(relay, broker, or the worker holding its partition).",
        "Follow OutboxRelayStalled or WorkerNotApplying if either fires; otherwise look for "
        "a worker whose partition of the topic does not move (its log, consumer lag).",
    )


def _worker_not_applying() -> Rule:
    published = "opstrack_relay_published_events_total"
    consumed = "opstrack_processor_events_total"  # applied, duplicate or invalid: consumed
    oldest = "opstrack_outbox_oldest_unapplied_timestamp_seconds"
    return _alert(
        "WorkerNotApplying",
        "(\n"
        f"  sum by (topic) (increase({published}[{STALL}])) > 0\n"
        "  unless on (topic)\n"
        f"  sum by (topic) (increase({consumed}[{STALL}])) > 0\n"
        ")\n"
        "and on (topic)\n"
        f"time() - min by (topic) ({oldest}) > {WAITING_S}\n",
        "page",
        "No worker consumes {{ $labels.topic }}",
        "About {{ $value | humanize }} events were published to {{ $labels.topic }} in the "
        f"last {STALL} and no worker consumed any, while one has waited over "
        f"{WAITING_S // 60} minutes: its agent stopped, or no worker is up.",
        "Look at the workers' logs and consumer group (who holds the topic's partitions); "
        "restart the stuck worker, the events are applied once it consumes again.",
        "1m",
    )


def _ingest_errors() -> Rule:
    errors = f'opstrack_http_responses_total{{{INGEST_ROUTES}, code_class="5xx"}}'
    total = f"opstrack_http_responses_total{{{INGEST_ROUTES}}}"
    return _alert(
        "IngestServerErrors",
        f"sum by (route) (rate({errors}[{STALL}]))\n"
        "/\n"
        f"sum by (route) (rate({total}[{STALL}]))\n"
        f"> {SERVER_ERROR_RATIO}\n",
        "page",
        "Ingest {{ $labels.route }} answers with server errors",
        "{{ $value | humanizePercentage }} of the responses of {{ $labels.route }} in the "
        f"last {STALL} were 5xx: senders must retry, and those that do not lose events.",
        "Read the API's log for the failing requests: the store unreachable or full, or a "
        "broken mapping file for a webhook source (config/).",
        SERVER_ERRORS_FOR,
    )


def _store_retries() -> Rule:
    return _alert(
        "StoreRetriesRising",
        f"sum by (topic) (increase(opstrack_processor_store_retries_total[{RETRY_WINDOW}]))"
        f" > {RETRIES}",
        "ticket",
        "Store writes for {{ $labels.topic }} keep failing",
        "Workers retried about {{ $value | humanize }} failed store transactions for "
        f"{{{{ $labels.topic }}}} in the last {RETRY_WINDOW}: the database is away, "
        "overloaded or locked, and applying waits for it.",
        "Check the database (reachable, disk, locks; for SQLite a long writer such as "
        "`opstrack rebuild`) and the workers' log for the error.",
    )


RESTART_WINDOW = "15m"
RESTARTS = 3  # one restart is a hiccup the stack healed; three in a row is a crash loop


def _child_restarting() -> Rule:
    # Counted by `opstrack up` (services/stack/restarts.py), exported by its API process.
    return _alert(
        "StackChildRestarting",
        f"sum by (child) (increase(opstrack_stack_restarts_total[{RESTART_WINDOW}])) >= {RESTARTS}",
        "ticket",
        "opstrack up keeps restarting its {{ $labels.child }}",
        "The {{ $labels.child }} of `opstrack up` died and was restarted about "
        f"{{{{ $value | humanize }}}} times in the last {RESTART_WINDOW}: it heals, but "
        "something kills it again.",
        "Read the child's log under the state dir (.opstrack/logs/<child>.log) and the "
        "supervisor's stderr for the exit code; fix the cause (memory, the database, config).",
    )


def _figures_stale() -> Rule:
    refreshed = "opstrack_period_figures_refreshed_timestamp_seconds"
    return _alert(
        "PeriodFiguresStale",
        f"time() - max({refreshed}) > {FIGURES_STALE_S}\n"
        f"or\nabsent_over_time({refreshed}[{FIGURES_STALE_S // 60}m])\n",
        "ticket",
        "The period figures have not been refreshed for 5 minutes",
        "The worker holding the period-figures lease has not refreshed them for over "
        f"{FIGURES_STALE_S // 60} minutes (or none exports them): the this-month figures "
        "and the goal alerts read old numbers.",
        "Check that a worker is up and holds the lease (its log says), and that the store "
        "answers; restarting a worker lets another take the lease.",
    )


def _source_quiet() -> Rule:
    last = "max by (queue) (opstrack_calls_last_event_timestamp_seconds)"
    return _alert(
        "CallSourceQuiet",
        f"time() - {last} > {QUIET_S}\n"
        f"and\ntime() - {last} < {QUIET_HORIZON_S}\n"
        "and on ()\n"
        f"max(min_over_time(opstrack_servicedesk_open[{QUIET_OPEN}])) == 1\n",
        "ticket",
        "No calls from queue {{ $labels.queue }} for 30 minutes of opening hours",
        "The newest call event of {{ $labels.queue }} is {{ $value | humanizeDuration }} "
        "old while the servicedesk is open: the phone system's feed "
        "(`opstrack asterisk`, the sender) may have stopped.",
        "Check the sender of the queue's call events (its log, the queue log it reads) and "
        "ingest's responses; a queue with truly no calls clears with the next call.",
    )
