"""The service desk dashboard: this month, today and this tertial from the store, and
the phone queues' figures over time from the call counters.

The ratios are those of docs/definitions.md#short-abandons. The period rows
read the period gauges, which one worker sets from the store by event time; the
rest takes them over a window of counter rates (a ratio of rates over one window
equals the ratio of the increases), counted when the events were processed.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table
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


# The periods the department is judged on, as the lease holder's gauges label them.
PERIOD_ROWS = (("month", "This month"), ("today", "Today"), ("tertial", "This tertial"))


def _period_sum(metric: str, period: str, extra: str = "") -> str:
    """A period gauge summed over the chosen queues and municipalities.

    `max by` first: while the lease passes from one worker to another both may
    briefly export the same figures, which must not count twice.
    """
    selector = f'{{period="{period}", queue=~"$queue", municipality=~"$municipality"{extra}}}'
    return f"sum(max by (queue, municipality) ({metric}{selector}))"


def _period_counted(period: str) -> str:
    offered = _period_sum("opstrack_period_calls_offered", period)
    return f"({offered} - {_period_sum('opstrack_period_calls_short_abandoned', period)})"


def period_service_level(threshold: int, period: str) -> str:
    """Answered within the threshold / (offered - short abandoned), from the store."""
    within = _period_sum(
        "opstrack_period_calls_answered_within", period, f', threshold="{threshold}"'
    )
    return f"{within} / {_period_counted(period)}"


def period_abandon_rate(period: str) -> str:
    abandoned = _period_sum("opstrack_period_calls_abandoned", period)
    short = _period_sum("opstrack_period_calls_short_abandoned", period)
    return f"({abandoned} - {short}) / {_period_counted(period)}"


def period_asa(period: str) -> str:
    wait = _period_sum("opstrack_period_calls_answered_wait_seconds", period)
    return f"{wait} / {_period_sum('opstrack_period_calls_answered', period)}"


def _period_row(dash: db.Dashboard, period: str, name: str) -> db.Dashboard:
    """Stat panels of one period, read from the store by event time: what
    GET /v1/sli/calls?period=<that period> answers, late and imported calls included."""
    target = against_target(SERVICE_LEVEL_TARGET)
    lower = name[0].lower() + name[1:]
    note = (
        f"Calls of {lower} by event time, from the store (the same figure as the API's "
        "/v1/sli/calls for the period); refreshed by one worker every 30 s."
    )
    dash = dash.with_row(db.Row(name))
    for seconds in (20, 60):
        dash = dash.with_panel(
            single(
                f"Service level {seconds} s, {lower}",
                query(period_service_level(seconds, period), instant=True),
                unit=PCT,
                description=note + " The target is 70 %.",
                span=5,
            ).thresholds(target)
        )
    offered = _period_sum("opstrack_period_calls_offered", period)
    return (
        dash.with_panel(
            single(
                f"Abandon rate, {lower}",
                query(period_abandon_rate(period), instant=True),
                unit=PCT,
                description=note + " Short abandons are left out.",
                span=5,
            )
        )
        .with_panel(
            single(
                f"Average speed of answer, {lower}",
                query(period_asa(period), instant=True),
                unit="s",
                description=note,
                span=5,
            )
        )
        .with_panel(
            single(
                f"Calls offered, {lower}",
                query(offered, instant=True),
                description=note,
                span=4,
            ).decimals(0)
        )
    )


# The lease holder's staffing gauges of this week, one column each (README, "Staffing").
STAFFING_COLUMNS = (
    ("opstrack_staffing_expected_calls", "", "Expected calls"),
    ("opstrack_staffing_required_agents", 'model="erlang_c"', "Required, Erlang C"),
    ("opstrack_staffing_required_agents", 'model="erlang_a"', "Required, Erlang A"),
    ("opstrack_staffing_scheduled_agents", "", "Scheduled"),
)


def staffing_query(metric: str, extra: str = "", week: str = "current") -> str:
    """One staffing gauge per weekday and half hour; `max by` as for the period figures,
    so a lease passing between workers does not show a slot twice."""
    selector = f'week="{week}"' + (f", {extra}" if extra else "")
    return f"max by (weekday, slot) ({metric}{{{selector}}})"


def _staffing_table() -> table.Panel:
    refs = "ABCD"
    renames = {
        f"Value #{ref}": name for ref, (_, _, name) in zip(refs, STAFFING_COLUMNS, strict=True)
    }
    return (
        table.Panel()
        .title("Staffing this week: required and scheduled agents per half hour")
        .description(
            "This ISO week's plan (GET /v1/staffing for all queues pooled): calls expected "
            "in each open half hour from the basis weeks, agents required to answer 70 % "
            "within 20 s by Erlang C and by Erlang A (callers who hang up), and agents to "
            "schedule after shrinkage. Refreshed by one worker every 15 minutes; "
            'the next week is opstrack_staffing_*{week="next"}.'
        )
        .datasource(PROMETHEUS)
        .targets(
            [
                query(staffing_query(metric, extra), ref=ref, instant=True, table=True)
                for ref, (metric, extra, _) in zip(refs, STAFFING_COLUMNS, strict=True)
            ]
        )
        .show_header(True)
        # One row per weekday and half hour, a column per figure.
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    # Keyed by the merged fields' own names: organize renames last.
                    "indexByName": {"weekday": 0, "slot": 1}
                    | {f"Value #{ref}": i + 2 for i, ref in enumerate(refs)},
                    "renameByName": renames | {"weekday": "Day", "slot": "Half hour"},
                },
            )
        )
        .span(24)
        .height(12)
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
    )
    for period, name in PERIOD_ROWS:
        dash = _period_row(dash, period, name)
    return (
        _totals(dash.with_row(db.Row("In the time range")))
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
        .with_row(db.Row("Staffing"))
        .with_panel(_staffing_table())
        .with_row(history_row(servicedesk_history_panels(SERVICE_LEVEL_TARGET)))
    )
