"""Ingest over HTTP into `opstrack up`: batch throughput, single-post latency.

(a) N events in batches of 500 from one sender, then N more from four senders
at once, each including the outbox write (the relay and the worker run as
they would); with the API process's CPU time per 1,000 events, which the
noise of a shared machine blurs less than a rate. (c) The time from the last
batch's 202 until GET /v1/sli/calls shows every offered call (run right after
(a), so the single posts do not blur it). (b) 500 single-event posts, one at a time.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import (
    AUTH,
    Figure,
    call_events,
    cpu_seconds,
    fresh_db,
    percentile,
    start_up,
    stop_up,
)

NAME = "ingest"
BATCH = 500
SINGLES = 500
SENDERS = 4
PERIOD = "2022-05"  # local month; the calls below enter their queues within it
BATCH_TYPE = "application/cloudevents-batch+json"


def post(client: httpx.Client, body: bytes, media: str) -> None:
    r = client.post("/v1/events", content=body, headers={"content-type": media})
    if r.status_code != 202:
        raise RuntimeError(f"POST /v1/events: {r.status_code} {r.text[:300]}")


def offered(client: httpx.Client) -> int:
    r = client.get("/v1/sli/calls", params={"period": PERIOD})
    r.raise_for_status()
    rows = r.json()["rows"]
    return int(rows[0]["offered"]) if rows else 0


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    calls = args.events // 2
    events = call_events(2 * calls + SINGLES // 2, seed=7)
    bulk = events[: 2 * calls], events[2 * calls : 4 * calls]
    singles = [orjson.dumps(e) for e in events[4 * calls :]]
    one, many = ([orjson.dumps(b[i : i + BATCH]) for i in range(0, len(b), BATCH)] for b in bulk)
    with fresh_db(args.db, tmp, NAME) as url:
        up = start_up(url, tmp)
        try:
            api_pid = up.children()["api"]
            with httpx.Client(base_url=up.api, timeout=60, headers=AUTH) as client:
                figures = measure(client, up.api, api_pid, (one, many), singles, calls)
        finally:
            stop_up(up.proc)
    label = f"{NAME} ({args.db})"
    figures.insert(0, (f"events in batches of {BATCH}, per sender count", 2 * calls, "events"))
    return [Figure(label, name, value, unit) for name, value, unit in figures]


def send_all(api: str, bodies: list[bytes], senders: int) -> float:
    """Post every body, `senders` at a time; the seconds it took."""

    def sender(share: list[bytes]) -> None:
        with httpx.Client(base_url=api, timeout=60, headers=AUTH) as client:
            for body in share:
                post(client, body, BATCH_TYPE)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        for done in [pool.submit(sender, bodies[i::senders]) for i in range(senders)]:
            done.result()
    return time.perf_counter() - t0


def measure(
    client: httpx.Client,
    api: str,
    api_pid: int,
    bodies: tuple[list[bytes], list[bytes]],
    singles: list[bytes],
    calls: int,
) -> list[tuple[str, Any, str]]:
    """(a), then (c) while nothing else is sent, then (b); figures as (name, value, unit)."""
    out: list[tuple[str, Any, str]] = []
    for senders, share in zip((1, SENDERS), bodies, strict=True):
        cpu0 = cpu_seconds(api_pid)
        seconds = send_all(api, share, senders)
        cpu = cpu_seconds(api_pid) - cpu0
        n = 2 * calls
        out.append((f"(a) batch POST throughput, {senders} sender(s)", n / seconds, "events/s"))
        out.append((f"(a) API CPU per 1,000 events, {senders} sender(s)", 1000 * cpu / n, "s"))
    last_202 = time.perf_counter()

    deadline = last_202 + 120 + calls / 50
    while offered(client) < 2 * calls:
        if time.perf_counter() > deadline:
            raise RuntimeError("the offered calls never all showed up in /v1/sli/calls")
        time.sleep(0.05)
    fresh = time.perf_counter() - last_202

    latencies = []
    for body in singles:
        t = time.perf_counter()
        post(client, body, "application/cloudevents+json")
        latencies.append((time.perf_counter() - t) * 1000)
    return [
        *out,
        ("(b) single POST p50", percentile(latencies, 50), "ms"),
        ("(b) single POST p99", percentile(latencies, 99), "ms"),
        ("(b) single POST max", max(latencies), "ms"),
        ("(c) last 202 → all calls in /v1/sli/calls", fresh, "s"),
    ]
