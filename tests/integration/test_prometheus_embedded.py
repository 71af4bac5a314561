"""deploy/prometheus/prometheus-embedded.yml: Prometheus for `opstrack up`/`make run`.

The panel test (tests/e2e/test_panels_prometheus.py) runs a real Prometheus with it;
here promtool checks the file as committed, and its jobs are checked against the
compose config's and the stack's default ports.
"""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

import yaml

from services.cli import up

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
EMBEDDED = DEPLOY / "prometheus-embedded.yml"


def jobs(path: Path) -> dict[str, list[str]]:
    config = yaml.safe_load(path.read_text())
    return {
        job["job_name"]: [t for s in job["static_configs"] for t in s["targets"]]
        for job in config["scrape_configs"]
    }


def test_promtool_accepts_it_with_every_rule_file() -> None:
    result = subprocess.run(
        ["promtool", "check", "config", str(EMBEDDED)], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    rule_files = sorted((DEPLOY / "rules").glob("*.yml"))
    assert f"{len(rule_files)} rule files found" in output  # rules/ beside the file


def test_it_scrapes_the_embedded_stack_under_the_compose_job_names() -> None:
    defaults = inspect.signature(up).parameters
    api, worker = defaults["port"].default, defaults["worker_port"].default
    assert jobs(EMBEDDED) == {
        "opstrack-api": [f"127.0.0.1:{api}"],
        "opstrack-worker": [f"127.0.0.1:{worker}"],
    }
    compose = jobs(DEPLOY / "prometheus.yml")
    assert {"opstrack-api", "opstrack-worker"} <= compose.keys()
