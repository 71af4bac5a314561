"""Metric labels stay bounded by the configured catalogs; the store and the API keep the text.

The worker's own steps run here on a real SQLite store and the real Prometheus registry
(apply_batch + observe.calls, apply_entity_batch + the clock's tick), and the real API reads
the same store. Made-up queues, municipalities and services are counted under `other`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from services import config
from services.api.main import create_app
from services.core.calendar import BusinessCalendar
from services.core.sla import SlaTargets
from services.processor import observe
from services.processor.calls import apply_batch
from services.processor.clock import tick
from services.processor.entities import apply_entity_batch
from services.processor.reducers import TOPIC_FAMILIES, reducers
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.builders import call_data, encoded, envelope, incident_data
from tests.conftest import AUTH
from tests.integration.testclient import QUIET_TESTCLIENT, TestClient

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

# The configured values, read here from the files themselves (config/queues.yaml,
# config/services.yaml), not from the code under test.
KNOWN_QUEUES = {"askersund", "hallsberg", "laxa", "lekeberg", "gemensam"}
MADE_UP = 2_000
AT = datetime(2022, 5, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings(sqlite_url: str, broker: EmbeddedBroker) -> Settings:
    return Settings(
        database_url=sqlite_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}-",
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    init_db(engine)
    yield engine
    engine.dispose()


def series() -> list[tuple[str, dict[str, str]]]:
    """Every sample the worker's /metrics would show: (name, labels)."""
    text = generate_latest(REGISTRY).decode()
    return [(s.name, s.labels) for f in text_string_to_metric_families(text) for s in f.samples]


def answered(i: int, queue: str, municipality: str) -> bytes:
    data = call_data(f"c-{i}", queue, municipality, wait=12.0)
    eid = f"made-up-{uuid.uuid4().hex}-{i}"
    return encoded(envelope("call.answered", data, id=eid, source="test/labels", time=AT))


def test_two_thousand_made_up_queues_add_one_other_series_per_metric(
    settings: Settings, store: Engine
) -> None:
    known = config.labels(settings.config_dir)
    # Warm up with a known queue, so "before" already has that queue's series.
    observe.calls(
        apply_batch(store, settings.call_rules, [answered(0, "askersund", "Askersund")]),
        "calls",
        known,
    )
    before = series()

    names = [f"kö-{i}" for i in range(MADE_UP)]
    batch = [answered(i + 1, q, f"kommun-{i}") for i, q in enumerate(names)]
    result = apply_batch(store, settings.call_rules, batch)
    assert len(result.applied) == MADE_UP
    observe.calls(result, "calls", known)
    after = series()

    # One (queue, municipality) pair's worth at most: the calls counters (value and
    # _created each), two thresholds and the wait histogram's 8 buckets + +Inf, sum,
    # count and _created, per outcome. 2,000 pairs would be over 40,000.
    assert len(after) - len(before) <= 60
    # The registry is the process's: other tests' queues may be in it already.
    seen = {(name, tuple(sorted(labels.items()))) for name, labels in before}
    new = [labels for name, labels in after if (name, tuple(sorted(labels.items()))) not in seen]
    queues = {labels["queue"] for labels in new if "queue" in labels}
    assert queues - KNOWN_QUEUES == {"other"}
    calls = {
        (labels["queue"], labels["municipality"]): value
        for name, labels in after
        if name == "opstrack_calls_answered_total"
        for value in [REGISTRY.get_sample_value(name, labels)]
    }
    other = calls[("other", "other")]
    assert other is not None and other >= MADE_UP  # all of them, under one pair

    # The store and the API keep every real name.
    with TestClient(create_app(settings), headers=AUTH) as client:
        r = client.get("/v1/sli/calls", params={"period": "2022-05-02", "group_by": "queue"})
        assert r.status_code == 200, r.text
        rows = {row["queue"]: row for row in r.json()["rows"]}
        assert set(rows) == {*names, "askersund"}
        assert rows["kö-1999"]["answered"] == 1
        r = client.get("/v1/sli/calls", params={"period": "2022-05-02", "queue": "kö-7"})
        assert r.json()["rows"][0]["offered"] == 1


def incident(kind: str, service: str, **extra: Any) -> bytes:
    data = incident_data("INC-FREE", service, **extra)
    eid = f"{kind}-{uuid.uuid4().hex}"
    return encoded(envelope(f"incident.{kind}", data, id=eid, source="test/labels", time=AT))


def test_a_free_text_incident_service_is_other_in_the_metrics_and_itself_in_the_api(
    settings: Settings, store: Engine
) -> None:
    free = "Kaffemaskinen på plan 3"
    opened = incident("opened", free, severity=2, impact="outage", title="Ingen kaffe")
    incidents_only = {f: reducers(None)[f] for f in TOPIC_FAMILIES["incidents"]}
    result = apply_entity_batch(store, incidents_only, [opened])
    assert len(result.applied) == 1

    catalog = config.catalog(settings.config_dir)
    known = config.labels(settings.config_dir)
    tick(store, settings, BusinessCalendar(), SlaTargets(hours={}), catalog, known, AT)

    def value(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert value("opstrack_incidents_open", service="other", severity="2") == 1
    assert value("opstrack_incidents_unacknowledged", service="other", severity="2") == 1
    assert value("opstrack_service_down", service="other", cause="own") == 1
    assert all(free not in labels.values() for _, labels in series())

    with TestClient(create_app(settings), headers=AUTH) as client:
        r = client.get("/v1/sli/incidents", params={"period": "2022-05-02", "group_by": "service"})
        assert r.status_code == 200, r.text
        rows = {row["service"]: row for row in r.json()["rows"]}  # the catalog's, and this one
        assert rows[free]["opened"] == 1
        assert "other" not in rows
