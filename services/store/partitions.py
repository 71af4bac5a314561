"""The outbox on PostgreSQL: one partition per month (UTC) of received_at_us.

Why received time and not event time: the store sets received_at_us when it
inserts (now), so every write lands in the current month's partition and a past
month never changes again except for its `published` flag; a month can then be
archived and dropped whole (services/store/archive.py). Event times are the
sender's: a backfill of last year's calls would write into old months, and a
clock far off would need partitions for any year.

What each reader touches:
  - the relay's next batch: the partial index ix_outbox_pending (unpublished rows
    only) of each partition, which is empty in every month whose events are all
    published: a page or two per month, however many events the month holds;
  - `rebuild --from T`: only the months from the first one holding an event time
    from T on (received_floor), found with one index lookup per month;
  - the freshness watch (oldest_unapplied): the months from its mark on.
Deduplication across months is the outbox_ids table's (services/store/tables.py).

SQLite keeps the one plain table: a single machine's store, not partitioned.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, text

from services.store.db import now_us

# Rows received outside every month made (a clock far off, rows written by hand or
# restored) land here instead of failing; normally empty, and read as such.
DEFAULT = "outbox_default"
_LOCK = 72_010_613  # the advisory lock of creating a partition (migrate.py has its own)
# Partitions this process has seen exist, by database URL (schemas differ by URL).
_known: set[tuple[str, str]] = set()


def month_of(at_us: int) -> tuple[int, int]:
    t = datetime.fromtimestamp(at_us / 1_000_000, tz=UTC)
    return t.year, t.month


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def around(month: tuple[int, int]) -> list[tuple[int, int]]:
    """The month before, the month, and the month after: made ahead at every start
    (the one before too, for rows written with a received time a little back)."""
    year, m = month
    before = (year - 1, 12) if m == 1 else (year, m - 1)
    return [before, month, next_month(year, m)]


def month_start_us(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp()) * 1_000_000


def name(year: int, month: int) -> str:
    return f"outbox_p{year:04}_{month:02}"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass('outbox')")
    ).scalar_one_or_none()
    return kind == "p"


def months(conn: Connection) -> list[tuple[int, int]]:
    """The months the outbox has a partition for, oldest first."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass('outbox') AND c.relname <> :default"
        ),
        {"default": DEFAULT},
    ).scalars()
    return sorted((int(n[8:12]), int(n[13:15])) for n in names)


def create(conn: Connection, year: int, month: int) -> None:
    """Make the month's partition, unless there is one. Rows of that month in the
    default partition (written with a received time of their own) move into it."""
    part = name(year, month)
    if conn.execute(text("SELECT to_regclass(:n)"), {"n": part}).scalar_one_or_none():
        return
    lo = month_start_us(year, month)
    hi = month_start_us(*next_month(year, month))
    in_range = f"received_at_us >= {lo} AND received_at_us < {hi}"
    stray = conn.execute(
        text(f"SELECT 1 FROM {DEFAULT} WHERE {in_range} LIMIT 1")  # noqa: S608 - our numbers
    ).first()
    if stray:
        conn.execute(
            text(
                f"CREATE TEMPORARY TABLE outbox_moving ON COMMIT DROP AS"  # noqa: S608
                f" SELECT * FROM {DEFAULT} WHERE {in_range}"
            )
        )
        conn.execute(text(f"DELETE FROM {DEFAULT} WHERE {in_range}"))  # noqa: S608
    conn.execute(text(f"CREATE TABLE {part} PARTITION OF outbox FOR VALUES FROM ({lo}) TO ({hi})"))
    if stray:
        conn.execute(text("INSERT INTO outbox SELECT * FROM outbox_moving"))
        conn.execute(text("DROP TABLE outbox_moving"))


