"""The quixstreams side of bench/processor.py: a quixstreams app into the same apply_batch.

Run as `python -m bench.quix BOOTSTRAP DATABASE_URL TOPIC GROUP`; it consumes
until stopped. The messages stay raw bytes and go to a BatchingSink, the way
quixstreams batches writes to a database: the sink is flushed on each
checkpoint, before the offsets are committed (at least once), and its write is
apply_batch, the same parse, fold and store transaction as the other sides.
The checkpoint every 1,000 messages or 0.2 s mirrors the faust worker's
take(1000, within=0.2).
"""

from __future__ import annotations

import sys

from quixstreams import Application
from quixstreams.sinks import BatchingSink, SinkBatch

from services.core.calls import CallRules
from services.processor.calls import apply_batch
from services.settings import Settings
from services.store.db import make_engine


class CallsSink(BatchingSink):
    def __init__(self, url: str, rules: CallRules) -> None:
        super().__init__()
        self._engine = make_engine(url)
        self._rules = rules

    def write(self, batch: SinkBatch) -> None:
        apply_batch(self._engine, self._rules, [item.value for item in batch])


def main(bootstrap: str, url: str, topic_name: str, group: str) -> None:
    settings = Settings()
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        commit_every=1000,
        commit_interval=0.2,
        # The topic exists already; nothing stateful, so no changelog topics.
        auto_create_topics=False,
        use_changelog_topics=False,
        state_dir=settings.worker_datadir,
        consumer_extra_config={
            # The embedded broker answers a fetch only when the wait runs out
            # (docs/architecture.md#the-embedded-broker-measured-facts); the same 100 ms as the other two sides.
            "fetch.wait.max.ms": 100,
            # The same group tuning as the opstrack worker (services/settings.py).
            "session.timeout.ms": 2000,
            "heartbeat.interval.ms": 500,
        },
    )
    topic = app.topic(topic_name, key_deserializer="bytes", value_deserializer="bytes")
    app.dataframe(topic).sink(CallsSink(url, settings.call_rules))
    app.run()


if __name__ == "__main__":
    main(*sys.argv[1:5])
