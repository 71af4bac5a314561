"""The outbox at national size (issue 13): months on PostgreSQL, archived months, rebuilds
that read them back, on real SQLite and PostgreSQL.

Events are stored as the API would have stored them live, each received a minute
after its event time, so that they fall into the months of a past year; what
the archive files must hold and which months a query must read are worked out
here from those times, not by the code under test.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, Engine, func, select, text, update
from sqlmodel import SQLModel

from services.core.events import parse_event
from services.ingest.batch import to_outbox
from services.processor.replay import REPLAYED, clear, replay
from services.settings import Settings
from services.store import archive, outbox, partitions, rebuild
from services.store.archive import ArchiveError
from services.store.db import make_engine
from services.store.migrate import init_db
from services.store.outbox import IDS, OUTBOX
from tests.integration.test_rebuild import derived, live, run_cli
from tests.reference import generate_calls, utc

pytestmark = pytest.mark.integration

# 400 calls entering queues from 20 January to 21 March 2022: three months received.
CALLS = generate_calls(400, seed=11, start=utc(2022, 1, 20), hours=24 * 60)
DELAY_US = 60_000_000  # received a minute after the event time


def received_month(event: dict[str, Any]) -> str:
    t = datetime.fromisoformat(event["time"]).astimezone(UTC)
    at = datetime.fromtimestamp(t.timestamp() + DELAY_US / 1e6, tz=UTC)
    return f"{at.year:04}-{at.month:02}"


def received(events: list[dict[str, Any]], published: bool = True) -> list[dict[str, Any]]:
    """Outbox rows of the events as ingest would have stored them when they happened
    (outbox.insert_new stamps now; these were received in the past), published by the
    relay unless told."""
    return [
        {
            "id": r.id,
            "type": r.type,
            "topic": r.topic,
            "key": r.key,
            "event_time_ms": r.event_time_ms,
            "received_at_us": r.event_time_ms * 1000 + DELAY_US,
            "published": published,
            "payload": r.payload,
        }
        for r in _rows(events)
    ]


def receive(engine: Engine, events: list[dict[str, Any]], published: bool = True) -> None:
    """Store the events' rows (`received`) in the outbox, their months made first."""
    rows = received(events, published)
    with engine.begin() as conn:
        if partitions.is_partitioned(conn):
            for month in {partitions.month_of(r["received_at_us"]) for r in rows}:
                partitions.create(conn, *month)
        conn.execute(IDS.insert(), [{"id": r["id"]} for r in rows])
        conn.execute(OUTBOX.insert(), rows)


def outbox_ids(conn: Connection) -> set[str]:
    return set(conn.execute(select(OUTBOX.c.id)).scalars())


def settings_for(engine: Engine) -> Settings:
    return Settings(database_url=engine.url.render_as_string(hide_password=False))


def run_rebuild(engine: Engine, since: datetime | None, archive_dir: Path | None) -> int:
    hour = 0 if since is None else int(since.timestamp()) // 3600 * 3600
    total = clear(engine, hour, archive_dir)
    done = replay(engine, settings_for(engine), hour, 53, archive_dir=archive_dir)
    assert not done.invalid, done.invalid[:3]
    assert done.events == total
    return total


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    """A directory of its own (the SQLite store's files are in tmp_path)."""
    path = tmp_path / "archive"
    path.mkdir()
    return path


