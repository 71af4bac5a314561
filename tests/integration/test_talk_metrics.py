"""Talk times reach the worker's counters once, as the buckets count them."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from services.core.calls import CallRules
from services.core.labels import LabelCatalog
from services.processor import observe
from services.processor.calls import apply_batch
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.builders import call_data, encoded, envelope

pytestmark = pytest.mark.integration

LABELS = {"queue": "talk-metrics-q", "municipality": "Laxå"}
KNOWN = LabelCatalog(
    queues=frozenset({LABELS["queue"]}),
    municipalities=frozenset({"Laxå"}),
    services=frozenset(),
    categories=frozenset(),
)


def completed(n: int, talk: float) -> bytes:
    data = call_data(f"c{n}", LABELS["queue"], "Laxå", wait=10, talk=talk)
    return encoded(
        envelope(
            "call.completed",
            data,
            id=f"talk-{n}",
            source="test/phone",
            time="2022-03-01T10:05:00+00:00",
        )
    )


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name, LABELS) or 0.0


def test_talk_times_count_once(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    init_db(engine)
    before = sample("opstrack_calls_talked_total"), sample("opstrack_calls_talk_seconds_total")
    batch = [completed(1, 120.5), completed(2, 300)]
    observe.calls(apply_batch(engine, CallRules(), batch), "calls", KNOWN)
    observe.calls(
        apply_batch(engine, CallRules(), batch), "calls", KNOWN
    )  # redelivered: duplicates
    engine.dispose()
    assert sample("opstrack_calls_talked_total") - before[0] == 2
    assert sample("opstrack_calls_talk_seconds_total") - before[1] == 420.5
    # No call was offered by them: talk ends count no call.
    assert REGISTRY.get_sample_value("opstrack_calls_offered_total", LABELS) in (None, 0.0)
