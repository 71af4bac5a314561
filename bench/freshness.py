"""Freshness: from an event's 202 to its effect in GET /v1/sli/calls, under a steady load.

A sender thread posts call events at a steady 1,000 events/s (batches of 100
every 0.1 s) into `opstrack up`. Meanwhile probes go one at a time: a single
answered call on a queue of its own (`probe-N`), so the moment its queue's
`offered` becomes 1 is exactly the moment that event became visible. Polling the
API every few ms would itself load the API, so each probe is first awaited in
the store (its inbox row, a primary-key read every 2 ms), then polled in
/v1/sli/calls every 5 ms until it shows. The inbox's own timestamp of the probe
(applied_events.applied_at_us, written in the transaction that makes it
visible) gives the latency without any polling.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, bindparam, text

from bench.common import (
    AUTH,
    Figure,
    call_events,
    fresh_db,
    percentile,
    start_up,
    stop_up,
)
from services.store.db import make_engine
from tests.reference import call_event, utc

NAME = "freshness"
RATE = 1000  # events/s of background load
TICK = 0.1  # seconds between background batches
POLL = 0.005
PROBE_DAY = utc(2022, 6, 1, 10)  # a day of its own, away from the load's 2022-05-02


def probe(i: int) -> dict[str, Any]:
    return call_event(1_000_000 + i, "call.answered", PROBE_DAY, f"probe-{i}", "probe", 1.0)


class Load(threading.Thread):
    """Posts batches on a fixed schedule; counts how far behind it ever fell."""

    def __init__(self, api: str, events: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        per_tick = int(RATE * TICK)
        self.bodies = [
            orjson.dumps(events[i : i + per_tick]) for i in range(0, len(events), per_tick)
        ]
        self.api = api
        self.late_s = 0.0
        self.error: BaseException | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.api, timeout=30, headers=AUTH) as client:
                start = time.perf_counter()
                for n, body in enumerate(self.bodies):
                    if self.stopping.is_set():
                        return
                    due = start + n * TICK
                    wait = due - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    else:
                        self.late_s = max(self.late_s, -wait)
                    r = client.post(
                        "/v1/events",
                        content=body,
                        headers={"content-type": "application/cloudevents-batch+json"},
                    )
                    if r.status_code != 202:
                        raise RuntimeError(f"POST /v1/events: {r.status_code} {r.text[:200]}")
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def measure_probe(client: httpx.Client, engine: Engine, i: int) -> tuple[float, float]:
    """Post probe i; (wall time of its 202, seconds until /v1/sli/calls shows it)."""
    r = client.post(
        "/v1/events",
        content=orjson.dumps(probe(i)),
        headers={"content-type": "application/cloudevents+json"},
    )
    accepted_wall, accepted = time.time(), time.perf_counter()
    if r.status_code != 202:
        raise RuntimeError(f"probe POST: {r.status_code} {r.text[:200]}")
    params = {"period": PROBE_DAY.date().isoformat(), "queue": f"probe-{i}"}
    deadline = accepted + 30
    applied = text("SELECT 1 FROM applied_events WHERE id = :id")
    with engine.connect() as conn:
        while conn.execute(applied, {"id": probe(i)["id"]}).first() is None:
            conn.rollback()  # a fresh snapshot for the next read
            if time.perf_counter() > deadline:
                raise RuntimeError(f"probe {i} not applied within 30 s")
            time.sleep(0.002)
    while True:
        rows = client.get("/v1/sli/calls", params=params).json()["rows"]
        if rows and rows[0]["offered"] == 1:
            return accepted_wall, time.perf_counter() - accepted
        if time.perf_counter() > deadline:
            raise RuntimeError(f"probe {i} not visible in /v1/sli/calls within 30 s")
        time.sleep(POLL)


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    events = call_events(args.events // 2, seed=11)
    with fresh_db(args.db, tmp, NAME) as url:
        up = start_up(url, tmp)
        try:
            load = Load(up.api, events)
            api_seen: dict[str, float] = {}
            accepted_at: dict[str, float] = {}
            engine = make_engine(url)
            with httpx.Client(base_url=up.api, timeout=30, headers=AUTH) as client:
                load.start()
                time.sleep(2)  # let the pipeline reach its steady state first
                i = 0
                while load.is_alive() and load.error is None:
                    seen = measure_probe(client, engine, i)
                    accepted_at[probe(i)["id"]], api_seen[probe(i)["id"]] = seen
                    i += 1
                    time.sleep(0.1)
                load.stopping.set()
                load.join()
            engine.dispose()
            if load.error is not None:
                raise load.error
            stored = inbox_latency(url, accepted_at)
        finally:
            stop_up(up.proc)
    api_ms = [1000 * s for s in api_seen.values()]
    label = f"{NAME} ({args.db})"
    return [
        Figure(label, "background load", len(events) / (len(load.bodies) * TICK), "events/s"),
        Figure(label, "most the load fell behind its schedule", 1000 * load.late_s, "ms"),
        Figure(label, "probes", len(api_ms), "events"),
        Figure(label, "202 → visible in /v1/sli/calls, p50", percentile(api_ms, 50), "ms"),
        Figure(label, "202 → visible in /v1/sli/calls, p99", percentile(api_ms, 99), "ms"),
        Figure(label, "202 → visible in /v1/sli/calls, max", max(api_ms), "ms"),
        Figure(label, "202 → applied in the store (inbox time), p50", percentile(stored, 50), "ms"),
        Figure(label, "202 → applied in the store (inbox time), p99", percentile(stored, 99), "ms"),
    ]


def inbox_latency(url: str, accepted_at: dict[str, float]) -> list[float]:
    """Milliseconds from each probe's 202 to its inbox timestamp."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = text("SELECT id, applied_at_us FROM applied_events WHERE id IN :ids")
            query = query.bindparams(bindparam("ids", expanding=True))
            rows = conn.execute(query, {"ids": list(accepted_at)}).all()
    finally:
        engine.dispose()
    applied = {row[0]: row[1] / 1e6 for row in rows}
    return [1000 * (applied[i] - accepted_at[i]) for i in accepted_at]