def test_archived_months_are_in_their_files_and_a_rebuild_reads_them_back(
    engine: Engine, archive_dir: Path
) -> None:
    tmp_path = archive_dir
    receive(engine, CALLS)
    live(engine, settings_for(engine), CALLS, seed=2)  # the workers applied them all
    before = derived(engine)

    done = archive.archive(engine, tmp_path, (2022, 3), REPLAYED)

    by_month: dict[str, list[dict[str, Any]]] = {}
    for e in CALLS:
        by_month.setdefault(received_month(e), []).append(e)
    assert sorted(by_month) == ["2022-01", "2022-02", "2022-03"]  # precondition
    assert [(a.month, a.file, a.events) for a in done] == [
        ("2022-01", "outbox-2022-01.jsonl.gz", len(by_month["2022-01"])),
        ("2022-02", "outbox-2022-02.jsonl.gz", len(by_month["2022-02"])),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [a.file for a in done]  # no temp files
    for a in done:
        with gzip.open(tmp_path / a.file) as f:
            lines = [orjson.loads(line) for line in f]
        assert sorted(orjson.loads(r["payload"])["id"] for r in lines) == sorted(
            e["id"] for e in by_month[a.month]
        )
    with engine.connect() as conn:
        left = {orjson.loads(p)["id"] for p in conn.execute(select(OUTBOX.c.payload)).scalars()}
        assert left == {e["id"] for e in by_month["2022-03"]}
        # An archived event sent again is still known: a duplicate, not a new event.
        assert conn.execute(select(func.count()).select_from(IDS)).scalar_one() == len(CALLS)
    with engine.begin() as conn:
        again = to_outbox([parse_event(by_month["2022-01"][0])], lambda t: f"x-{t}")
        assert outbox.add(conn, again) == 0

    # A rebuild from inside February needs February's file (not January's: its events
    # are all from before), and gives back what the workers made.
    with pytest.raises(ArchiveError, match=r"2022-02 are archived: pass --archive DIR"):
        run_rebuild(engine, utc(2022, 2, 10), None)
    assert derived(engine) == before  # refused before anything was cleared
    replayed = run_rebuild(engine, utc(2022, 2, 10), tmp_path)
    since_ms = int(utc(2022, 2, 10).timestamp() * 1000)
    assert replayed == sum(
        datetime.fromisoformat(e["time"]).timestamp() * 1000 >= since_ms for e in CALLS
    )
    assert derived(engine) == before
    run_rebuild(engine, None, tmp_path)  # everything, both files
    assert derived(engine) == before

    # A file that is not the one written, or is gone, is named.
    feb = tmp_path / "outbox-2022-02.jsonl.gz"
    data = bytearray(feb.read_bytes())
    data[len(data) // 2] ^= 0xFF
    feb.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=rf"{feb}: not the file archived \(2022-02\)"):
        run_rebuild(engine, utc(2022, 2, 10), tmp_path)
    feb.unlink()
    with pytest.raises(ArchiveError, match=rf"{feb}: missing \(the archive of 2022-02\)"):
        run_rebuild(engine, utc(2022, 2, 10), tmp_path)
    assert derived(engine) == before


def test_a_month_with_work_left_is_not_archived(engine: Engine, archive_dir: Path) -> None:
    tmp_path = archive_dir
    jan = [e for e in CALLS if received_month(e) == "2022-01"]
    feb = [e for e in CALLS if received_month(e) == "2022-02"]
    receive(engine, jan)
    receive(engine, feb[:10], published=False)  # the relay has not sent these yet
    receive(engine, feb[10:])
    live(engine, settings_for(engine), jan + feb[10:], seed=3)

    with pytest.raises(ArchiveError, match=r"2022-02 not archived: 10 events not yet published"):
        archive.archive(engine, tmp_path, (2022, 3), REPLAYED)
    assert [p.name for p in tmp_path.iterdir()] == ["outbox-2022-01.jsonl.gz"]  # January went
    with engine.connect() as conn:
        assert outbox_ids(conn) == {r.id for r in _rows(feb)}

    with engine.begin() as conn:  # published now, but not applied by any worker
        conn.execute(update(OUTBOX).values(published=True))
    with pytest.raises(ArchiveError, match=r"0 events not yet published and 10 not yet applied"):
        archive.archive(engine, tmp_path, (2022, 3), REPLAYED)


def _rows(events: list[dict[str, Any]]) -> list[outbox.NewEvent]:
    return to_outbox([parse_event(e) for e in events], lambda t: f"x-{t}")


def test_bad_archive_input_is_named(engine: Engine, tmp_path: Path) -> None:
    for bad in ("2025-13", "2025-1", "january", "2025-01-01"):
        with pytest.raises(ArchiveError, match=rf"'{bad}' is not a month: write it YYYY-MM"):
            archive.parse_month(bad)
    with pytest.raises(ArchiveError, match=rf"{tmp_path / 'nope'}: no such directory"):
        archive.archive(engine, tmp_path / "nope", (2022, 3), REPLAYED)
    now = datetime.now(tz=UTC)
    after = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    with pytest.raises(ArchiveError, match=rf"{now:%Y-%m} is still being received"):
        archive.archive(engine, tmp_path, after, REPLAYED)
    broken = tmp_path / "outbox-2022-01.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"id": "a"}\nnot json\n'))
    with pytest.raises(ArchiveError, match=rf"{broken} line 1: not an outbox row"):
        list(archive.read_file(broken))
    broken.write_bytes(gzip.compress(b"not json\n"))
    with pytest.raises(ArchiveError, match=rf"{broken} line 1: not JSON"):
        list(archive.read_file(broken))
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(ArchiveError, match=rf"{broken}: not a readable gzip file"):
        list(archive.read_file(broken))


# PostgreSQL only: the months as partitions, and which of them each query reads.


@pytest.fixture
def pg_engine(pg_url: str) -> Any:
    eng = make_engine(pg_url)
    init_db(eng)
    yield eng
    eng.dispose()


def scanned(conn: Connection, query: Any) -> list[str]:
    """The tables a query's plan reads, each with how (from EXPLAIN's JSON)."""
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    out: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            out.append(f"{node['Relation Name']} {node['Node Type']} {node.get('Index Name', '')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return sorted(out)


def made_ahead() -> list[str]:
    """The partitions every start makes: last month, this month, next month, and the
    default one (for rows received outside every month made)."""
    now = datetime.now(tz=UTC)
    after = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    before = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return [
        f"outbox_p{before[0]:04}_{before[1]:02}",
        f"outbox_p{now:%Y_%m}",
        f"outbox_p{after[0]:04}_{after[1]:02}",
        "outbox_default",
    ]


def test_each_query_reads_only_the_months_it_needs(pg_engine: Engine) -> None:
    receive(pg_engine, CALLS)  # January to March 2022, published
    late = [e for e in CALLS if received_month(e) == "2022-03"][:5]
    with pg_engine.begin() as conn:  # five still to send
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([r.id for r in _rows(late)]))
            .values(published=False)
        )
        conn.execute(text("ANALYZE outbox"))
    months = ["outbox_p2022_01", "outbox_p2022_02", "outbox_p2022_03", *made_ahead()]
    with pg_engine.connect() as conn:
        assert (
            sorted(
                r[0]
                for r in conn.execute(
                    text("SELECT tableoid::regclass::text, 1 FROM outbox GROUP BY 1")
                )
            )
            == months[:3]
        )

        # The relay's next batch: in every month whose events were all sent, only that
        # month's index of unpublished rows (empty), never its rows. (March's few rows,
        # and the empty partitions made ahead, are read as the planner likes: tables
        # this small it reads whole.)
        relay = scanned(conn, _pending_query())
        assert [s for s in relay if s.startswith(("outbox_p2022_01", "outbox_p2022_02"))] == [
            f"{m} Index Scan {m}_received_at_us_id_idx" for m in months[:2]
        ]
        assert {s.split()[0] for s in relay} == set(months)
        assert [p.id for p in outbox.pending(conn, 100)] == sorted(
            (r.id for r in _rows(late)), key=lambda i: _received(conn, i)
        )

        # Marking them published looks in the months of their received times only.
        batch = outbox.pending(conn, 100)
        lo, hi = min(p.received_at_us for p in batch), max(p.received_at_us for p in batch)
        mark = update(OUTBOX).where(
            OUTBOX.c.id.in_([p.id for p in batch]), OUTBOX.c.received_at_us.between(lo, hi)
        )
        plan = scanned(conn, mark.values(published=True))
        assert {s.split()[0] for s in plan if "ModifyTable" not in s} == {"outbox_p2022_03"}
        outbox.mark_published(conn, [p.id for p in batch], (lo, hi))
        assert outbox.pending(conn, 100) == []
        conn.rollback()

        # A rebuild from 10 February reads February on, not January.
        since_ms = int(utc(2022, 2, 10).timestamp() * 1000)
        floor = partitions.received_floor(conn, since_ms)
        assert floor == int(utc(2022, 2, 1).timestamp()) * 1_000_000
        where = rebuild.replayed(since_ms, REPLAYED, floor)
        read = {s.split()[0] for s in scanned(conn, select(OUTBOX.c.payload).where(where))}
        assert read == set(months[1:])
        assert rebuild.count(conn, where) == sum(
            datetime.fromisoformat(e["time"]).timestamp() * 1000 >= since_ms for e in CALLS
        )


