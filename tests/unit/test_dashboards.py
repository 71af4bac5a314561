"""The Grafana dashboards as code: no drift from the committed files, the panels they
promise, one data source by uid, and every PromQL expression accepted by promtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from services.observability import ingest_metrics, processor_metrics
from services.observability.dashboard_history import POSTGRES_TYPE, POSTGRES_UID, ROW_TITLE
from services.observability.dashboard_parts import DATASOURCE_UID
from services.observability.dashboards import (
    DASHBOARDS_DIR,
    DEFAULT_OPSTRACK_URL,
    build_all,
    render_all,
    write_all,
)
from services.observability.optional_gauge import OptionalGauge

DEPLOY = DASHBOARDS_DIR.parent
PANELS = {
    "servicedesk.json": {
        "Service level, 20 s",
        "Service level, 60 s",
        "Answer rate",
        "Abandon rate",
        "Average speed of answer",
        "Calls offered",
        "Service level within 20 and 60 s",
        "Answer and abandon rates",
        "Calls offered per hour by queue",
        "Calls offered per hour by municipality",
        "Calls offered per hour by queue, by event time",
        "Service level per day, by event time",
        "Abandon rate per day, by event time",
        "Average speed of answer per day, by event time",
        "Service level 20 s, this month",
        "Service level 60 s, this month",
        "Abandon rate, this month",
        "Average speed of answer, this month",
        "Calls offered, this month",
        "Service level 20 s, today",
        "Service level 20 s, this tertial",
        "Staffing this week: required and scheduled agents per half hour",
    },
    "tickets.json": {
        "Resolved, this month",
        "Mean handling time, this month",
        "Median handling time, this month",
        "90th percentile handling time, this month",
        "Business-hours mean, this month",
        "Resolved, this tertial",
        "Mean handling time, this tertial",
        "Open tickets",
        "Open tickets breaching their SLA",
        "Tickets resolved within N hours, in the time range",
    },
    "incidents.json": {
        "Open incidents",
        "Services down",
        "Open incidents by service and severity",
        "Service down by service and cause",
        "E-services on the public status page, by municipality",
        "Availability in the time range, as sampled",
        "MTTA, MTTR and downtime",
        "Incidents opened per day by service, by event time",
        "Downtime per day by service, by event time",
    },
    "change-freeze.json": {
        "Change freezes in force",
        "Freeze violations, all time",
        "Freeze violations by service, all time",
    },
    "goals.json": {
        "Indicators achieved",
        "Meeting the target now",
        "Missing the target now",
        "Current value against target",
        "Indicators: current, forecast, target and achieved",
    },
    "pipeline.json": {
        "Targets up",
        "Scrape targets",
        "Ingest rate by result",
        "HTTP 5xx share by route",
        "Outbox backlog",
        "Age of the oldest unapplied event",
        "Relay published rate and errors",
        "Processor applied rate by topic",
        "Store retries by topic",
        "Dead letters by reason",
        "Batch duration p95 by topic",
        "Since the last call, by queue",
    },
}
# Grafana's own variables become a window; the dashboards' variables match anything.
WINDOWS = re.compile(
    r"\$(__rate_interval|__range|__interval)\b|\$\{(__rate_interval|__range|__interval)\}"
)
VARIABLES = re.compile(r"\$\{\w+\}|\$\w+")


@pytest.fixture(scope="module")
def models() -> dict[str, dict[str, Any]]:
    return build_all()


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def on_postgres(panel: dict[str, Any]) -> bool:
    """The history panels: SQL on the store (tests/integration/test_history_sql.py runs it)."""
    return bool(panel.get("datasource", {}).get("uid") == POSTGRES_UID)


def expressions(models: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (name, panel["title"], target["expr"])
        for name, model in models.items()
        for panel in panels(model)
        if not on_postgres(panel)
        for target in panel.get("targets", [])
    ]


def test_the_committed_files_are_what_the_code_renders() -> None:
    committed = {
        p.name: p.read_text(encoding="utf-8") for p in sorted(DASHBOARDS_DIR.glob("*.json"))
    }
    assert committed == render_all(), "run `opstrack grafana dashboards` and commit the files"


def test_rendering_is_stable_and_the_generator_finds_drift(tmp_path: Path) -> None:
    first, second = render_all(), render_all()
    assert first == second
    assert list(first) == sorted(first)
    assert sorted(write_all(tmp_path)) == sorted(first)  # all new
    assert write_all(tmp_path, check=True) == []
    (tmp_path / "goals.json").write_text("{}\n")
    (tmp_path / "old.json").write_text("{}\n")
    assert write_all(tmp_path, check=True) == ["goals.json", "old.json"]
    assert (tmp_path / "old.json").exists()  # a check writes nothing
    assert write_all(tmp_path) == ["goals.json", "old.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(first)
    assert write_all(tmp_path, check=True) == []


def test_every_dashboard_has_the_panels_it_promises(models: dict[str, dict[str, Any]]) -> None:
    assert set(models) == set(PANELS)
    for name, wanted in PANELS.items():
        titles = {p.get("title") for p in panels(models[name])}
        assert wanted <= titles, f"{name} lacks {sorted(wanted - titles)}"
    uids = [m["uid"] for m in models.values()]
    assert len(set(uids)) == len(uids)
    assert all(uid.startswith("opstrack-") for uid in uids)


def test_the_servicedesk_follows_the_readme_definitions(models: dict[str, dict[str, Any]]) -> None:
    desk = models["servicedesk.json"]
    by_title = {p["title"]: p for p in panels(desk)}
    sl = [t["expr"] for t in by_title["Service level within 20 and 60 s"]["targets"]]
    assert [re.sub(r"\{[^}]*\}", "{…}", e) for e in sl] == [
        "sum(rate(opstrack_calls_answered_within_total{…}[$__rate_interval]))"
        " / (sum(rate(opstrack_calls_offered_total{…}[$__rate_interval]))"
        " - sum(rate(opstrack_calls_short_abandoned_total{…}[$__rate_interval])))"
    ] * 2
    assert 'threshold="20"' in sl[0] and 'threshold="60"' in sl[1]
    assert all('queue=~"$queue"' in e and 'municipality=~"$municipality"' in e for e in sl)
    # The 70 % target is drawn on the chart.
    steps = by_title["Service level within 20 and 60 s"]["fieldConfig"]["defaults"]["thresholds"]
    assert {"color": "green", "value": 0.7} in steps["steps"]
    (asa,) = by_title["Average speed of answer"]["targets"]
    assert "opstrack_call_wait_seconds_sum" in asa["expr"]
    assert "opstrack_call_wait_seconds_count" in asa["expr"]
    assert asa["expr"].count('outcome="answered"') == 2
    variables = {v["name"]: v for v in desk["templating"]["list"]}
    assert set(variables) == {"queue", "municipality"}
    assert all(v["includeAll"] and v["allValue"] == ".*" for v in variables.values())


def test_the_period_panels_follow_the_readme_definitions(
    models: dict[str, dict[str, Any]],
) -> None:
    by_title = {p["title"]: p for p in panels(models["servicedesk.json"])}

    def period_sum(metric: str, extra: str = "") -> str:
        selector = f'{{period="month", queue=~"$queue", municipality=~"$municipality"{extra}}}'
        return f"sum(max by (queue, municipality) (opstrack_period_calls_{metric}{selector}))"

    considered = f"({period_sum('offered')} - {period_sum('short_abandoned')})"
    (sl,) = by_title["Service level 20 s, this month"]["targets"]
    within = period_sum("answered_within", ', threshold="20"')
    assert sl["expr"] == f"{within} / {considered}"
    assert sl["instant"] is True
    (abandon,) = by_title["Abandon rate, this month"]["targets"]
    assert abandon["expr"] == (
        f"({period_sum('abandoned')} - {period_sum('short_abandoned')}) / {considered}"
    )
    (asa,) = by_title["Average speed of answer, this month"]["targets"]
    assert asa["expr"] == f"{period_sum('answered_wait_seconds')} / {period_sum('answered')}"
    (today,) = by_title["Service level 60 s, today"]["targets"]
    assert 'period="today"' in today["expr"] and 'threshold="60"' in today["expr"]
    tickets = {p["title"]: p for p in panels(models["tickets.json"])}
    (mean,) = tickets["Mean handling time, this month"]["targets"]
    assert mean["expr"] == (
        'max(opstrack_period_tickets_handling_hours{period="month", stat="mean"})'
    )
    steps = tickets["Mean handling time, this month"]["fieldConfig"]["defaults"]["thresholds"]
    assert {"color": "red", "value": 20} in steps["steps"]


def test_no_panel_hides_no_data_as_zero(models: dict[str, dict[str, Any]]) -> None:
    # The workers export 0 where 0 is data (no open incidents, no violations): a
    # `or vector(0)` would only make "no worker reports" look like "all is well".
    for name, title, expr in expressions(models):
        assert "vector(0)" not in expr, f"{name}: {title}"


def test_the_text_panels_link_the_figures_that_are_not_metrics(
    models: dict[str, dict[str, Any]],
) -> None:
    (note,) = [
        p
        for p in panels(models["incidents.json"])
        if p["type"] == "text" and p["title"] == "MTTA, MTTR and downtime"
    ]
    assert "${opstrack_url}/v1/sli/incidents?period=" in note["options"]["content"]
    (api,) = models["incidents.json"]["templating"]["list"]
    assert api["query"] == DEFAULT_OPSTRACK_URL
    moved = build_all("https://opstrack.example")["incidents.json"]["templating"]["list"][0]
    assert moved["query"] == "https://opstrack.example"


def test_every_query_names_the_prometheus_data_source_by_uid(
    models: dict[str, dict[str, Any]],
) -> None:
    for name, model in models.items():
        for panel in panels(model):
            if panel["type"] in ("row", "text"):
                assert not panel.get("targets"), f"{name}: {panel['title']} has queries"
                continue
            where = f"{name}: {panel['title']}"
            if on_postgres(panel):
                continue  # test_the_history_panels_are_sql_on_the_store_in_a_collapsed_row
            assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, where
            assert panel["targets"], where
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"]), where
        for variable in model.get("templating", {}).get("list", []):
            if variable["type"] == "query":
                assert variable["datasource"]["uid"] == DATASOURCE_UID


def test_the_history_panels_are_sql_on_the_store_in_a_collapsed_row(
    models: dict[str, dict[str, Any]],
) -> None:
    postgres = {"type": POSTGRES_TYPE, "uid": POSTGRES_UID}
    for name in ("servicedesk.json", "incidents.json", "tickets.json"):
        # Last, so that the panels above keep their places and ids.
        row = models[name]["panels"][-1]
        assert (row["type"], row["title"], row["collapsed"]) == ("row", ROW_TITLE, True)
        charts = [p for p in row["panels"] if p["type"] != "text"]
        assert charts, name
        for panel in charts:
            assert panel["datasource"] == postgres, panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == postgres
                assert target["rawQuery"] and target["format"] == "time_series"
                # By event time: every query is bounded by the dashboard's time range.
                assert "$__unixEpoch" in target["rawSql"] or "$__time" in target["rawSql"]
        # Only these panels, nowhere else, use the store.
        assert [p for p in panels(models[name]) if on_postgres(p)] == charts
    for name in ("change-freeze.json", "goals.json"):
        assert not any(on_postgres(p) for p in panels(models[name]))


def test_panels_have_unique_ids_and_fit_the_grid(models: dict[str, dict[str, Any]]) -> None:
    for name, model in models.items():
        ids = [p["id"] for p in panels(model)]
        assert len(set(ids)) == len(ids), name
        for p in panels(model):
            pos = p["gridPos"]
            assert pos["x"] + pos["w"] <= 24 and pos["h"] > 0, f"{name}: {p['title']}"


def known_samples() -> set[str]:
    """Every sample name opstrack's processor and API export (a histogram's _sum, _count,
    _bucket), and the API's gauges that have no sample until first set."""
    suffixes = {"counter": ["_total"], "histogram": ["_sum", "_count", "_bucket"]}
    optional = [
        g
        for g in [*vars(ingest_metrics).values(), *vars(processor_metrics).values()]
        if isinstance(g, OptionalGauge)
    ]
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("opstrack_")
        for suffix in suffixes.get(family.type, [""])
    } | {g.name for g in optional}


