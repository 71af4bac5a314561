"""Fault test (issue 7): 10 % of events sent twice and all of them shuffled, half through
the API (whose outbox drops repeats) and half straight to the topics (where only the
processor's inbox can), with one real worker on the real broker and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from services.stack.procs import stop
from tests.integration.conftest import serving, start_worker
from tests.integration.faults import (
    PERIOD,
    Producer,
    api_settings,
    check_calls,
    check_rows,
    metric,
    post,
)
from tests.reference import (
    expected_incidents,
    generate_calls,
    generate_incidents,
    generate_tickets,
    utc,
)
from tests.ticket_reference import expected_ticket_rows
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.mark.timeout(240)
def test_repeated_and_shuffled_events_count_once(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = worker_env
    start = utc(2022, 5, 2, 6)
    events = (
        generate_calls(2000, seed=41, start=start, hours=12)
        + generate_tickets(300, seed=42, start=start, hours=24 * 10)
        + generate_incidents(60, seed=43, start=start, hours=24 * 20)
    )
    rnd = random.Random(44)
    messages = events + rnd.sample(events, len(events) // 10)  # 10 % twice, same ids
    rnd.shuffle(messages)  # resolutions before creations, answers before queueing
    via_api = [rnd.random() < 0.5 for _ in messages]

    want_tickets = expected_ticket_rows(events, PERIOD, business=False)
    want_incidents = expected_incidents(events, PERIOD)
    # The mix exercises what it is meant to.
    assert want_tickets[0]["resolved"] > 100 and want_incidents[0]["mttr_minutes"] is not None

    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    producer = Producer(env)
    api_sent: list[str] = []
    stored = repeats = 0
    try:
        with serving(api_settings(env)) as url:
            batch = 250
            for i in range(0, len(messages), batch):
                chunk = list(zip(messages[i : i + batch], via_api[i : i + batch], strict=True))
                to_api = [m for m, api in chunk if api]
                producer.send(m for m, api in chunk if not api)
                if to_api:
                    answer = post(url, to_api)
                    stored += answer["accepted"]
                    repeats += answer["duplicates"]
                    api_sent += [m["id"] for m in to_api]
            # The outbox stored each id once, whether repeated in one batch or across batches.
            assert (stored, repeats) == (len(set(api_sent)), len(api_sent) - len(set(api_sent)))

            wait_for(check_calls(url, events), f"calls SLIs equal the reference ({log})", 90)
            wait_for(check_rows(url, "tickets", want_tickets), f"ticket SLIs ({log})", 60)
            wait_for(check_rows(url, "incidents", want_incidents), f"incident SLIs ({log})", 60)

        # Every message that reached a topic but the first of its id was dropped by the inbox.
        on_topics = stored + sum(1 for api in via_api if not api)
        dropped = metric(
            env["OPSTRACK_WORKER_WEB_PORT"], "opstrack_processor_events_total", result="duplicate"
        )
        # A redelivery after a rebalance could add to these, never take away.
        assert dropped >= on_topics - len(events), (dropped, on_topics, len(events))
        assert worker.poll() is None, f"the worker died (log: {log})"
        print(
            f"{len(messages)} messages, {on_topics} reached the topics, inbox dropped {dropped:.0f}"
        )
    finally:
        producer.close()
        stop([worker])
