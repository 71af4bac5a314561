"""SQLModel tables: the events outbox, the processors' inbox and the call buckets."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel


class OutboxEvent(SQLModel, table=True):
    """Every accepted event, first; the system of record that Kafka is fed from."""

    __tablename__ = "outbox"
    # The relay's next batch in order straight from an index: without it every round
    # sorted the whole backlog (2 s a round at 300,000 unpublished, bench/stack.py).
    __table_args__ = (Index("ix_outbox_pending", "published", "received_at_us", "id"),)
    id: str = Field(primary_key=True, max_length=200)  # the CloudEvent id: the dedup key
    type: str = Field(max_length=100)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    event_time_ms: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    received_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    published: bool = Field(default=False, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON


class OutboxId(SQLModel, table=True):
    """The key of every event ever accepted: the outbox's deduplication, in one place.

    On PostgreSQL the outbox is partitioned by month of received_at_us (see
    services/store/partitions.py), and a partitioned table's unique keys must hold the
    partition key, so the outbox itself cannot refuse an id stored in another month.
    This small unpartitioned table can; it also keeps the ids of archived months
    (services/store/archive.py), so that an old event sent again stays a duplicate.
    """

    __tablename__ = "outbox_ids"
    id: str = Field(primary_key=True, max_length=200)


class OutboxArchive(SQLModel, table=True):
    """A month of the outbox (by received_at_us, UTC) exported to a compressed file and
    dropped from the outbox; `rebuild --archive DIR` reads it back."""

    __tablename__ = "outbox_archives"
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    file: str = Field(max_length=200)  # its name in the archive directory
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)  # of the file's bytes
    # The event times in it: a rebuild from T reads the months whose last is from T on.
    min_event_time_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    max_event_time_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    archived_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class AppliedEvent(SQLModel, table=True):
    """Inbox: an event id here has been applied to the buckets, in the same transaction."""

    __tablename__ = "applied_events"
    id: str = Field(primary_key=True, max_length=200)
    applied_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


# The call tables share their key and count columns through the mixins below, so
# that a count added to the buckets is added to their rollups too. Each table lists
# its counts mixin before its key mixin: pydantic collects fields from the last base
# first, and the key columns stand first in the tables as they always have (the
# stores made before the mixins have them in that order). BIGINT columns are given
# by sa_type, not sa_column: one Column object cannot belong to two tables.


class _HourKey(SQLModel):
    """One queue, one hour of queue-entry time (UTC epoch seconds)."""

    hour: int = Field(sa_type=BigInteger, primary_key=True)
    queue: str = Field(primary_key=True, max_length=200)
    municipality: str = Field(primary_key=True, max_length=200)


class _RollupKey(SQLModel):
    """One queue, one local day or month; `start` is the UTC epoch second it begins."""

    grain: str = Field(primary_key=True, max_length=5)  # "day" or "month"
    start: int = Field(sa_type=BigInteger, primary_key=True)
    queue: str = Field(primary_key=True, max_length=200)
    municipality: str = Field(primary_key=True, max_length=200)


class _QueueHourKey(SQLModel):
    """One queue ("" for every queue), one hour (UTC epoch seconds); queue first, as
    each read is of one queue's hours."""

    queue: str = Field(primary_key=True, max_length=200)
    hour: int = Field(sa_type=BigInteger, primary_key=True)


class CallCounts(SQLModel):
    """The counts of a call bucket, hourly or rolled up (services.core.calls.CallBucket)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    exited: int = 0
    wait_answered_ms: int = Field(default=0, sa_type=BigInteger)
    wait_offered_ms: int = Field(default=0, sa_type=BigInteger)
    # Added after the first stores: services.store.migrate adds them to older ones.
    talked: int = 0
    talk_ms: int = Field(default=0, sa_type=BigInteger)


class _WithinCounts(SQLModel):
    """Calls answered and abandoned within one threshold (thresholds are settings)."""

    threshold_s: int = Field(primary_key=True)
    answered: int = 0
    abandoned: int = 0  # added by services.store.migrate


class CallBucketRow(CallCounts, _HourKey, table=True):
    """One queue, one hour of queue-entry time (UTC epoch seconds)."""

    __tablename__ = "call_buckets"


class CallWithinRow(_WithinCounts, _HourKey, table=True):
    """Calls answered within one threshold, beside their bucket (thresholds are settings)."""

    __tablename__ = "call_buckets_within"


class CallRollupRow(CallCounts, _RollupKey, table=True):
    """The call buckets of one queue summed over one local day or month (Europe/Stockholm).

    Kept in the transaction that adds to the hourly buckets (services/store/calls.py),
    so that a year is read from 12 rows a queue instead of 8,760: the reads answer
    each period from the coarsest level that covers it exactly, hours only at its
    edges. `start` is the UTC epoch second at which the local day or month begins.
    """

    __tablename__ = "call_rollups"


class CallQueueHourRow(CallCounts, _QueueHourKey, table=True):
    """The hourly buckets of one queue summed over its municipalities, and of every
    queue together (queue "", which no queue can be named).

    What a staffing plan and the goal report's staffing line read: every hour of a
    period, one queue or all pooled. From the hourly buckets that read grows with the
    queues and municipalities (a national year is 7.6 million rows, seconds of
    reading); from here it is 8,760 rows. Kept in the transaction that adds to the
    hourly buckets (services/store/calls.py), like the rollups. No within-threshold
    counts: staffing reads offered calls and talk time only.
    """

    __tablename__ = "call_queue_hours"


class CallRollupWithinRow(_WithinCounts, _RollupKey, table=True):
    """Calls answered and abandoned within one threshold, beside their rollup."""

    __tablename__ = "call_rollups_within"


class WorkerBeat(SQLModel, table=True):
    """Processor workers' heartbeats, so that /readyz can tell that one is consuming."""

    __tablename__ = "worker_beats"
    worker_id: str = Field(primary_key=True, max_length=200)
    seen_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    partitions: int = 0


