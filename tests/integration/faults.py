"""What the fault tests share: sending events both ways, reading SLIs, metrics and heartbeats."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import httpx
import orjson
from kafka import KafkaProducer
from sqlalchemy import func, select

from services.core.events import topic_for
from services.settings import Settings
from services.store.db import make_engine
from services.store.outbox import APPLIED
from services.store.workers import BEATS
from tests.reference import TZ, assert_rows_equal, expected_calls

T = TypeVar("T")
TOKEN = "fault-tests-dev-token"  # noqa: S105 - the API dev token of AUTH_CONTRACT.md
MAY = "2022-05"
PERIOD = (datetime(2022, 5, 1, tzinfo=TZ), datetime(2022, 6, 1, tzinfo=TZ))


def applied_count(db_url: str) -> int:
    """Events the workers have applied to the store (the inbox of applied ids)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(APPLIED)).scalar_one())
    finally:
        engine.dispose()


def api_settings(env: dict[str, str], database_url: str | None = None) -> Settings:
    # Calendar hours only: the reference computes those, not business hours.
    return Settings(
        database_url=database_url or env["OPSTRACK_DATABASE_URL"],
        kafka_bootstrap=env["OPSTRACK_KAFKA_BOOTSTRAP"],
        topic_prefix=env["OPSTRACK_TOPIC_PREFIX"],
        dev_token=TOKEN,
        business_calendar=False,
    )


def entity_key(e: dict[str, Any]) -> bytes:
    # The generators put the entity id first in data; it is the message key.
    return str(next(iter(e["data"].values()))).encode()


class Producer:
    """Events straight to their topics, past the API and its outbox dedup."""

    def __init__(self, env: dict[str, str]) -> None:
        self.prefix = env["OPSTRACK_TOPIC_PREFIX"]
        self._producer = KafkaProducer(
            bootstrap_servers=env["OPSTRACK_KAFKA_BOOTSTRAP"], acks="all"
        )

    def send(self, events: Iterable[dict[str, Any]]) -> None:
        for e in events:
            topic = f"{self.prefix}{topic_for(e['type'])}"
            self._producer.send(topic, key=entity_key(e), value=orjson.dumps(e))
        self._producer.flush()

    def close(self) -> None:
        self._producer.close()


def post(url: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(
        f"{url}/v1/events",
        content=orjson.dumps(events),
        headers={
            "content-type": "application/cloudevents-batch+json",
            "authorization": f"Bearer {TOKEN}",
        },
        timeout=30,
    )
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


def sli(url: str, family: str, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/v1/sli/{family}", params={"period": MAY, **params}, timeout=30)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["rows"]
    return rows


def check_calls(url: str, events: list[dict[str, Any]]) -> Callable[[], None]:
    """A check that /v1/sli/calls per queue and hour equals the reference."""
    want = expected_calls(events, PERIOD, ("queue", "hour"))
    offered = sum(r["offered"] for r in want)

    def check() -> None:
        got = sli(url, "calls", group_by="queue,hour")
        counted = sum(r["offered"] for r in got)
        assert counted == offered, f"{counted} of {offered} calls counted"
        assert_rows_equal(got, want)

    return check


def check_rows(url: str, family: str, want: list[dict[str, Any]]) -> Callable[[], None]:
    def check() -> None:
        assert_rows_equal(sli(url, family), want)

    return check


def metric(port: str | int, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`, from a worker's /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found, value = line[len(name) :].rsplit(" ", 1)
            pairs = dict(re.findall(r'(\w+)="([^"]*)"', found))
            if all(pairs.get(k) == v for k, v in labels.items()):
                total += float(value)
    return total


def partitions_held(db_url: str) -> dict[int, int]:
    """{worker pid: partitions it said it holds in its latest heartbeat}."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(BEATS.c.worker_id, BEATS.c.partitions)).all()
    finally:
        engine.dispose()
    return {int(w.rsplit(":", 1)[1]): n for w, n in rows}
