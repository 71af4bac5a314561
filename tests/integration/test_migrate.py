"""A store from before (source, id) keys and token event sources, brought up to date by
init_db on real SQLite and PostgreSQL: nothing is lost, counted twice or left behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select, text
from sqlmodel import SQLModel

from services.core.calls import BucketKey, CallBucket
from services.core.events import parse_event
from services.ingest.batch import to_outbox
from services.store import calls, inbox, outbox, tokens
from services.store.db import make_engine
from services.store.migrate import APPLIED, ENTITY_EVENTS, META, init_db
from services.store.outbox import OUTBOX
from services.store.tokens import TOKENS
from tests.builders import call_data, envelope, ticket_data

pytestmark = pytest.mark.integration


def call(n: int, source: str = "pbx/askersund") -> dict[str, Any]:
    return envelope("call.queued", call_data(f"c{n}"), id=f"c-{n}", source=source)


def ticket(n: int) -> dict[str, Any]:
    data = ticket_data(f"T{n}", "it", 3, "Laxå")
    return envelope("ticket.created", data, id=f"t-{n}", source="zammad")


@pytest.fixture
def old_store(db_url: str) -> Iterator[Engine]:
    """The tables as an earlier opstrack left them, rows keyed by bare event ids."""
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE store_meta"))
        conn.execute(text("ALTER TABLE api_tokens DROP COLUMN event_sources"))
        # Call buckets from before talk times and abandons within thresholds (issue 16),
        # and call rollups as the l-kafka branch made them before it had those too.
        for table, column in (
            ("call_buckets", "talked"),
            ("call_buckets", "talk_ms"),
            ("call_buckets_within", "abandoned"),
            ("call_rollups", "talked"),
            ("call_rollups", "talk_ms"),
            ("call_rollups_within", "abandoned"),
        ):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(
            text(
                "INSERT INTO call_buckets (hour, queue, municipality, offered, answered,"
                " abandoned, short_abandoned, exited, wait_answered_ms, wait_offered_ms)"
                " VALUES (7200, 'askersund', 'Askersund', 2, 1, 1, 0, 0, 9000, 39000)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO call_buckets_within (hour, queue, municipality, threshold_s,"
                " answered) VALUES (7200, 'askersund', 'Askersund', 20, 1)"
            )
        )
        events = [parse_event(call(n)) for n in range(3)] + [parse_event(ticket(1))]
        rows = to_outbox(events, lambda t: f"x-{t}")
        # As they were stored: the id column held the event's own id.
        conn.execute(
            OUTBOX.insert(),
            [
                {
                    "id": e.id,
                    "type": r.type,
                    "topic": r.topic,
                    "key": r.key,
                    "event_time_ms": r.event_time_ms,
                    "received_at_us": 1,
                    "published": True,
                    "payload": r.payload,
                }
                for e, r in zip(events, rows, strict=True)
            ],
        )
        # c-0, c-1 and the ticket were applied; c-2 was published but not applied yet.
        conn.execute(
            APPLIED.insert(), [{"id": i, "applied_at_us": 2} for i in ("c-0", "c-1", "t-1")]
        )
        conn.execute(
            ENTITY_EVENTS.insert(),
            [
                {
                    "id": "t-1",
                    "family": "ticket",
                    "entity_id": "T1",
                    "type": "ticket.created",
                    "time_us": 3,
                    "payload": rows[3].payload,
                }
            ],
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (id, token_hash, source, scopes, rate, created_at_us)"
                " VALUES ('tok_old', 'h', 'asterisk', 'call.*', NULL, 1)"
            )
        )
    yield engine
    engine.dispose()


def test_an_old_store_is_rekeyed_by_source_and_id(old_store: Engine) -> None:
    init_db(old_store)
    resent = [parse_event(call(n)) for n in range(3)] + [parse_event(ticket(1))]
    with old_store.begin() as conn:
        # Ingest of the same events again: all are known, none stored twice.
        assert outbox.add(conn, to_outbox(resent, lambda t: f"x-{t}")) == 0
        # The processor's inbox: what was applied stays applied, c-2 is still to apply.
        fresh = inbox.claim(conn, [e.dedup_key for e in resent])
        assert fresh == {resent[2].dedup_key}
        assert conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == 4
        assert set(conn.execute(select(ENTITY_EVENTS.c.id)).scalars()) == {resent[3].dedup_key}
        # The same id from another source is another event now.
        assert outbox.add(conn, to_outbox([parse_event(call(0, "pbx/hallsberg"))], str)) == 1
        # The old token keeps its own source and what lies below it.
        old = next(t for t in tokens.all_tokens(conn) if t.id == "tok_old")
        assert old.event_sources == ("asterisk", "asterisk/*")
        assert dict(conn.execute(select(META.c.key, META.c.value)).all()) == {
            "dedup_key": "source+id",
            "call_rollups": "day+month",  # and the call rollups summed from the hours
            "call_queue_hours": "filled",  # with the queues' hours
            "outbox_ids": "filled",  # and the outbox's ids in the table that dedups them
        }


def test_the_migration_runs_once_and_again_changes_nothing(old_store: Engine) -> None:
    init_db(old_store)

    def snapshot() -> list[Any]:
        with old_store.connect() as conn:
            return [
                sorted(conn.execute(select(OUTBOX.c.id, OUTBOX.c.published)).all()),
                sorted(conn.execute(select(APPLIED.c.id)).scalars()),
                sorted(conn.execute(select(ENTITY_EVENTS.c.id)).scalars()),
                sorted(conn.execute(select(TOKENS.c.id, TOKENS.c.event_sources)).all()),
            ]

    before = snapshot()
    init_db(old_store)
    assert snapshot() == before
    ids = [orjson.loads(p)["id"] for p in _payloads(old_store)]
    assert sorted(ids) == ["c-0", "c-1", "c-2", "t-1"]


def test_old_call_buckets_gain_talk_and_abandon_columns(old_store: Engine) -> None:
    init_db(old_store)
    init_db(old_store)  # twice: the columns are added once
    key = BucketKey(hour=7200, queue="askersund", municipality="Askersund")
    # One more call into the old bucket: abandoned after 15 s; and a talk time of 200 s.
    delta = CallBucket(
        offered=1,
        abandoned=1,
        wait_offered_ms=15_000,
        abandoned_within={20: 1},
        answered_within={20: 0},
    )
    with old_store.begin() as conn:
        calls.add_buckets(conn, {key: delta})
        calls.add_buckets(conn, {key: CallBucket(talked=1, talk_ms=200_000)})
    with old_store.connect() as conn:
        got = calls.sum_buckets(conn, 7200, 10800)[()]
        # The whole local day of hour 7200 (1970-01-01, UTC+1) is read from its
        # daily rollup, which gained the same columns and must say the same.
        day = calls.sum_buckets(conn, -3600, 82800)[()]
    assert day == got
    assert got == CallBucket(
        offered=3,
        answered=1,
        abandoned=2,
        wait_answered_ms=9_000,
        wait_offered_ms=54_000,
        answered_within={20: 1},
        abandoned_within={20: 1},  # the old rows never counted theirs: 0
        talked=1,
        talk_ms=200_000,
    )


def _payloads(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(OUTBOX.c.payload)).scalars())
