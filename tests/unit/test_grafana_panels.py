"""How the every-panel test reads dashboards and expands Grafana's variables
(tests/e2e/grafana_panels.py), on a hand-written dashboard."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from services.core.periods import STOCKHOLM
from tests.e2e.grafana_panels import View, expand, prometheus_targets, variables

PROM = {"type": "prometheus", "uid": "opstrack-prometheus"}
BOARD = {
    "panels": [
        {"type": "text", "title": "About", "options": {"content": "$queue"}},
        {"type": "stat", "title": "Calls", "datasource": PROM, "targets": [{"expr": "a"}]},
        {
            "type": "row",
            "title": "Collapsed",
            "panels": [
                {
                    "type": "timeseries",
                    "title": "Inside",
                    "targets": [{"datasource": PROM, "expr": "b"}],
                }
            ],
        },
        {
            "type": "timeseries",
            "title": "History",
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "opstrack-postgres"},
            "targets": [{"rawSql": "SELECT 1", "expr": "not promql"}],
        },
        {
            "type": "stat",
            "title": "Hidden",
            "targets": [{"datasource": PROM, "expr": "c", "hide": True}],
        },
    ],
    "templating": {
        "list": [
            {"name": "queue", "type": "query", "includeAll": True, "allValue": ".*"},
            {"name": "municipality", "type": "query", "includeAll": True, "multi": True},
            {"name": "period", "type": "custom", "current": {"value": "month"}},
            {"name": "opstrack_url", "type": "textbox", "current": {"value": ["http://x"]}},
        ]
    },
}


def test_only_prometheus_targets_of_every_panel_even_in_rows(tmp_path: Path) -> None:
    (tmp_path / "board.json").write_text(json.dumps(BOARD))
    found = [(t.dashboard, t.panel, t.panel_type, t.expr) for t in prometheus_targets(tmp_path)]
    assert found == [("board", "Calls", "stat", "a"), ("board", "Inside", "timeseries", "b")]


def test_all_is_the_all_value_else_the_current_value() -> None:
    assert variables(BOARD) == {
        "queue": ".*",
        "municipality": ".*",
        "period": "month",
        "opstrack_url": "http://x",
    }


def test_grafana_variables_in_every_spelling() -> None:
    view = View(start=1_000_000.0, end=1_000_300.0, rate_interval_seconds=60)
    values = {"queue": ".*", "period": "month"}
    expr = (
        'x{queue=~"$queue", period="${period}", p="[[period]]"}[$__range] '
        "y[$__rate_interval] z[${__interval}] $__range_s ${__from:date:seconds} ${__to} $unknown"
    )
    assert expand(expr, values, view) == (
        'x{queue=~".*", period="month", p="month"}[300s] '
        "y[60s] z[60s] 300 1000000 1000300000 $unknown"
    )


def test_only_a_period_not_yet_open_an_hour_may_be_empty() -> None:
    from tests.e2e.test_panels_prometheus import _quiet_so_far

    def at(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp()

    today, month = '{period="today"}', 'x{queue=~".*", period="month"}'
    assert _quiet_so_far(today, at("2026-12-06T12:00"))  # a Sunday
    assert _quiet_so_far(today, at("2026-12-07T08:59"))  # Monday, open 59 minutes
    assert not _quiet_so_far(today, at("2026-12-07T09:00"))
    assert not _quiet_so_far(month, at("2026-12-06T12:00"))  # December has had open days
    assert _quiet_so_far(month, at("2026-11-02T08:30"))  # Sun 1 Nov, Mon 2 Nov at 08:30
    assert _quiet_so_far('{period="year"}', at("2027-01-04T08:10"))  # 1 Jan, a weekend
    assert not _quiet_so_far('{period="week"}', at("2026-12-06T12:00"))
    assert not _quiet_so_far("no_period_label", at("2026-12-06T03:00"))
