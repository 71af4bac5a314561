"""One Settings object for every process; environment prefix OPSTRACK_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.core.calls import CallRules
from services.core.events import TOPICS

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSTRACK_", extra="ignore")

    database_url: str = "sqlite:///./opstrack.db"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""  # lets several stacks share one Kafka cluster
    partitions: int = Field(4, ge=1)  # of each topic opstrack creates; the unit of scale
    # Replicas of each topic opstrack creates, and how many must have a record before
    # the broker acknowledges it to the relay's acks=all producer (the topic's
    # min.insync.replicas; None: the broker's default). One broker: 1 and None; a
    # three-broker Apache Kafka cluster: 3 and 2, so one broker may die with no
    # acknowledged event lost and ingest going on (README "Running on Apache Kafka").
    replication_factor: int = Field(1, ge=1)
    min_insync_replicas: int | None = Field(None, ge=1)

    # SLI rules (docs/definitions.md#short-abandons): a change here needs a rebuild of the buckets.
    short_abandon_seconds: float = Field(5.0, ge=0)
    answer_thresholds: tuple[int, ...] = (20, 60)

    # The YAML files: services.yaml (catalog), sla.yaml (ticket SLA targets).
    config_dir: Path = CONFIG_DIR
    # Business-hours handling time beside calendar hours (Mon-Fri 08-17, Swedish holidays).
    business_calendar: bool = True
    # How often a worker checks SLA clocks and refreshes its gauges.
    clock_interval_seconds: float = Field(15.0, gt=0)
    # How often a worker re-evaluates the goal table for its gauges.
    goals_interval_seconds: float = Field(60.0, gt=0)
    # How often the worker holding the period-figures lease re-reads today's, this
    # week's ... this year's figures from the store; the lease lasts 3 intervals.
    period_metrics_interval_seconds: float = Field(30.0, gt=0)
    # How often that worker re-plans the current and next week's staffing for its gauges
    # (the plan reads weeks of history and changes little within a quarter hour).
    staffing_metrics_interval_seconds: float = Field(900.0, gt=0)

    # Read limits: the longest period a read may ask for (docs/api.md#reading-figures).
    max_period_years: int = Field(10, ge=1, le=1100)
    # The goal reports kept rendered, by (period, language, format, goals, data version),
    # for at most report_cache_seconds (services/report/cache.py says why both).
    report_cache_size: int = Field(32, ge=0)
    report_cache_seconds: float = Field(60.0, ge=0)
    # Reports rendered at once; four times as many may wait, more get 503 + Retry-After.
    report_renders: int = Field(2, ge=1)

    # Swedish personal identity numbers and phone numbers in free text (incident and
    # change titles, freeze reasons) are replaced before they are stored.
    scrub_personal_data: bool = True

    # Ingest limits.
    max_body_bytes: int = Field(5_000_000, ge=1024)
    max_batch_events: int = Field(10_000, ge=1)

    # Access control (docs/access-control.md). The API makes sure this token exists
    # (source `dev`, scope `*`); `opstrack up` generates one on first start.
    dev_token: SecretStr | None = None
    # The bearer token the CLI sends (emit, import, simulate, sli …).
    api_token: SecretStr | None = None
    # Whether the read API (/v1/sli, tickets, goals …) needs a token too.
    auth_read: bool = False
    # Per source, in events a second, in each API process; a token's --rate overrides it.
    # One API process takes ~7,000 events/s from one sender and ~12,000 from four
    # (README's benchmark): one source at 2,000/s leaves most of it to the others.
    rate_limit: float = Field(2_000, gt=0)
    # A source may send this many seconds' worth of its rate at once (10,000 events:
    # one batch of the largest size, OPSTRACK_MAX_BATCH_EVENTS, still passes).
    rate_burst_seconds: float = Field(5.0, gt=0)
    # Per webhook source, the shared secret of its HMAC signature (Zammad's
    # X-Hub-Signature); JSON in OPSTRACK_WEBHOOK_SECRETS, e.g. {"zammad": "…"}.
    webhook_secrets: dict[str, SecretStr] = Field(default_factory=dict)

    # Set by `opstrack up` for its API: the file where the supervisor counts the
    # restarts of its children, exported as opstrack_stack_restarts_total.
    stack_state_file: str | None = None

    # Processor.
    processor_batch_size: int = Field(1000, ge=1)
    worker_web_port: int = 6066
    worker_web_host: str = "127.0.0.1"
    worker_datadir: str = "./.opstrack/worker"
    # Tansu answers a fetch only when the wait runs out; faust hard-codes 1.5 s.
    # Each event waits up to this long on the broker: 50 ms for freshness p99 < 250 ms.
    consumer_fetch_max_wait_ms: int = Field(50, ge=1)
    # Join a group in ~2.5 s on the embedded broker instead of ~30 s; on Apache
    # Kafka in production faust's defaults (60 s / 3 s / 60 s) are the safer choice.
    broker_session_timeout: float = 2.0
    broker_heartbeat_interval: float = 0.5
    broker_rebalance_timeout: float = 2.0
    # Faust's exactly_once needs idempotent producers and transactions, which
    # Tansu does not support; turn on only against Apache Kafka. Correctness does
    # not depend on it: every store write is idempotent by event id.
    exactly_once: bool = False

    @field_validator("dev_token", "api_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # OPSTRACK_DEV_TOKEN= (empty) means no token, not a token that is empty.
        return None if value == "" else value

    @property
    def call_rules(self) -> CallRules:
        return CallRules(
            short_abandon_seconds=self.short_abandon_seconds,
            thresholds=tuple(sorted(set(self.answer_thresholds))),
        )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def topic_configs(self) -> dict[str, str]:
        """Per-topic settings of the topics opstrack creates (beside the broker's defaults)."""
        if self.min_insync_replicas is None:
            return {}
        return {"min.insync.replicas": str(self.min_insync_replicas)}

    def topic_partitions(self) -> dict[str, int]:
        """The topics opstrack uses, with their partition counts."""
        topics = {self.topic(name): self.partitions for name in TOPICS}
        return topics | {self.topic("deadletter"): 1}


@lru_cache
def get_settings() -> Settings:
    return Settings()
