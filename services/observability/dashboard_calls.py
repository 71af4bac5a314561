"""The service desk dashboard: the phone queues' figures from the call counters.

The ratios are the README's definitions ("What the numbers mean") taken over a window
of counter rates; a ratio of rates over one window equals the ratio of the increases.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from services.observability.dashboard_history import history_row, servicedesk_history_panels
from services.observability.dashboard_parts import (
    PROMETHEUS,
    against_target,
    board,
    query,
    series,
    single,
)

SERVICE_LEVEL_TARGET = 0.7  # the goal table's 70 % for calls answered within 20 and 60 s
RATE = "$__rate_interval"  # Grafana's window for rate(): at least four scrape intervals
RANGE = "$__range"  # the whole time range picked on the dashboard
CALLS = '{queue=~"$queue", municipality=~"$municipality"}'
PCT = "percentunit"


def _calls(metric: str, window: str, extra: str = "") -> str:
    labels = CALLS if not extra else f"{CALLS[:-1]}, {extra}}}"
    return f"sum(rate({metric}{labels}[{window}]))"


def _counted(window: str) -> str:
    """Offered calls less short abandons: the denominator of service level and abandon rate."""
    offered = _calls("opstrack_calls_offered_total", window)
    return f"({offered} - {_calls('opstrack_calls_short_abandoned_total', window)})"


def service_level(threshold: int, window: str = RATE) -> str:
    within = _calls("opstrack_calls_answered_within_total", window, f'threshold="{threshold}"')
    return f"{within} / {_counted(window)}"


def answer_rate(window: str = RATE) -> str:
    return f"{_calls('opstrack_calls_answered_total', window)} / {_counted(window)}"


def abandon_rate(window: str = RATE) -> str:
    abandoned = _calls("opstrack_calls_abandoned_total", window)
    short = _calls("opstrack_calls_short_abandoned_total", window)
    return f"({abandoned} - {short}) / {_counted(window)}"


def asa(window: str = RATE) -> str:
    """Mean wait of answered calls, from the wait histogram's sum and count."""
    answered = 'outcome="answered"'
    wait = _calls("opstrack_call_wait_seconds_sum", window, answered)
    return f"{wait} / {_calls('opstrack_call_wait_seconds_count', window, answered)}"


def _per_hour_by(label: str) -> str:
    return f"sum by ({label}) (rate(opstrack_calls_offered_total{CALLS}[{RATE}])) * 3600"


def _variable(name: str, label: str, selector: str = "") -> db.QueryVariable:
    return (
        db.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(f"label_values(opstrack_calls_offered_total{selector}, {name})")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(True)
        .include_all(True)
        # `.*` rather than Grafana's list of the values it saw, so a new queue is included.
        .all_value(".*")
    )


def _totals(dash: db.Dashboard) -> db.Dashboard:
    """One row of figures over the whole time range picked."""
    target = against_target(SERVICE_LEVEL_TARGET)
    within = "Answered within {} s / (offered - short abandoned); the target is 70 %."
    for seconds in (20, 60):
        dash = dash.with_panel(
            single(
                f"Service level, {seconds} s",
                query(service_level(seconds, RANGE), instant=True),
                unit=PCT,
                description=within.format(seconds),
            ).thresholds(target)
        )
    offered = f"sum(increase(opstrack_calls_offered_total{CALLS}[{RANGE}]))"
    return (
        dash.with_panel(single("Answer rate", query(answer_rate(RANGE), instant=True), unit=PCT))
        .with_panel(single("Abandon rate", query(abandon_rate(RANGE), instant=True), unit=PCT))
        .with_panel(single("Average speed of answer", query(asa(RANGE), instant=True), unit="s"))
        .with_panel(single("Calls offered", query(offered, instant=True)).decimals(0))
    )


def servicedesk() -> db.Dashboard:
    dash = (
        board(
            "opstrack-servicedesk",
            "opstrack · Service desk",
            "Calls in the phone queues: service level against the 70 % target, "
            "answer and abandon rates, speed of answer and volume.",
            "now-7d",
        )
        .with_variable(_variable("queue", "Queue"))
        .with_variable(_variable("municipality", "Municipality", '{queue=~"$queue"}'))
        .with_row(db.Row("In the time range"))
    )
    return (
        _totals(dash)
        .with_row(db.Row("Over time"))
        .with_panel(
            series(
                "Service level within 20 and 60 s",
                query(service_level(20), "within 20 s", ref="A"),
                query(service_level(60), "within 60 s", ref="B"),
                unit=PCT,
                target=SERVICE_LEVEL_TARGET,
                description="The dashed line is the 70 % target.",
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            series(
                "Answer and abandon rates",
                query(answer_rate(), "answered", ref="A"),
                query(abandon_rate(), "abandoned (short abandons left out)", ref="B"),
                unit=PCT,
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            series("Calls offered per hour by queue", query(_per_hour_by("queue"), "{{queue}}"))
        )
        .with_panel(
            series(
                "Calls offered per hour by municipality",
                query(_per_hour_by("municipality"), "{{municipality}}"),
            )
        )
        .with_panel(
            series(
                "Average speed of answer",
                query(asa(), "ASA"),
                unit="s",
                description="Mean wait of answered calls: the wait histogram's sum / count.",
            ).span(24)
        )
        .with_row(history_row(servicedesk_history_panels(SERVICE_LEVEL_TARGET)))
    )
