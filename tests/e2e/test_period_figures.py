"""A "this month" stat panel shows what the API answers for this month, through a real
Prometheus scraping `opstrack up`'s worker.

Calls and tickets of this month (times relative to now) go in over HTTP; once the API
shows them applied, a real Prometheus (Debian's /usr/bin/prometheus) scrapes the
worker every second. The committed dashboards' panel queries, with the dashboard
variables set to "All" (`.*`), must then give the API's own figures for the month.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.periods import current_periods
from services.observability.dashboards import DASHBOARDS_DIR
from services.stack.procs import free_port
from tests.builders import envelope
from tests.e2e.stack import Up, post
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

PROMETHEUS = shutil.which("prometheus")
VARIABLES = {"$queue": ".*", "$municipality": ".*"}


def panel_expr(dashboard: str, title: str) -> str:
    """The first query of the panel titled `title` in the committed dashboard file."""
    model = json.loads((DASHBOARDS_DIR / dashboard).read_text(encoding="utf-8"))
    (panel,) = [p for p in model["panels"] if p.get("title") == title]
    expr = str(panel["targets"][0]["expr"])
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


@pytest.fixture
def prometheus(up: Up, tmp_path: Path) -> Iterator[str]:
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (Debian's `prometheus`; scripts/test-prereqs.sh)")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "opstrack-worker",
                        "static_configs": [{"targets": [f"127.0.0.1:{up.worker_port}"]}],
                    }
                ],
            }
        )
    )
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: alive(proc) and _ready(url), "Prometheus ready", 60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def alive(proc: subprocess.Popen[bytes]) -> bool:
    # Not an AssertionError: waiting longer cannot bring an exited process back.
    if proc.poll() is not None:
        raise RuntimeError(f"exited with {proc.returncode} before it was ready")
    return True


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def instant(url: str, expr: str) -> list[float]:
    r = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success", body
    return [float(s["value"][1]) for s in body["data"]["result"]]


def event(kind: str, when: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return envelope(kind, data, id=f"e2e-{uuid.uuid4().hex}", source="/test/e2e", time=when)


def api(url: str, what: str, period: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/v1/sli/{what}", params={"period": period}, timeout=10)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert len(rows) == 1, rows
    return dict(rows[0])


# Expected: a run in a month's first minutes has no room for this month's events.
@pytest.mark.allow_skip("within 10 minutes of a month's start")
def test_this_month_stat_panels_equal_the_api_through_prometheus(
    up: Up, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    now = datetime.now(UTC)
    month = current_periods(now)["month"]
    span = (now - month.start).total_seconds()
    if span < 600:
        pytest.skip("within 10 minutes of a month's start: no room for this month's events")
    up.extra_env["OPSTRACK_PERIOD_METRICS_INTERVAL_SECONDS"] = "1"
    up.start()
    prom: str = request.getfixturevalue("prometheus")

    def at(fraction: float) -> datetime:
        return month.start + timedelta(seconds=span * fraction)

    # Ten calls in two queues, spread over the month so far (entered at `at(f)`):
    # answered after 10 s (x4, within 20), 30 s (x2, within 60) and 90 s (x1);
    # abandoned after 2 s (x1, a short abandon) and 45 s (x2).
    # Service level 20 s = 4 / (10 - 1) = 4/9; ASA = (40 + 60 + 90) / 7.
    waits = [
        ("call.answered", 10),
        ("call.answered", 10),
        ("call.answered", 10),
        ("call.answered", 10),
        ("call.answered", 30),
        ("call.answered", 30),
        ("call.answered", 90),
        ("call.abandoned", 2),
        ("call.abandoned", 45),
        ("call.abandoned", 45),
    ]
    calls = []
    for i, (kind, wait) in enumerate(waits):
        queue, muni = ("askersund", "Askersund") if i % 2 else ("laxa", "Laxå")
        entered = at(0.1 + 0.08 * i)
        data = {"call_id": f"c{i}", "queue": queue, "municipality": muni, "wait_seconds": wait}
        calls.append(event(kind, entered + timedelta(seconds=wait), data))
    # Two tickets resolved this month: handling 0.4 and 0.8 of the month so far.
    tickets = []
    for tid, resolved in (("E2E-1", 0.5), ("E2E-2", 0.9)):
        data = {"ticket_id": tid, "category": "Behörighet", "priority": 3, "municipality": "Laxå"}
        tickets.append(event("ticket.created", at(0.1), data))
        tickets.append(event("ticket.resolved", at(resolved), data))
    r = post(up.url, calls + tickets)
    assert r.status_code == 202, r.text

    # Evidence that the worker applied them: the API shows them for this month.
    def applied() -> bool:
        c, t = api(up.url, "calls", month.label), api(up.url, "tickets", month.label)
        return bool(c["offered"] == 10 and t["resolved"] == 2)

    wait_until(applied, "calls and tickets applied", 60)
    c, t = api(up.url, "calls", month.label), api(up.url, "tickets", month.label)
    # The API agrees with the hand-worked figures.
    assert c["service_level"]["20"] == pytest.approx(4 / 9, rel=1e-12)
    assert c["asa_seconds"] == pytest.approx(190 / 7, rel=1e-12)
    assert t["handling_time_hours"]["mean"] == pytest.approx(0.6 * span / 3600, rel=1e-6)

    # Prometheus has scraped a refresh that saw them.
    offered = panel_expr("servicedesk.json", "Calls offered, this month")
    wait_until(lambda: instant(prom, offered) == [10.0], "this month's gauges in Prometheus", 60)
    resolved_expr = panel_expr("tickets.json", "Resolved, this month")
    wait_until(
        lambda: instant(prom, resolved_expr) == [2.0], "this month's tickets in Prometheus", 60
    )

    # The stat panels' queries, as Grafana sends them with "All" chosen.
    checks = [
        ("servicedesk.json", "Service level 20 s, this month", c["service_level"]["20"]),
        ("servicedesk.json", "Service level 60 s, this month", c["service_level"]["60"]),
        ("servicedesk.json", "Abandon rate, this month", c["abandon_rate"]),
        ("servicedesk.json", "Average speed of answer, this month", c["asa_seconds"]),
        ("tickets.json", "Mean handling time, this month", t["handling_time_hours"]["mean"]),
        ("tickets.json", "Median handling time, this month", t["handling_time_hours"]["median"]),
    ]
    for dashboard, title, want in checks:
        (got,) = instant(prom, panel_expr(dashboard, title))
        assert got == pytest.approx(want, rel=1e-12), title