def test_every_metric_queried_is_one_opstrack_exports(models: dict[str, dict[str, Any]]) -> None:
    known = known_samples()
    for name, title, expr in expressions(models):
        used = set(re.findall(r"\bopstrack_[a-z_]+", expr))
        # Prometheus' own `up` is the one other metric a panel may read (scrape targets).
        assert used or expr.startswith(("up{", "sum(up{")), f"{name}: {title}: no metric"
        assert used <= known, f"{name}: {title}: unknown {sorted(used - known)}"
    for model in models.values():
        for variable in model.get("templating", {}).get("list", []):
            if variable["type"] == "query":
                assert set(re.findall(r"\bopstrack_[a-z_]+", variable["query"])) <= known


def test_every_promql_expression_passes_promtool(
    models: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian's `prometheus`; scripts/test-prereqs.sh)")
    found = expressions(models)
    rules = [
        {
            "record": f"opstrack:dashboard_check:{n}",
            "expr": VARIABLES.sub(".*", WINDOWS.sub("5m", e)),
        }
        for n, (_, _, e) in enumerate(found)
    ]
    assert not any("$" in r["expr"] for r in rules)
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def test_the_provisioning_files_match_the_dashboards() -> None:
    sources = yaml.safe_load((DEPLOY / "provisioning/datasources/prometheus.yml").read_text())
    (prometheus,) = sources["datasources"]
    assert prometheus["uid"] == DATASOURCE_UID
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == "http://prometheus:9090"
    store = yaml.safe_load((DEPLOY / "provisioning/datasources/postgres.yml").read_text())
    (postgres,) = store["datasources"]
    assert (postgres["uid"], postgres["type"]) == (POSTGRES_UID, POSTGRES_TYPE)
    assert not postgres.get("isDefault")
    boards = yaml.safe_load((DEPLOY / "provisioning/dashboards/opstrack.yml").read_text())
    (provider,) = boards["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
