"""Every panel of every committed dashboard shows data after `make run`.

As an ops team would see it: `opstrack demo` (2022, then this year live) in a
subprocess, a real Prometheus (Debian's /usr/bin/prometheus) scraping it with the
project's own embedded scrape config and rule files, and every panel's PromQL from
deploy/grafana/dashboards/*.json, with Grafana's variables substituted, asked of that
Prometheus. A panel whose query errors, answers nothing, or answers only NaN fails,
and the failure lists every such panel.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.core.calendar import BusinessCalendar
from services.core.periods import STOCKHOLM
from services.stack.procs import free_port
from tests.e2e.grafana_panels import RANGE_PANELS, View, expand, prometheus_targets
from tests.waiting import ended, wait_until

# The demo loads 2022 and this year so far before the panels are asked: minutes on a
# busy machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
EMBEDDED = PROMETHEUS_DIR / "prometheus-embedded.yml"
PROMETHEUS = Path("/usr/bin/prometheus")  # Debian's package; scripts/test-prereqs.sh installs it
SCRAPE_SECONDS = 1
RATE_INTERVAL_SECONDS = 60  # Grafana's $__rate_interval: well over four scrapes
CALENDAR = BusinessCalendar()  # the default, as the demo's stack runs it
SCRAPES_AFTER_CAUGHT_UP = 5  # scrapes of the worker after it applied everything sent


def scrape_config(api_port: int, worker_port: int) -> dict[str, Any]:
    """The project's embedded config with the test's ports, absolute rule paths and
    quicker scrapes; everything else as committed."""
    config: dict[str, Any] = yaml.safe_load(EMBEDDED.read_text())
    config["global"] |= {
        "scrape_interval": f"{SCRAPE_SECONDS}s",
        "evaluation_interval": f"{SCRAPE_SECONDS}s",
    }
    config["rule_files"] = [str(PROMETHEUS_DIR / f) for f in config["rule_files"]]
    ports = {
        "127.0.0.1:8000": f"127.0.0.1:{api_port}",
        "127.0.0.1:6066": f"127.0.0.1:{worker_port}",
    }
    jobs = {}
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [ports[t] for t in static["targets"]]
        jobs[job["job_name"]] = [t for s in job["static_configs"] for t in s["targets"]]
    # The jobs the rules and dashboards select on, at the stack the test started.
    assert jobs == {
        "opstrack-api": [f"127.0.0.1:{api_port}"],
        "opstrack-worker": [f"127.0.0.1:{worker_port}"],
    }
    return config


@dataclass
class Running:
    prometheus: str  # its URL
    started: float  # epoch seconds Prometheus started at
    demo_out: Path
    demo_url: str


def start_group(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Any:
    out = log.open("ab")
    # A process group of its own: the demo's broker, API and worker go with it at the end.
    return subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
    ), out


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 60) -> int | None:
    code = None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = proc.wait(timeout)
    else:
        code = proc.returncode
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is still there
    proc.wait(10)
    return code


def query(prom: str, expr: str, **params: Any) -> Any:
    """Prometheus' answer (its `data`), or an AssertionError saying its error."""
    path = "/api/v1/query_range" if "step" in params else "/api/v1/query"
    r = httpx.post(f"{prom}{path}", data={"query": expr, **params}, timeout=30)
    body = r.json()
    if body.get("status") != "success":
        raise AssertionError(f"{body.get('errorType')}: {body.get('error')}")
    return body["data"]


