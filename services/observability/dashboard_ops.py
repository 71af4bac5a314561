"""The incidents, change-freeze and goals dashboards: the worker's gauges.

Every worker recomputes the incident and change gauges from the store (the goal gauges
come from the one worker holding the period-figures lease), so with several workers each
exports the same whole figures: queries take `max by` their labels, never `sum` across
workers. The workers export 0 for every catalog service and severity, so "nothing open"
reads 0, while a panel with no data means that no worker reports at all.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, statetimeline, table
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from services.observability.dashboard_history import history_row, incident_history_panels
from services.observability.dashboard_parts import (
    PERIOD,
    PROMETHEUS,
    api_link,
    api_variable,
    board,
    markdown,
    query,
    series,
    single,
    steps,
    value_text,
)

NONE_GOOD = steps((None, "green"), (1, "red"))  # any at all is bad news
OPEN = "max by (service, severity) (opstrack_incidents_open)"
DOWN = "max by (service) (opstrack_service_down)"
VIOLATIONS = "max by (service) (opstrack_change_freeze_violations)"
ACHIEVED = "max by (indicator) (opstrack_indicator_achieved)"
CURRENT_ACHIEVED = "max by (indicator) (opstrack_indicator_current_achieved)"

INCIDENT_NOTE = f"""\
MTTA, MTTR and exact downtime are worked out by opstrack from the incident events
(outage intervals, a dependency's outage included); they are not metrics, so this
dashboard shows what the gauges give: open incidents and services down, sampled.

- [MTTA, MTTR, downtime and availability per service for this time range]\
({api_link("/v1/sli/incidents")}?period={PERIOD}&group_by=service)
- [Open incidents]({api_link("/v1/incidents")}?status=open)
- or `opstrack sli incidents --period 2022-T2 --group-by service`
"""


def incidents(opstrack_url: str) -> db.Dashboard:
    return (
        board(
            "opstrack-incidents",
            "opstrack · Incidents and availability",
            "Open incidents by service and severity, services down (own outage or a "
            "dependency's) and availability as sampled by Prometheus.",
            "now-30d",
        )
        .with_variable(api_variable(opstrack_url))
        .with_row(db.Row("Now"))
        .with_panel(single("Open incidents", query(f"sum({OPEN})"), span=6))
        .with_panel(
            single(
                "Open incidents, severity 1-2",
                query('sum(max by (service, severity) (opstrack_incidents_open{severity=~"1|2"}))'),
                span=6,
            ).thresholds(NONE_GOOD)
        )
        .with_panel(
            single("Services down", query(f"sum({DOWN})"), span=6)
            .thresholds(NONE_GOOD)
            .description("Down in an outage of their own or of a service they depend on.")
        )
        .with_panel(
            single(
                "Down through a dependency",
                query('sum(max by (service) (opstrack_service_down{cause="dependency"}))'),
                span=6,
            ).thresholds(NONE_GOOD)
        )
        .with_row(db.Row("Over time"))
        .with_panel(
            series(
                "Open incidents by service and severity",
                query(OPEN, "{{service}} · severity {{severity}}"),
            )
            .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
            .line_interpolation(cm.LineInterpolation.STEP_AFTER)
            .fill_opacity(30)
        )
        .with_panel(
            statetimeline.Panel()
            .title("Service down by service and cause")
            .datasource(PROMETHEUS)
            .with_target(
                query("max by (service, cause) (opstrack_service_down)", "{{service}} ({{cause}})")
            )
            .mappings(value_text({"0": ("up", "green"), "1": ("down", "red")}))
            .span(12)
            .height(8)
            .show_value(cm.VisibilityMode.NEVER)
            .merge_values(True)
        )
        .with_panel(
            statetimeline.Panel()
            .title("E-services on the public status page, by municipality")
            .description(
                "The state residents see on /status: the e-service's own incidents, its "
                "dependencies' and planned work with a notice, where they touch the municipality."
            )
            .datasource(PROMETHEUS)
            .with_target(
                query(
                    "max by (service, municipality) (opstrack_eservice_status)",
                    "{{service}} · {{municipality}}",
                )
            )
            .mappings(
                value_text(
                    {
                        "0": ("operational", "green"),
                        "1": ("maintenance", "blue"),
                        "2": ("degraded", "orange"),
                        "3": ("outage", "red"),
                    }
                )
            )
            .span(24)
            .height(8)
            .show_value(cm.VisibilityMode.NEVER)
            .merge_values(True)
        )
        .with_panel(
            bargauge.Panel()
            .title("Availability in the time range, as sampled")
            .description(
                "Share of the time range in which Prometheus saw the service up, a "
                "dependency's outage counted as its own; the exact figure, from the "
                "incident events, is on /v1/sli/incidents."
            )
            .datasource(PROMETHEUS)
            .with_target(
                query(f"1 - avg_over_time(({DOWN})[$__range:])", "{{service}}", instant=True)
            )
            .unit("percentunit")
            .decimals(2)
            .min(0)
            .max(1)
            .thresholds(steps((None, "green")))
            .orientation(cm.VizOrientation.HORIZONTAL)
            .display_mode(cm.BarGaugeDisplayMode.BASIC)
            .span(12)
            .height(8)
        )
        .with_panel(markdown("MTTA, MTTR and downtime", INCIDENT_NOTE, span=12, height=8))
        .with_row(history_row(incident_history_panels()))
    )


FREEZE_NOTE = f"""\
Which changes broke a freeze, with their service, time and approver:
[freeze violations in this time range]({api_link("/v1/changes/violations")}?period={PERIOD}),
[freezes in force]({api_link("/v1/freezes")}?active=true).
"""


def change_freeze(opstrack_url: str) -> db.Dashboard:
    return (
        board(
            "opstrack-change-freeze",
            "opstrack · Change freeze",
            "Change freezes in force and changes implemented inside a freeze that covers "
            "their service without an approved emergency exception.",
            "now-90d",
        )
        .with_variable(api_variable(opstrack_url))
        .with_panel(
            single("Change freezes in force", query("max(opstrack_freezes_active)"), span=8)
        )
        .with_panel(
            single(
                "Freeze violations, all time",
                query(f"sum({VIOLATIONS})"),
                span=8,
            ).thresholds(NONE_GOOD)
        )
        .with_panel(
            single(
                "Services with violations",
                query(f"sum({VIOLATIONS} > bool 0)"),
                span=8,
            ).thresholds(NONE_GOOD)
        )
        .with_panel(
            series("Change freezes in force", query("max(opstrack_freezes_active)", "in force"))
            .line_interpolation(cm.LineInterpolation.STEP_AFTER)
            .decimals(0)
        )
        .with_panel(
            series(
                "Freeze violations by service, all time",
                query(VIOLATIONS, "{{service}}"),
                description="A step up is a new violation.",
            )
            .line_interpolation(cm.LineInterpolation.STEP_AFTER)
            .decimals(0)
        )
        .with_panel(markdown("Which changes", FREEZE_NOTE, height=3))
    )


# One query gives the table: the values by kind, and the two judgements as two more kinds.
INDICATOR_TABLE = (
    "max by (indicator, kind) (opstrack_indicator_value)"
    f' or label_replace({CURRENT_ACHIEVED}, "kind", "achieved now", "", "")'
    f' or label_replace({ACHIEVED}, "kind", "achieved", "", "")'
)
GOALS_NOTE = f"""\
Current year, as the worker holding the period-figures lease evaluates `config/goals.yaml`;
percentages are fractions and yes/no is 1/0. *Achieved now* judges the current value
against the target; *achieved* judges as the goals file says (often on the forecast).
The whole goal report (MER):
[this year's report]({api_link("/v1/goals/report")}?period=${{__to:date:YYYY}}&format=html).
"""


def _indicator_table() -> table.Panel:
    achieved = value_text({"1": ("✔ achieved", "green"), "0": ("✘ not achieved", "red")})
    overrides = [
        dm.DynamicConfigValue(id_val="mappings", value=achieved),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
    ]
    return (
        table.Panel()
        .title("Indicators: current, forecast, target and achieved")
        .datasource(PROMETHEUS)
        .with_target(query(INDICATOR_TABLE, instant=True, table=True))
        .show_header(True)
        # Rows by indicator, a column per kind (current, forecast, target, achieved ...).
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="groupingToMatrix",
                options={"columnField": "kind", "rowField": "indicator", "valueField": "Value"},
            )
        )
        .override_by_name("achieved now", overrides)
        .override_by_name("achieved", overrides)
        .span(24)
        .height(12)
    )


def _current_vs_target() -> bargauge.Panel:
    """Each indicator's current value as a share of its target (1 = on target)."""
    current = 'max by (indicator) (opstrack_indicator_value{kind="current"})'
    target = 'max by (indicator) (opstrack_indicator_value{kind="target"})'
    return (
        bargauge.Panel()
        .title("Current value against target")
        .description(
            "Current value / target per indicator (1 = exactly on target). For an "
            "'at most' target, such as handling time, above 1 misses it; see the table."
        )
        .datasource(PROMETHEUS)
        .with_target(query(f"{current} / ({target} != 0)", "{{indicator}}", instant=True))
        .unit("percentunit")
        .decimals(0)
        .min(0)
        .thresholds(steps((None, "blue")))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .span(24)
        .height(10)
    )


def goals(opstrack_url: str) -> db.Dashboard:
    return (
        board(
            "opstrack-goals",
            "opstrack · Goals (MER)",
            "The goal table's indicators for the current year: current value (nuvärde), "
            "forecast (prognos), target (målvärde) and whether each is achieved.",
            "now-30d",
        )
        .with_variable(api_variable(opstrack_url))
        .with_panel(
            single(
                "Indicators achieved",
                query(f"avg({ACHIEVED})"),
                unit="percentunit",
                span=6,
                description="Judged as the goals file says (often on the forecast).",
            )
        )
        .with_panel(
            single(
                "Meeting the target now",
                query(f"sum({CURRENT_ACHIEVED})"),
                span=6,
                description="Indicators whose current value meets the target.",
            ).thresholds(steps((None, "green")))
        )
        .with_panel(
            single(
                "Missing the target now",
                query(f"sum(1 - {CURRENT_ACHIEVED})"),
                span=6,
                description="Indicators whose current value misses the target, "
                "whatever a forecast says.",
            ).thresholds(NONE_GOOD)
        )
        .with_panel(
            single("Not achieved (as judged)", query(f"sum(1 - {ACHIEVED})"), span=6).thresholds(
                NONE_GOOD
            )
        )
        .with_panel(_indicator_table())
        .with_panel(_current_vs_target())
        .with_panel(markdown("Goal report", GOALS_NOTE, height=3))
    )
