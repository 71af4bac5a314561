"""The tickets dashboard: this month's and this tertial's handling time from the store.

The period rows read the period gauges that one worker (the lease holder) sets from
the store by event time, the same figures as GET /v1/sli/tickets?period=<period>.
Open tickets and SLA states are every worker's gauges (`max by`, never `sum` across
workers); the handling-time histogram is counted by the worker that applied each
resolution, so it is summed across workers.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm

from services.observability.dashboard_history import history_row, ticket_history_panels
from services.observability.dashboard_parts import PROMETHEUS, board, query, single, steps

HANDLING_TARGET_HOURS = 20  # the board goal: handling time at most 20 h
UNDER_TARGET = steps((None, "green"), (HANDLING_TARGET_HOURS, "red"))
PERIOD_ROWS = (("month", "This month"), ("tertial", "This tertial"))
OPEN = "max by (priority, sla) (opstrack_tickets_open)"


def handling(period: str, stat: str) -> str:
    return f'max(opstrack_period_tickets_handling_hours{{period="{period}", stat="{stat}"}})'


def resolved(period: str) -> str:
    return f'max(opstrack_period_tickets_resolved{{period="{period}"}})'


def _period_row(dash: db.Dashboard, period: str, name: str) -> db.Dashboard:
    lower = name[0].lower() + name[1:]
    note = (
        f"Tickets finally resolved {lower}, by event time, from the store (as "
        "/v1/sli/tickets for the period); handling time is calendar hours, pauses "
        "subtracted. The target is at most 20 h."
    )
    dash = dash.with_row(db.Row(name)).with_panel(
        single(
            f"Resolved, {lower}", query(resolved(period), instant=True), span=4, description=note
        ).decimals(0)
    )
    for stat, title in (("mean", "Mean"), ("median", "Median"), ("p90", "90th percentile")):
        dash = dash.with_panel(
            single(
                f"{title} handling time, {lower}",
                query(handling(period, stat), instant=True),
                unit="h",
                span=5,
                description=note,
            )
            .decimals(1)
            .thresholds(UNDER_TARGET)
        )
    return dash.with_panel(
        single(
            f"Business-hours mean, {lower}",
            query(handling(period, "business_mean"), instant=True),
            unit="h",
            span=5,
            description="Handling time counted in opening hours only (Mon-Fri 08-17, "
            "Swedish holidays closed).",
        ).decimals(1)
    )


def _by_group(period: str, name: str) -> bargauge.Panel:
    expr = (
        "max by (category, priority) (opstrack_period_tickets_group_handling_hours"
        f'{{period="{period}", stat="mean"}})'
    )
    return (
        bargauge.Panel()
        .title(f"Mean handling time by category and priority, {name}")
        .datasource(PROMETHEUS)
        .with_target(query(expr, "{{category}} · priority {{priority}}", instant=True))
        .unit("h")
        .decimals(1)
        .min(0)
        .thresholds(UNDER_TARGET)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .span(12)
        .height(10)
    )


def _histogram() -> bargauge.Panel:
    # Tickets resolved in the time range per handling-time bucket (cumulative, as
    # Prometheus keeps them: the bar "20" counts those handled within 20 h).
    expr = "sum by (le) (increase(opstrack_ticket_handling_hours_bucket[$__range]))"
    return (
        bargauge.Panel()
        .title("Tickets resolved within N hours, in the time range")
        .description(
            "The handling-time histogram: tickets counted when first resolved, cumulative "
            "per bucket (≤ 20 h is the target). By processing time, not event time."
        )
        .datasource(PROMETHEUS)
        .with_target(query(expr, "≤ {{le}} h", instant=True))
        .decimals(0)
        .min(0)
        .thresholds(steps((None, "blue")))
        .orientation(cm.VizOrientation.VERTICAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .span(12)
        .height(10)
    )


def tickets(_opstrack_url: str) -> db.Dashboard:
    dash = board(
        "opstrack-tickets",
        "opstrack · Tickets",
        "Tickets resolved and their handling time against the 20 h target, this month "
        "and this tertial, open tickets and their SLA state.",
        "now-30d",
    )
    for period, name in PERIOD_ROWS:
        dash = _period_row(dash, period, name)
    return (
        dash.with_row(db.Row("Now"))
        .with_panel(single("Open tickets", query(f"sum({OPEN})", instant=True), span=12))
        .with_panel(
            single(
                "Open tickets breaching their SLA",
                query(
                    'sum(max by (priority, sla) (opstrack_tickets_open{sla="breached"}))',
                    instant=True,
                ),
                span=12,
            ).thresholds(steps((None, "green"), (1, "red")))
        )
        .with_row(db.Row("Distribution"))
        .with_panel(_by_group("month", "this month"))
        .with_panel(_histogram())
        .with_row(history_row(ticket_history_panels()))
    )
