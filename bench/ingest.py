"""Ingest over HTTP into `opstrack up`: batch throughput, single-post latency, freshness.

(a) N events in batches of 500, including the outbox write; (c) the time from
the last batch's 202 until GET /v1/sli/calls shows every offered call (run right
after (a), so the single posts do not blur it); (b) 500 single-event posts.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import Figure, call_events, fresh_db, tail
from services.stack.procs import free_port

NAME = "ingest"
BATCH = 500
SINGLES = 500
PERIOD = "2022-05"  # local month; the calls below enter their queues within it


def start_up(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", "services.cli", "up", "--port", str(port)]
    argv += ["--worker-port", str(free_port()), "--db", url, "--state-dir", str(tmp / "state")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
    log = tmp / "up.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    api = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"opstrack up exited with {proc.returncode}:\n{tail(log)}")
        try:
            if httpx.get(f"{api}/readyz", timeout=2).status_code == 200:
                return proc, api
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop_up(proc)
    raise RuntimeError(f"opstrack up not ready within 90 s:\n{tail(log)}")


def stop_up(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def post(client: httpx.Client, body: bytes, media: str) -> None:
    r = client.post("/v1/events", content=body, headers={"content-type": media})
    if r.status_code != 202:
        raise RuntimeError(f"POST /v1/events: {r.status_code} {r.text[:300]}")


def offered(client: httpx.Client) -> int:
    r = client.get("/v1/sli/calls", params={"period": PERIOD})
    r.raise_for_status()
    return int(r.json()["rows"][0]["offered"])


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    calls = args.events // 2
    events = call_events(calls + SINGLES // 2, seed=7)
    bulk, singles = events[: 2 * calls], events[2 * calls :]
    bodies = [orjson.dumps(bulk[i : i + BATCH]) for i in range(0, len(bulk), BATCH)]
    with fresh_db(args.db, tmp, NAME) as url:
        proc, api = start_up(url, tmp)
        try:
            with httpx.Client(base_url=api, timeout=60) as client:
                figures = measure(client, bodies, [orjson.dumps(e) for e in singles], calls)
        finally:
            stop_up(proc)
    label = f"{NAME} ({args.db})"
    figures.insert(0, (f"events in batches of {BATCH}", len(bulk), "events"))
    return [Figure(label, name, value, unit) for name, value, unit in figures]


def measure(
    client: httpx.Client, bodies: list[bytes], singles: list[bytes], calls: int
) -> list[tuple[str, Any, str]]:
    """(a), then (c) while nothing else is sent, then (b); figures as (name, value, unit)."""
    t0 = time.perf_counter()
    for body in bodies:
        post(client, body, "application/cloudevents-batch+json")
    last_202 = time.perf_counter()

    deadline = last_202 + 120 + calls / 100
    while offered(client) < calls:
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
        ("(a) batch POST throughput", 2 * calls / (last_202 - t0), "events/s"),
        ("(b) single POST p50", percentile(latencies, 50), "ms"),
        ("(b) single POST p99", percentile(latencies, 99), "ms"),
        ("(b) single POST max", max(latencies), "ms"),
        ("(c) last 202 → all calls in /v1/sli/calls", fresh, "s"),
    ]