def _pending_query() -> Any:
    cols = (OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload, OUTBOX.c.received_at_us)
    return (
        select(*cols)
        .where(outbox.UNPUBLISHED)
        .order_by(OUTBOX.c.received_at_us, OUTBOX.c.id)
        .limit(100)
    )


def _received(conn: Connection, event_id: str) -> int:
    return int(
        conn.execute(select(OUTBOX.c.received_at_us).where(OUTBOX.c.id == event_id)).scalar_one()
    )


def test_an_event_dated_ahead_keeps_its_month_in_a_rebuild(pg_engine: Engine) -> None:
    receive(pg_engine, CALLS)
    ahead = dict(CALLS[0], id="ahead", time="2022-03-15T12:00:00+00:00")  # sent in January
    rows = _rows([ahead])
    with pg_engine.begin() as conn:
        conn.execute(IDS.insert(), [{"id": rows[0].id}])
        conn.execute(
            OUTBOX.insert(),
            [
                {
                    "id": rows[0].id,
                    "type": rows[0].type,
                    "topic": rows[0].topic,
                    "key": rows[0].key,
                    "event_time_ms": rows[0].event_time_ms,
                    "received_at_us": int(utc(2022, 1, 25).timestamp()) * 1_000_000,
                    "published": True,
                    "payload": rows[0].payload,
                }
            ],
        )
    with pg_engine.connect() as conn:
        since_ms = int(utc(2022, 3, 1).timestamp() * 1000)
        assert partitions.received_floor(conn, since_ms) == int(utc(2022, 1, 1).timestamp()) * 10**6
        where = rebuild.replayed(since_ms, REPLAYED, partitions.received_floor(conn, since_ms))
        assert rebuild.count(conn, where) == 1 + sum(
            datetime.fromisoformat(e["time"]).timestamp() * 1000 >= since_ms for e in CALLS
        )


