"""SQLModel tables: the events outbox, the processors' inbox and the call buckets."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel


class OutboxEvent(SQLModel, table=True):
    """Every accepted event, first; the system of record that Kafka is fed from."""

    __tablename__ = "outbox"
    id: str = Field(primary_key=True, max_length=200)  # the CloudEvent id: the dedup key
    type: str = Field(max_length=100)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    event_time_ms: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    received_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    published: bool = Field(default=False, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON


class AppliedEvent(SQLModel, table=True):
    """Inbox: an event id here has been applied to the buckets, in the same transaction."""

    __tablename__ = "applied_events"
    id: str = Field(primary_key=True, max_length=200)
    applied_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class CallBucketRow(SQLModel, table=True):
    """One queue, one hour of queue-entry time (UTC epoch seconds)."""

    __tablename__ = "call_buckets"
    hour: int = Field(sa_column=Column(BigInteger, primary_key=True))
    queue: str = Field(primary_key=True, max_length=200)
    municipality: str = Field(primary_key=True, max_length=200)
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    exited: int = 0
    wait_answered_ms: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    wait_offered_ms: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class CallWithinRow(SQLModel, table=True):
    """Calls answered within one threshold, beside their bucket (thresholds are settings)."""

    __tablename__ = "call_buckets_within"
    hour: int = Field(sa_column=Column(BigInteger, primary_key=True))
    queue: str = Field(primary_key=True, max_length=200)
    municipality: str = Field(primary_key=True, max_length=200)
    threshold_s: int = Field(primary_key=True)
    answered: int = 0


class WorkerBeat(SQLModel, table=True):
    """Processor workers' heartbeats, so that /readyz can tell that one is consuming."""

    __tablename__ = "worker_beats"
    worker_id: str = Field(primary_key=True, max_length=200)
    seen_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    partitions: int = 0
