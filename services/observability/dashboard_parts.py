"""Building blocks of opstrack's Grafana dashboards (grafana-foundation-sdk builders).

Every query names the Prometheus data source by uid, the one the provisioning file in
deploy/grafana/provisioning/datasources/ creates, so a dashboard works unchanged in any
Grafana that provisions it, whatever the data source is called there.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, text, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm
from grafana_foundation_sdk.models import text as tm

DATASOURCE_UID = "opstrack-prometheus"
PROMETHEUS = dm.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
# Grafana's own annotation store, where `opstrack grafana push --annotate-incidents` writes.
GRAFANA_ANNOTATIONS = dm.DataSourceRef(type_val="grafana", uid="-- Grafana --")
INCIDENT_TAGS = ["opstrack", "incident"]
TAG = "opstrack"


def query(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, table: bool = False
) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    if table:
        q = q.format(pm.PromQueryFormat.TABLE)
    return q


def steps(*pairs: tuple[float | None, str]) -> db.ThresholdsConfig:
    """Absolute thresholds; the first pair's value is None (Grafana's -Infinity base step)."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in pairs])
    )


def against_target(target: float) -> db.ThresholdsConfig:
    return steps((None, "red"), (target, "green"))


def series(
    title: str,
    *queries: prometheus.Dataquery,
    unit: str = "short",
    description: str = "",
    target: float | None = None,
) -> timeseries.Panel:
    """A time series panel, half the width; a target is drawn as a dashed line."""
    panel = (
        timeseries.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .targets(list(queries))
        .unit(unit)
        .span(12)
        .height(8)
        # Without legend and tooltip options the SDK leaves `options` null, which older
        # Grafana versions do not fill in with the panel's defaults.
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.NONE))
    )
    if target is not None:
        panel = panel.thresholds(against_target(target)).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED)
        )
    return panel.description(description) if description else panel


def single(
    title: str,
    q: prometheus.Dataquery,
    *,
    unit: str = "short",
    description: str = "",
    span: int = 4,
) -> stat.Panel:
    """A stat panel showing the last value of one query."""
    panel = (
        stat.Panel()
        .title(title)
        .datasource(PROMETHEUS)
        .with_target(q)
        .unit(unit)
        .span(span)
        .height(4)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .color_mode(cm.BigValueColorMode.VALUE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return panel.description(description) if description else panel


def markdown(title: str, content: str, *, span: int = 24, height: int = 5) -> text.Panel:
    """A text panel; it runs no query, so it names no data source."""
    return (
        text.Panel()
        .title(title)
        .mode(tm.TextMode.MARKDOWN)
        .content(content)
        .span(span)
        .height(height)
    )


def value_text(mapping: dict[str, tuple[str, str]]) -> list[dm.ValueMapping]:
    """Value → (display text, colour), e.g. 0/1 gauges shown as words."""
    return [
        dm.ValueMap(
            options={
                k: dm.ValueMappingResult(text=t, color=c, index=i)
                for i, (k, (t, c)) in enumerate(mapping.items())
            }
        )
    ]


def board(uid: str, title: str, description: str, time_from: str) -> db.Dashboard:
    """A dashboard with what every opstrack dashboard shares: tags, links, incident marks."""
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .time(time_from, "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .link(
            db.DashboardLink("opstrack dashboards")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(False)
            .target_blank(False)
        )
        # Incidents posted by `opstrack grafana push --annotate-incidents` show on every
        # time series, so a dip in service level lines up with the outage behind it.
        .annotation(
            db.AnnotationQuery()
            .name("opstrack incidents")
            .datasource(GRAFANA_ANNOTATIONS)
            .enable(True)
            .icon_color("red")
            .target(
                db.AnnotationTarget().type("tags").tags(INCIDENT_TAGS).match_any(False).limit(500)
            )
        )
    )


API_VARIABLE = "opstrack_url"
# The dashboard's time range as an opstrack period (`YYYY-MM-DD..YYYY-MM-DD`, inclusive).
PERIOD = "${__from:date:YYYY-MM-DD}..${__to:date:YYYY-MM-DD}"


def api_variable(opstrack_url: str) -> db.TextBoxVariable:
    """Where the text panels' links point: figures that are not metrics are read from the API.

    A text box, so a viewer whose opstrack is elsewhere can change it (or pass
    `?var-opstrack_url=…` in the dashboard's URL).
    """
    return (
        db.TextBoxVariable(API_VARIABLE)
        .label("opstrack API")
        .default_value(opstrack_url)
        .current(dm.VariableOption(selected=True, text=opstrack_url, value=opstrack_url))
    )


def api_link(path: str) -> str:
    return f"${{{API_VARIABLE}}}{path}"