def ensure(conn: Connection, at_us: int) -> None:
    """Make the partition that a row received at at_us goes to, if there is none yet.

    migrate makes the months around its start; this is for a process that runs
    on into a month after that. The first insert of a month in each process looks
    the partition up; only the first of all creates it (serialised by a lock).
    """
    year, month = month_of(at_us)
    key = (conn.engine.url.render_as_string(hide_password=True), name(year, month))
    if key in _known:
        return
    found = conn.execute(text("SELECT to_regclass(:n)"), {"n": key[1]}).scalar_one_or_none()
    if found is None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        create(conn, year, month)
        return  # remembered once a later look finds it committed: this transaction may roll back
    _known.add(key)


def convert(conn: Connection) -> int:
    """Make a plain PostgreSQL outbox (a new store's, or an earlier opstrack's) the
    partitioned one, keeping every row; returns how many rows were moved.

    One transaction: a failure leaves the plain table as it was. It copies the
    whole outbox once (see docs/operations.md for how long that takes).
    """
    conn.execute(text("ALTER TABLE outbox RENAME TO outbox_unpartitioned"))
    # Index names are per schema: the new table's would clash with the old one's.
    conn.execute(text("ALTER TABLE outbox_unpartitioned DROP CONSTRAINT IF EXISTS outbox_pkey"))
    for index in ("ix_outbox_pending", "ix_outbox_event_time_ms", "ix_outbox_published"):
        conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
    conn.execute(
        text(
            "CREATE TABLE outbox (LIKE outbox_unpartitioned INCLUDING DEFAULTS)"
            " PARTITION BY RANGE (received_at_us)"
        )
    )
    conn.execute(text("ALTER TABLE outbox ADD PRIMARY KEY (id, received_at_us)"))
    conn.execute(text("CREATE INDEX ix_outbox_event_time_ms ON outbox (event_time_ms)"))
    # The relay's next batch: unpublished rows only, in the order it sends them.
    conn.execute(
        text("CREATE INDEX ix_outbox_pending ON outbox (received_at_us, id) WHERE NOT published")
    )
    # Rows arrive in received order, so block ranges summarise well: a few kB per
    # month, for the freshness watch's "received from its mark on" reads.
    conn.execute(text("CREATE INDEX ix_outbox_received ON outbox USING brin (received_at_us)"))
    conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF outbox DEFAULT"))
    held = conn.execute(
        text(
            "SELECT DISTINCT extract(year FROM t)::int, extract(month FROM t)::int FROM"
            " (SELECT to_timestamp(received_at_us / 1e6) AT TIME ZONE 'UTC' AS t"
            " FROM outbox_unpartitioned) AS r"
        )
    ).all()
    this = month_of(now_us())
    for month in sorted({(int(y), int(m)) for y, m in held} | set(around(this))):
        create(conn, *month)
    moved = conn.execute(text("INSERT INTO outbox SELECT * FROM outbox_unpartitioned")).rowcount
    conn.execute(text("DROP TABLE outbox_unpartitioned"))
    return int(moved)


def received_floor(conn: Connection, since_ms: int) -> int:
    """A received time (UTC epoch µs) before which no outbox event has an event
    time from since_ms on: the start of the first month holding one. 0 when the
    outbox is not partitioned (there is nothing to skip by month).

    One index lookup (the month's latest event time) per month. Events are
    mostly received after their event time, so this is usually since_ms's month;
    an event dated ahead of its arrival makes its month count too.
    """
    if not is_partitioned(conn):
        return 0
    # The default partition's rows may have been received any time.
    stray = conn.execute(
        text(f"SELECT min(received_at_us) FROM {DEFAULT} WHERE event_time_ms >= :s"),  # noqa: S608
        {"s": since_ms},
    ).scalar_one_or_none()
    floor = month_start_us(*month_of(now_us()))  # none yet: only what arrives from now on
    for year, month in months(conn):
        top = conn.execute(
            text(f"SELECT max(event_time_ms) FROM {name(year, month)}")  # noqa: S608 - a name made here
        ).scalar_one_or_none()
        if top is not None and top >= since_ms:
            floor = month_start_us(year, month)
            break
    return floor if stray is None else min(floor, int(stray))