def test_a_plain_outbox_of_an_earlier_opstrack_becomes_months(pg_url: str) -> None:
    """A PostgreSQL store made before the months: init_db converts it, every event kept."""
    engine = make_engine(pg_url)
    try:
        SQLModel.metadata.create_all(engine)  # the plain outbox, as earlier versions made it
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE outbox_ids"))  # nor had they this
        rows = _rows(CALLS)
        with engine.begin() as conn:
            conn.execute(OUTBOX.insert(), received(CALLS))
        init_db(engine)
        init_db(engine)  # and again: nothing changes
        with engine.connect() as conn:
            assert partitions.is_partitioned(conn)
            per_month: dict[str, int] = dict(
                conn.execute(
                    text("SELECT tableoid::regclass::text, count(*) FROM outbox GROUP BY 1")
                ).all()
            )
            want: dict[str, int] = {}
            for e in CALLS:
                name = "outbox_p" + received_month(e).replace("-", "_")
                want[name] = want.get(name, 0) + 1
            assert per_month == want
            assert outbox_ids(conn) == {r.id for r in rows}
        with engine.begin() as conn:
            assert outbox.add(conn, rows[:50]) == 0  # known ids, whatever their month
            assert outbox.add(conn, _rows([dict(CALLS[0], id="new-1")])) == 1
    finally:
        engine.dispose()