def scalar(prom: str, expr: str) -> float | None:
    result = query(prom, expr)["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if not PROMETHEUS.exists():
        pytest.fail(f"{PROMETHEUS} is missing: run scripts/test-prereqs.sh (Debian's prometheus)")
    tmp = tmp_path_factory.mktemp("panels")
    api_port, worker_port, prom_port = free_port(), free_port(), free_port()
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(api_port, worker_port)))
    prom_url = f"http://127.0.0.1:{prom_port}"
    prom_log, demo_log = tmp / "prometheus.log", tmp / "demo.out"
    prom_argv = [
        str(PROMETHEUS),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    demo_argv = [
        sys.executable, "-m", "services.cli", "demo",
        "--port", str(api_port), "--worker-port", str(worker_port),
        "--db", f"sqlite:///{tmp / 'opstrack.db'}", "--state-dir", str(tmp / "state"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
    # The worker's periodic gauges (clock, goal table, period figures, staffing plan)
    # refreshed every second or two, so they follow the data within a few scrapes.
    for name in ("CLOCK", "GOALS", "PERIOD_METRICS", "STAFFING_METRICS"):
        env[f"OPSTRACK_{name}_INTERVAL_SECONDS"] = "2"
    started = time.time()
    # Prometheus first: it sees the counters rise while the demo loads, as a
    # Prometheus scraping a running stack would.
    prom, prom_out = start_group(prom_argv, prom_log)
    demo, demo_out = start_group(demo_argv, demo_log, env)
    gone = ended((prom, prom_log), (demo, demo_log))
    try:
        wait_until(lambda: _ok(f"{prom_url}/-/ready"), "Prometheus ready", 300, give_up=gone)
        wait_until(
            lambda: "live: caught up with now" in demo_log.read_text(),
            "the demo sent this year so far and went live",
            600,
            give_up=gone,
        )
        caught_up = time.time()
        wait_until(
            lambda: _applied(prom_url), "the worker applied everything sent", 300, give_up=gone
        )
        applied = time.time()
        wait_until(
            lambda: _refreshed_since(prom_url, applied),
            "the period figures refreshed after that, if the worker exports them",
            300,
            give_up=gone,
        )
        wait_until(
            lambda: _scrapes_since(prom_url, max(applied, caught_up)) >= SCRAPES_AFTER_CAUGHT_UP,
            f"{SCRAPES_AFTER_CAUGHT_UP} scrapes of the worker since",
            300,
            give_up=gone,
        )
        yield Running(prom_url, started, demo_log, f"http://127.0.0.1:{api_port}")
    finally:
        demo_code = stop_group(demo)
        stop_group(prom)
        demo_out.close()
        prom_out.close()
    assert demo_code == 0, demo_log.read_text()[-3000:]


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _applied(prom: str) -> bool:
    """Both targets up, nothing left in the outbox, and the worker consumed at least as
    many events as the API accepted: what was sent is in the store and the counters."""
    up = query(prom, 'up{job=~"opstrack-api|opstrack-worker"}')["result"]
    if sorted(float(s["value"][1]) for s in up) != [1.0, 1.0]:
        return False
    pending = scalar(prom, "sum(opstrack_outbox_pending_events)")
    accepted = scalar(prom, 'sum(opstrack_ingest_events_total{result="accepted"})')
    consumed = scalar(
        prom,
        "sum(opstrack_processor_events_total) + sum(opstrack_processor_deadlettered_total)",
    )
    return (
        pending == 0
        and accepted is not None
        and accepted > 0
        and consumed is not None
        and consumed >= accepted
    )


def _refreshed_since(prom: str, since: float) -> bool:
    names = query(prom, 'count by (__name__) ({job="opstrack-worker"})')["result"]
    stamp = "opstrack_period_figures_refreshed_timestamp_seconds"
    if stamp not in {s["metric"]["__name__"] for s in names}:
        return True  # a worker without period figures: nothing to wait for
    value = scalar(prom, f"max({stamp})")
    return value is not None and value >= since


def _scrapes_since(prom: str, since: float) -> int:
    window = max(1, math.ceil(time.time() - since))
    n = scalar(prom, f'count_over_time(up{{job="opstrack-worker"}}[{window}s])')
    return int(n or 0)


PERIOD = re.compile(r'period\s*=~?\s*"(today|week|month|tertial|year)"')


def _period_start(name: str, now: datetime) -> date:
    """The first day of the current period `name` (Stockholm): ISO week, tertial January-April."""
    day = now.astimezone(STOCKHOLM).date()
    first_month = {"month": day.month, "tertial": (day.month - 1) // 4 * 4 + 1, "year": 1}
    if name == "today":
        return day
    if name == "week":
        return day - timedelta(days=day.weekday())
    return date(day.year, first_month[name], 1)


def _quiet_so_far(expr: str, now: float) -> bool:
    """Whether `expr` reads a current period in which the servicedesk has not yet been
    open an hour: today on a night, a weekend or a holiday, this month on the 1st
    before nine. The department has no calls then, and a figure with no data is
    absent: the only panels allowed to be empty. An hour in, the demo's live calls
    (about 25 an hour at 8) have given the period data.
    """
    t = datetime.fromtimestamp(now, tz=STOCKHOLM)
    for name in set(PERIOD.findall(expr)):
        first = _period_start(name, t)
        start = datetime(first.year, first.month, first.day, tzinfo=STOCKHOLM)
        if CALENDAR.business_seconds(start, t) < 3600:
            return True
    return False


def _has_number(series: list[dict[str, Any]]) -> bool:
    values = [s["value"] for s in series if "value" in s]
    values += [v for s in series for v in s.get("values", [])]
    return any(not math.isnan(float(v[1])) for v in values)


def test_every_panel_shows_data(running: Running) -> None:
    targets = prometheus_targets(DASHBOARDS)
    assert len({t.dashboard for t in targets}) == len(list(DASHBOARDS.glob("*.json")))
    now = time.time()
    view = View(running.started, now, RATE_INTERVAL_SECONDS)
    # The last minutes, as a time series panel draws them; a point every two scrapes.
    span = {"start": max(running.started, now - 600), "end": now, "step": 2 * SCRAPE_SECONDS}
    problems: list[str] = []
    excused: list[str] = []
    for target in targets:
        expr = expand(target.expr, target.variables, view)
        try:
            instant = query(running.prometheus, expr, time=now)["result"]
            ranged = query(running.prometheus, expr, **span)["result"]
        except AssertionError as exc:
            problems.append(f"{target}\n    error: {exc}")
            continue
        shown = ranged if target.panel_type in RANGE_PANELS else instant
        what = "range" if target.panel_type in RANGE_PANELS else "instant"
        if _has_number(shown):
            continue
        if _quiet_so_far(expr, now):
            excused.append(str(target))  # no call yet in its period: rightly absent
        elif not shown:
            problems.append(f"{target}\n    empty ({what} query)")
        else:
            problems.append(f"{target}\n    only NaN ({what} query)")
    print(f"{len(excused)} empty, of a period not yet open an hour:", *excused, sep="\n")
    assert not problems, f"{len(problems)} of {len(targets)} panel queries show no data:\n" + (
        "\n".join(problems)
    )


def test_every_rule_evaluates_without_error(running: Running) -> None:
    rules = [
        rule
        for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    errors = []
    for rule in rules:
        try:
            query(running.prometheus, rule["expr"])
        except AssertionError as exc:
            errors.append(f"{rule.get('alert') or rule.get('record')}: {exc}")
    # Prometheus' own evaluations since it started, of the same files.
    groups = httpx.get(f"{running.prometheus}/api/v1/rules", timeout=30).json()["data"]["groups"]
    evaluated = [r for g in groups for r in g["rules"]]
    assert len(evaluated) == len(rules)  # every rule file was loaded
    errors += [f"{r['name']}: {r['lastError']}" for r in evaluated if r["health"] == "err"]
    assert not errors, "\n".join(errors)
