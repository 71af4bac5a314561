"""`opstrack up` as a user runs it: events over HTTP in, exact service levels out, restart-safe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import PERIOD, PERIOD_BOUNDS, OnBroker, Up, opstrack, post, wait_equal
from tests.reference import assert_rows_equal, expected_calls, generate_calls, utc

pytestmark = pytest.mark.e2e


@pytest.fixture
def up(tmp_path: Path, on_broker: OnBroker) -> Iterator[Up]:
    """This test's stack, on each broker (the plain `up` runs on the embedded one)."""
    stack = Up(tmp_path, env=on_broker.env, kafka=on_broker.kafka)
    yield stack
    if stack.proc is not None:
        stack.stop()


def test_events_in_service_levels_out_and_restart_loses_nothing(up: Up) -> None:
    # 1,200 calls over two local days, across four queues and many hours:
    # answered, abandoned (some short), exited; 2,400 events in all.
    events = generate_calls(1200, seed=42, start=utc(2022, 5, 2, 4), hours=36)
    first, last = events[:1600], events[1600:]
    up.start()

    # The first part goes in as a user would send a file: `opstrack emit`.
    ndjson = up.tmp / "first.ndjson"
    ndjson.write_text("".join(json.dumps(e) + "\n" for e in first))
    sent = opstrack("emit", str(ndjson), "--url", up.url, "--batch", "500")
    assert sent.returncode == 0, sent.stderr
    assert "1600 accepted, 0 duplicates" in sent.stdout
    # Duplicates (same ids) are acknowledged and not counted.
    r = post(up.url, first[:300])
    assert r.json() == {"accepted": 0, "duplicates": 300, "conflicts": []}
    # One invalid item rejects its whole batch, naming the index and field.
    ending = next(e for e in last if "wait_seconds" in e["data"])
    bad = [*last[:10], {**ending, "data": {**ending["data"], "wait_seconds": -3}}]
    r = post(up.url, bad)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "index": 10,
            "field": "data.wait_seconds",
            "message": "Input should be greater than or equal to 0",
        }
    ]
    wait_equal(up.url, first)
    # The CLI shows the same figures as the API.
    shown = opstrack(
        "sli", "calls", "--period", PERIOD, "--group-by", "queue", "--json", "--url", up.url
    )
    assert shown.returncode == 0, shown.stderr
    assert_rows_equal(
        json.loads(shown.stdout)["rows"], expected_calls(first, PERIOD_BOUNDS, ("queue",))
    )

    # The rest arrives and the stack is stopped at once, before it can all be applied.
    assert post(up.url, last).status_code == 202
    children = up.children()
    # The embedded broker, the API and a worker; with --kafka the broker is not ours.
    assert len(children) == (2 if up.kafka else 3)
    assert up.stop() == 0
    assert not [p for p in children if Path(f"/proc/{p}").exists()], "children left behind"

    # Restarted on the same database: the outbox is replayed into the fresh
    # broker (Kafka still has what it acknowledged), so nothing is lost, and
    # the inbox keeps anything from counting twice.
    up.start()
    wait_equal(up.url, events)
    assert up.stop() == 0
    up.start()
    wait_equal(up.url, events, timeout=10)