def test_the_archive_command(engine: Engine, archive_dir: Path) -> None:
    receive(engine, CALLS)
    live(engine, settings_for(engine), CALLS, seed=4)
    before = derived(engine)
    url = engine.url.render_as_string(hide_password=False)
    env = {"PATH": "/usr/bin:/bin", "OPSTRACK_DATABASE_URL": url}
    jan = sum(received_month(e) == "2022-01" for e in CALLS)

    bad = run_cli("archive", "--before", "2022-1", "--to", str(archive_dir), env=env)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "error: --before: '2022-1' is not a month: write it YYYY-MM, e.g. 2025-01"
    ]
    done = run_cli("archive", "--before", "2022-02", "--to", str(archive_dir), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"2022-01: {jan:,} events to {archive_dir / 'outbox-2022-01.jsonl.gz'}"
    ]
    again = run_cli("archive", "--before", "2022-02", "--to", str(archive_dir), env=env)
    assert again.stdout.splitlines() == ["nothing to archive before 2022-02"]

    refused = run_cli("rebuild", "--yes", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: the events of 2022-01 are archived: pass --archive DIR, the directory of"
        " outbox-2022-01.jsonl.gz, to replay them"
    ]
    rebuilt = run_cli("rebuild", "--yes", "--archive", str(archive_dir), env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"replayed {len(CALLS):,} events (all)" in rebuilt.stdout
    assert derived(engine) == before


def test_a_row_received_outside_the_months_made_is_kept_and_found(pg_engine: Engine) -> None:
    """Rows written with a received time of their own (by hand, restored) in a month
    without a partition land in the default one; making the month moves them there,
    and a rebuild's months still include them."""
    old = dict(CALLS[0], id="old", time="2021-03-15T12:00:00+00:00")
    row = _rows([old])[0]
    received = int(utc(2021, 3, 15, 12, 1).timestamp()) * 1_000_000
    with pg_engine.begin() as conn:
        conn.execute(IDS.insert(), [{"id": row.id}])
        conn.execute(
            OUTBOX.insert(),
            [
                {
                    "id": row.id,
                    "type": row.type,
                    "topic": row.topic,
                    "key": row.key,
                    "event_time_ms": row.event_time_ms,
                    "received_at_us": received,
                    "published": True,
                    "payload": row.payload,
                }
            ],
        )
    where_is = text("SELECT tableoid::regclass::text FROM outbox WHERE id = :i")
    with pg_engine.begin() as conn:
        assert conn.execute(where_is, {"i": row.id}).scalar_one() == "outbox_default"
        since_ms = int(utc(2021, 3, 1).timestamp() * 1000)
        assert partitions.received_floor(conn, since_ms) == received
        partitions.create(conn, 2021, 3)
        assert conn.execute(where_is, {"i": row.id}).scalar_one() == "outbox_p2021_03"
        assert partitions.received_floor(conn, since_ms) == int(utc(2021, 3, 1).timestamp()) * 10**6


def test_an_insert_in_a_month_without_a_partition_makes_it(pg_engine: Engine) -> None:
    """A process running on into a month that no start made: its first insert makes it."""
    this = made_ahead()[1]
    with pg_engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {this}"))  # as if no start had made it
    partitions._known.clear()  # nor this process seen it
    row = _rows([dict(CALLS[0], id="now")])
    with pg_engine.begin() as conn:
        assert outbox.add(conn, row) == 1
    where_is = text("SELECT tableoid::regclass::text FROM outbox WHERE id = :i")
    with pg_engine.connect() as conn:
        assert conn.execute(where_is, {"i": row[0].id}).scalar_one() == this