class Lease(SQLModel, table=True):
    """A named lease: the worker that holds it does a job that must run in one place only."""

    __tablename__ = "leases"
    name: str = Field(primary_key=True, max_length=200)
    holder: str = Field(max_length=200)
    expires_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class EntityEvent(SQLModel, table=True):
    """Every applied ticket, incident, change, freeze and indicator event, by entity.

    An entity's state is recomputed from the set of its events, so late and
    out-of-order events give the same state as events in order.
    """

    __tablename__ = "entity_events"
    id: str = Field(primary_key=True, max_length=200)
    family: str = Field(max_length=20)  # ticket, incident, change, freeze, indicator
    entity_id: str = Field(max_length=200)
    type: str = Field(max_length=100)
    time_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    __table_args__ = (Index("ix_entity_events_entity", "family", "entity_id"),)


class TicketRow(SQLModel, table=True):
    """A ticket's state, recomputed from its events (times in UTC epoch microseconds)."""

    __tablename__ = "tickets"
    ticket_id: str = Field(primary_key=True, max_length=200)
    category: str = Field(max_length=200, index=True)
    priority: int
    municipality: str = Field(max_length=200, index=True)
    status: str = Field(max_length=20, index=True)
    created_at_us: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    resolved_at_us: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    closed_at_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    reopened: int = 0
    handling_hours: float | None = None
    business_handling_hours: float | None = None


class IncidentRow(SQLModel, table=True):
    """An incident's state; `outages` is JSON [[start_us, end_us or null], …]."""

    __tablename__ = "incidents"
    incident_id: str = Field(primary_key=True, max_length=200)
    service: str = Field(max_length=200, index=True)
    severity: int | None = None  # None until an event carrying it arrives
    impact: str | None = Field(default=None, max_length=20)
    municipalities: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    planned_work: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, sa_column=Column(Text))
    opened_at_us: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    acknowledged_at_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    resolved_at_us: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    outages: str = Field(sa_column=Column(Text, nullable=False))
    notice: str | None = Field(default=None, sa_column=Column(Text))  # JSON, the public notice
    notice_at_us: int | None = Field(default=None, sa_column=Column(BigInteger))


class ChangeRow(SQLModel, table=True):
    __tablename__ = "changes"
    change_id: str = Field(primary_key=True, max_length=200)
    service: str = Field(max_length=200, index=True)
    implemented_at_us: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    emergency: bool = False
    exception_approved_by: str | None = Field(default=None, max_length=200)
    planned_start_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    planned_end_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    title: str | None = Field(default=None, sa_column=Column(Text))
    notice: str | None = Field(default=None, sa_column=Column(Text))  # JSON, the public notice
    notice_at_us: int | None = Field(default=None, sa_column=Column(BigInteger))


class FreezeRow(SQLModel, table=True):
    """A change freeze; `scope` is a JSON list of services, or ["*"]."""

    __tablename__ = "freezes"
    freeze_id: str = Field(primary_key=True, max_length=200)
    starts_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    ends_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    lifted_at_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))


class IndicatorValueRow(SQLModel, table=True):
    """The latest measured value of an indicator for one date."""

    __tablename__ = "indicator_values"
    indicator: str = Field(primary_key=True, max_length=200)
    as_of: str = Field(primary_key=True, max_length=10)  # ISO date
    value: float
    is_boolean: bool = False
    forecast: float | None = None
    measured_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class ApiToken(SQLModel, table=True):
    """A bearer token of one source: only its SHA-256 is kept, never the token."""

    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True, max_length=20)  # public: shown by `token list`
    token_hash: str = Field(max_length=64, unique=True)  # hex SHA-256 (services.core.auth)
    source: str = Field(max_length=100, index=True)
    scopes: str = Field(max_length=1000)  # comma-separated event-type globs
    # Comma-separated CloudEvents sources it may send (`*`, `pbx/*`, `/import/pbx`);
    # NULL: its own source name and what lies below it (services.core.auth).
    event_sources: str | None = Field(default=None, max_length=1000)
    rate: float | None = None  # events/s; None: the settings' rate_limit
    created_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_used_at_us: int | None = Field(default=None, sa_column=Column(BigInteger))


class StoreMeta(SQLModel, table=True):
    """Facts about the store itself, such as which migrations have run."""

    __tablename__ = "store_meta"
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=200)
