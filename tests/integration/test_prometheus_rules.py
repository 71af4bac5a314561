"""The generated rule files under promtool: they load, and their unit tests pass.

tests/promtool/*.test.yml feed series to the rules and say which alerts fire when,
and what the recording rules hold. They name the rule files relative to their own
directory, so promtool runs from there.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
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


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=240)


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
