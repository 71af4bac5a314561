"""The pipeline alerts' rule group: what every alert carries, and that it reads metrics
opstrack exports (promtool's scenarios are in tests/promtool/pipeline.test.yml)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.observability import ingest_metrics, processor_metrics, stack_metrics
from services.observability.optional_gauge import OptionalGauge
from services.observability.rules_pipeline import pipeline_group
from services.observability.stack_metrics import write_restarts

RUNBOOK_BASE = "https://runbooks.example/opstrack.md"

ALERTS = {
    "OpstrackTargetDown",
    "OpstrackNoWorkerUp",
    "OutboxRelayStalled",
    "OutboxBacklogGrowing",
    "EventsUnappliedTooLong",
    "WorkerNotApplying",
    "IngestServerErrors",
    "StoreRetriesRising",
    "PeriodFiguresStale",
    "CallSourceQuiet",
    "StackChildRestarting",
}


def exported() -> set[str]:
    suffixes = {"counter": ["_total"], "histogram": ["_sum", "_count", "_bucket"]}
    optional = {
        g.name
        for g in [*vars(ingest_metrics).values(), *vars(processor_metrics).values()]
        if isinstance(g, OptionalGauge)
    }
    return (
        stack_exported()
        | optional
        | {
            family.name + suffix
            for family in REGISTRY.collect()
            for suffix in suffixes.get(family.type, [""])
        }
    )


def stack_exported() -> set[str]:
    """`opstrack up`'s metrics, as its API exports them from a supervisor's state file
    (services/observability/stack_metrics.py: a registry of its own, read on each scrape)."""
    with tempfile.TemporaryDirectory() as d:
        state = Path(d) / "state.json"
        write_restarts(state, {"api": 1, "worker": 0})
        text = stack_metrics.exposition(state).decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_every_alert_says_what_it_is_and_what_to_do() -> None:
    rules = pipeline_group(RUNBOOK_BASE)["rules"]
    assert {r["alert"] for r in rules} == ALERTS
    for rule in rules:
        notes = rule["annotations"]
        assert set(notes) == {"summary", "description", "runbook", "runbook_url"}, rule["alert"]
        assert "\n" not in notes["runbook"], rule["alert"]  # one line
        assert notes["runbook_url"] == f"{RUNBOOK_BASE}#{rule['alert'].lower()}"
        assert rule["labels"]["severity"] in ("page", "ticket")
        # About opstrack itself: never an opstrack incident (deploy/alertmanager's route).
        assert rule["labels"]["incident"] == "false"


def test_the_runbook_base_is_the_callers() -> None:
    (rule, *_) = pipeline_group("https://wiki.example/opstrack")["rules"]
    assert rule["annotations"]["runbook_url"] == "https://wiki.example/opstrack#opstracktargetdown"


def test_every_metric_an_alert_reads_is_exported() -> None:
    known = exported()
    for rule in pipeline_group(RUNBOOK_BASE)["rules"]:
        used = set(re.findall(r"\bopstrack_[a-z_]+", rule["expr"]))
        assert used or "up{" in rule["expr"], rule["alert"]
        assert used <= known, f"{rule['alert']}: unknown {sorted(used - known)}"
