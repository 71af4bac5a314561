"""The generated rule files under promtool: they load, and their unit tests pass.

tests/promtool/*.test.yml feed series to the rules and say which alerts fire when,
and what the recording rules hold. They name the rule files relative to their own
directory, so promtool runs from there.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from services.commands.rules import RULES_DIR
from services.core.incidents import IncidentState
from services.processor.clock import _unacknowledged_gauges

pytestmark = pytest.mark.integration

PROMTOOL_TESTS = Path(__file__).resolve().parents[1] / "promtool"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted(PROMTOOL_TESTS.glob("*.test.yml"))


@pytest.fixture
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return path


def _run(args: list[str], cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout
    )


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_promtool_checks_the_rule_file(promtool: str, rule_file: Path) -> None:
    done = _run([promtool, "check", "rules", str(rule_file)], RULES_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(promtool: str, test_file: Path) -> None:
    done = _run([promtool, "test", "rules", test_file.name], PROMTOOL_TESTS)
    assert done.returncode == 0, done.stdout + done.stderr


def _rules(path: Path) -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def test_every_alert_is_seen_firing_and_silent_by_some_promtool_test() -> None:
    defined = {
        (r["alert"], r["labels"]["severity"]) for f in RULE_FILES for r in _rules(f) if "alert" in r
    }
    fired, silent = set(), set()
    for f in TEST_FILES:
        spec = yaml.safe_load(f.read_text())
        assert {Path(p).name for p in spec["rule_files"]} <= {p.name for p in RULE_FILES}
        for group in spec["tests"]:
            for case in group.get("alert_rule_test", []):
                name = case["alertname"]
                severities = {a["exp_labels"]["severity"] for a in case.get("exp_alerts") or []}
                fired |= {(name, s) for s in severities}
                silent |= {(name, s) for s in ("page", "ticket") if s not in severities}
    assert defined <= fired, defined - fired
    assert defined <= silent, defined - silent


def test_the_unacknowledged_gauges_hold_the_oldest_opening_per_service_and_severity() -> None:
    # The input of Severity1IncidentUnacknowledged, as the worker's clock sets it.
    t0 = datetime(2022, 6, 1, 8, 0, tzinfo=UTC)

    def incident(n: int, service: str, severity: int, acked: bool) -> IncidentState:
        opened = t0 + timedelta(minutes=n)
        return IncidentState(
            incident_id=f"inc-{n}",
            service=service,
            severity=severity,
            impact="outage",
            municipalities=(),
            planned_work=None,
            title=None,
            opened_at=opened,
            acknowledged_at=opened + timedelta(minutes=1) if acked else None,
            resolved_at=None,
            outages=(),
        )

    _unacknowledged_gauges(
        [
            incident(0, "processmotor", 1, acked=True),  # acknowledged: not counted
            incident(5, "processmotor", 1, acked=False),
            incident(9, "processmotor", 1, acked=False),
            incident(7, "network", 2, acked=False),
        ]
    )

    def value(name: str, service: str, severity: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"service": service, "severity": severity})

    oldest = "opstrack_incidents_unacknowledged_oldest_opened_timestamp_seconds"
    assert value(oldest, "processmotor", "1") == (t0 + timedelta(minutes=5)).timestamp()
    assert value("opstrack_incidents_unacknowledged", "processmotor", "1") == 2
    assert value("opstrack_incidents_unacknowledged", "network", "2") == 1
    _unacknowledged_gauges([])  # all acknowledged or resolved: the series go
    assert value(oldest, "processmotor", "1") is None
    assert value("opstrack_incidents_unacknowledged", "network", "2") is None


# --- whole days of calls: generated series, hand-derived expectations ----------------
#
# A day's calls as a servicedesk gets them: the desk is open 08:00-17:00 (given as
# opstrack_servicedesk_open, 1 then, as the workers export it), 50 calls an hour (a
# call in 5 of every 6 minutes), none at night or on a closed day (weekend, holiday).
# The k-th call of a stretch at service level p is answered within 20 s (and 60 s)
# when floor(p*(k+1)) > floor(p*k): so the first n calls hold floor(p*n) good ones,
# a steady p. Counters count from the start; the lease holder's period gauges count
# from the day's start (today) or the start (month, tertial: all in one month).
# Times are minutes from 0 (promtool's 1970-01-01 00:00 UTC, but opening hours come
# from the open series, not the clock).

DAY = 24 * 60
OPEN, CLOSE = 8 * 60, 17 * 60
QUEUE = {"queue": "askersund", "municipality": "Askersund"}


def _calls(days: list[list[tuple[int, Fraction]]]) -> tuple[list[int], list[int], list[int]]:
    """Per minute: open, calls, good calls; each day a list of (from minute, level)
    stretches (no stretches: closed)."""
    opened, calls, good = [], [], []
    for stretches in days:
        k, level = 0, Fraction(0)
        for minute in range(DAY):
            for start, p in stretches:
                if minute == start:
                    k, level = 0, p
            is_open = bool(stretches) and OPEN <= minute < CLOSE
            call = int(is_open and (minute - OPEN) % 6 != 5)
            ok = int(call and (level * (k + 1)).__floor__() > (level * k).__floor__())
            k += call
            opened.append(int(is_open))
            calls.append(call)
            good.append(ok)
    return opened, calls, good


def _cumulative(per_minute: list[int], reset_daily: bool = False) -> list[int]:
    """The value sampled at each minute: what was counted in the minutes before it."""
    out, total = [], 0
    for minute, n in enumerate(per_minute):
        if reset_daily and minute % DAY == 0:
            total = 0
        out.append(total)
        total += n
    return out


def _series(name: str, labels: dict[str, str], values: list[int]) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in {**labels, "instance": "w1"}.items())
    return {"series": f"{name}{{{inner}}}", "values": " ".join(map(str, values))}


def _input_series(days: list[list[tuple[int, Fraction]]]) -> list[dict[str, str]]:
    opened, calls, good = _calls(days)
    out = [_series("opstrack_servicedesk_open", {}, opened)]
    for threshold in ("20", "60"):
        out.append(
            _series(
                "opstrack_calls_answered_within_total",
                {**QUEUE, "threshold": threshold},
                _cumulative(good),
            )
        )
    out += [
        _series("opstrack_calls_offered_total", QUEUE, _cumulative(calls)),
        _series("opstrack_calls_short_abandoned_total", QUEUE, [0] * len(calls)),
    ]
    for period in ("today", "month", "tertial"):
        labels = {**QUEUE, "period": period}
        daily = period == "today"
        out.append(_series("opstrack_period_calls_offered", labels, _cumulative(calls, daily)))
        out.append(_series("opstrack_period_calls_short_abandoned", labels, [0] * len(calls)))
        for threshold in ("20", "60"):
            out.append(
                _series(
                    "opstrack_period_calls_answered_within",
                    {**labels, "threshold": threshold},
                    _cumulative(good, daily),
                )
            )
    return out


SERVICE_LEVEL_ALERTS = [
    f"CallsAnswered{s}{kind}"
    for s in ("20s", "60s")
    for kind in ("FarBelowTargetNow", "BelowTargetToday", "GoalAtRisk")
]
RUNBOOK_URL = "https://opstrack.example.org/docs/runbook.md#"


def _pct(good: int, calls: int) -> str:
    return f"{good / calls * 100:.4g}%"  # Prometheus's humanizePercentage


def _now_alert(s: str, level: str) -> dict[str, Any]:
    n = "1" if s == "20" else "2"
    return {
        "exp_labels": {
            "severity": "ticket",
            "service": "servicedesk-telefoni",
            "slo": f"calls-answered-{s}s",
            "incident": "false",
            **QUEUE,
        },
        "exp_annotations": {
            "summary": f"Servicedesk calls answered within {s} s (service level {n}):"
            f" {level} in the last 30m, target 70 % (queue askersund, municipality Askersund)",
            "description": f"Of the calls counted in the last 30m (at least 10 to judge), {level}"
            " met it: below 60 %, far below the target of at least 70 %."
            " Judged inside opening hours only.",
            "runbook": "Get more agents onto this queue's phones now; if calls surge, look for"
            " the incident behind them and announce it in the queue's phone message.",
            "runbook_url": f"{RUNBOOK_URL}callsanswered{s}sfarbelowtargetnow",
        },
    }


def _today_alert(s: str, level: str) -> dict[str, Any]:
    n = "1" if s == "20" else "2"
    return {
        "exp_labels": {
            "severity": "ticket",
            "service": "servicedesk-telefoni",
            "slo": f"calls-answered-{s}s",
            "period": "today",
            "incident": "false",
            **QUEUE,
        },
        "exp_annotations": {
            "summary": f"Servicedesk calls answered within {s} s (service level {n}):"
            f" {level} today, target 70 % (queue askersund, municipality Askersund)",
            "description": "Of the calls counted today so far (by event time, from the store;"
            f" at least 100 to judge), {level} met it; the target is at least 70 %."
            " Judged inside opening hours only.",
            "runbook": "Staff the rest of the day for this queue (fewer agents on tickets or in"
            " meetings, breaks staggered) so the day ends at the target.",
            "runbook_url": f"{RUNBOOK_URL}callsanswered{s}sbelowtargettoday",
        },
    }


def _run_scenario(
    promtool: str, tmp_path: Path, days: list[list[tuple[int, Fraction]]], cases: list[Any]
) -> None:
    spec = {
        "rule_files": [str(RULES_DIR / "slo-servicedesk.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _input_series(days),
                "alert_rule_test": cases,
            }
        ],
    }
    path = tmp_path / "scenario.test.yml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, width=10**9))
    # Days of minutes take promtool a minute or two; more on a busy machine.
    done = _run([promtool, "test", "rules", path.name], tmp_path, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[:6000]


def _silent(times: list[int], names: list[str] = SERVICE_LEVEL_ALERTS) -> list[Any]:
    return [{"eval_time": f"{t}m", "alertname": a, "exp_alerts": []} for t in times for a in names]


def _at(day: int, hour: int, minute: int = 0) -> int:
    return day * DAY + hour * 60 + minute


def test_a_steady_71_percent_never_raises_a_service_level_alert(
    promtool: str, tmp_path: Path
) -> None:
    # Two open days, a closed one (a weekend day or holiday), an open one, all at 71 %.
    # Any n >= 100 calls hold floor(0.71 n) >= 0.7 n good ones: today and the month
    # are at or above 70 % whenever they have the calls to judge; any 30 minutes
    # (about 25 calls, at least 17 good in 24) stay far above 60 %.
    p = Fraction(71, 100)
    days = [[(0, p)], [(0, p)], [], [(0, p)]]
    every_10_minutes = list(range(0, 4 * DAY, 10))
    _run_scenario(promtool, tmp_path, days, _silent(every_10_minutes))


def test_a_steady_69_percent_tickets_the_same_day_and_never_when_closed(
    promtool: str, tmp_path: Path
) -> None:
    # Day 0 open at 69 %, day 1 a holiday (closed, no calls). Today's counted calls
    # reach 100 at 10:00 (120 minutes, a call in 5 of 6): from then on today is
    # floor(0.69 n)/n < 70 %, until closing. 30 minutes at 69 % are never below 60 %.
    p = Fraction(69, 100)
    days: list[list[tuple[int, Fraction]]] = [[(0, p)], []]
    now = [a for a in SERVICE_LEVEL_ALERTS if "Now" in a or "GoalAtRisk" in a]
    cases = _silent([_at(0, 7, 59), _at(0, 8), _at(0, 9, 30), _at(0, 9, 58)])
    cases += _silent([_at(0, h, m) for h in range(10, 17) for m in (0, 30)], now)

    # The annotation's level: of the n calls before 12:00 (240 minutes: 200 calls),
    # floor(0.69 * 200) = 138 good; before 16:59 (539 minutes: 89 cycles of 6 minutes
    # and 5 more, 445 + 5 = 450 calls) floor(0.69 * 450) = 310.
    for t, good, calls in [(_at(0, 12), 138, 200), (_at(0, 16, 59), 310, 450)]:
        for s in ("20", "60"):
            cases.append(
                {
                    "eval_time": f"{t}m",
                    "alertname": f"CallsAnswered{s}sBelowTargetToday",
                    "exp_alerts": [_today_alert(s, _pct(good, calls))],
                }
            )
    cases += _silent([_at(0, 17), _at(0, 23)] + [_at(1, h) for h in range(0, 24)])
    _run_scenario(promtool, tmp_path, days, cases)


def test_a_drop_from_85_to_40_percent_tickets_within_30_minutes_naming_the_queue(
    promtool: str, tmp_path: Path
) -> None:
    # Three days at 85 %, then on day 3 85 % until 10:00, 40 % until 12:00, 85 % again.
    # A 30m range holds the samples from 30 minutes back to now (Prometheus 2.x: both
    # ends), so its increase is the calls of the 30 minutes before now, exactly.
    # Minute m (from 08:00: m - 480) has a call unless (m - 480) % 6 == 5; the k-th
    # call of a stretch (from 0) is good when floor(p (k+1)) > floor(p k).
    #   85 %: floor(0.85 j) for j = 84..100 is 71 72 73 73 74 75 76 77 78 79 79 80 81
    #         82 83 84 85: the calls k = 86 and 93 are bad, the others good.
    #   40 %: floor(0.4 j) for j = 0..25 rises at j = 3, 5, 8, 10, 13, 15, 18, 20, 23,
    #         25: the calls k = 2, 4, 7, 9, 12, 14, 17, 19, 22, 24 are good.
    # 10:10, minutes 580-609: 580-599 hold 16 calls (none at 581, 587, 593, 599),
    #   k = 84..99 (84 before 580), 14 good; 600-609 hold 9 (none at 605), k = 0..8,
    #   3 good: 17 of 25 = 68 %, not below 60 %: silent.
    # 10:20, minutes 590-619: 590-599 hold 8 calls, k = 92..99, 7 good; 600-619 hold
    #   17 (none at 605, 611, 617), k = 0..16, 6 good: 13 of 25 = 52 %: fires.
    # 10:30, minutes 600-629: 25 calls, k = 0..24, 10 good: 40 %.
    high, low = Fraction(85, 100), Fraction(40, 100)
    days = [[(0, high)]] * 3 + [[(0, high), (_at(0, 10), low), (_at(0, 12), high)]]
    before = list(range(0, 3 * DAY, 10)) + list(range(_at(3, 0), _at(3, 10, 11), 10))
    now = [a for a in SERVICE_LEVEL_ALERTS if "Now" in a]
    cases = _silent(before) + _silent([_at(3, 12, 40), _at(3, 16, 50), _at(3, 18)], now)
    for t, good, calls in [(_at(3, 10, 20), 13, 25), (_at(3, 10, 30), 10, 25)]:
        for s in ("20", "60"):
            cases.append(
                {
                    "eval_time": f"{t}m",
                    "alertname": f"CallsAnswered{s}sFarBelowTargetNow",
                    "exp_alerts": [_now_alert(s, _pct(good, calls))],
                }
            )
    _run_scenario(promtool, tmp_path, days, cases)
