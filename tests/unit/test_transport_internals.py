"""The faust-streaming and aiokafka internals services/processor/transport.py relies on.

transport.py overrides faust's consumer (`_drain_messages`, the bulk ack) and
reads private attributes of faust and aiokafka. pyproject.toml pins both
packages to the versions it was written for; these tests fail loudly, naming
what moved, when an upgrade changes any of it, so that the override is ported
before it misbehaves at run time.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiokafka
import faust
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as driver

from services.processor.transport import App

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

# sha256 (first 16 hex digits) of faust 0.15.3's source of the methods that
# transport._Consumer copies (`_drain_messages` is faust's `_drain_messages`
# and `getmany` in one; `ack_spans` is `ack` for many offsets). A change means
# the copy must be compared with faust's new code and the digest updated.
COPIED = {
    "Consumer._drain_messages": "44a2500309e83c63",
    "Consumer.getmany": "4b168d84882a70d6",
    "Consumer.ack": "5fcf41cf45153475",
}


def pinned(package: str) -> str:
    deps: list[str] = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    found = [d for d in deps if re.match(rf"{re.escape(package)}\s*==", d)]
    assert found, f"{package} must be pinned with == in pyproject.toml (transport.py needs it)"
    return found[0].split("==", 1)[1].split(";")[0].strip()


def params(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_the_installed_faust_and_aiokafka_are_the_pinned_versions() -> None:
    for package in ("faust-streaming", "aiokafka"):
        assert version(package) == pinned(package), (
            f"{package} {version(package)} is installed but pyproject.toml pins "
            f"{pinned(package)}: install from uv.lock (make install)"
        )


def test_faust_methods_transport_copies_are_unchanged() -> None:
    for name, digest in COPIED.items():
        source = inspect.getsource(getattr(faust_consumer.Consumer, name.split(".")[1]))
        got = hashlib.sha256(source.encode()).hexdigest()[:16]
        assert got == digest, (
            f"faust's {name} changed ({got} != {digest}): compare it with "
            "services/processor/transport.py's _Consumer and port the override"
        )


def test_faust_consumer_methods_have_the_parameters_transport_calls_them_with() -> None:
    c = faust_consumer.Consumer
    expected: dict[Callable[..., Any], list[str]] = {
        c._drain_messages: ["self", "fetcher"],
        c._wait_next_records: ["self", "timeout"],
        c.perform_seek: ["self"],
        c.highwater: ["self", "tp"],
        c.crash: ["self", "reason"],
        c.commit: ["self", "topics", "start_new_transaction"],
        driver.Consumer._new_consumer_thread: ["self"],
        driver.AIOKafkaConsumerThread.__init__: ["self", "consumer", "kwargs"],
        driver.AIOKafkaConsumerThread._create_worker_consumer: ["self", "transport"],
        faust.App._new_transport: ["self"],
        faust.App.create_event: ["self", "key", "value", "headers", "message"],
        faust.Schema.compile: [
            "self",
            "app",
            "on_key_decode_error",
            "on_value_decode_error",
            "default_propagate",
        ],
    }
    for func, names in expected.items():
        assert params(func) == names, f"{func.__qualname__} now takes {params(func)}, not {names}"
    assert "timeout" in params(c.wait_first), "Consumer.wait_first lost its timeout"


def test_the_consumer_has_the_state_transport_reads_and_writes() -> None:
    asyncio.run(check_consumer_state())


async def check_consumer_state() -> None:
    """In a running loop, which faust takes as its own; the app is never started:
    building its consumer connects to nothing."""
    app = App("internals-check", broker="kafka://127.0.0.1:9")
    consumer: Any = app.consumer
    try:
        check_state(app, consumer)
    finally:
        consumer._thread.thread_loop.close()  # made for the consumer thread, never started


def check_state(app: App, consumer: Any) -> None:
    tp = faust.types.TP("t", 0)
    # The bulk ack (ack_spans) writes these the way faust's ack does.
    assert consumer._committed_offset[tp] is None
    assert consumer._acked_index[tp] == set()
    assert consumer._acked[tp] == []
    assert consumer._n_acked == 0
    for name in ("add", "discard"):
        assert hasattr(consumer._unacked_messages, name), f"_unacked_messages.{name}"
    # _drain_messages reads these.
    for name in (
        "_waiting_for_ack",
        "_read_offset",
        "_commit_every",
        "_buffered_partitions",
        "_stopped",
        "diag",
        "suspend_flow",
        "consumer_stopped_errors",
        "flow_active",
        "should_stop",
    ):
        assert hasattr(consumer, name), f"faust's Consumer has no {name} any more"
    assert hasattr(app, "consumer_generation_id"), "faust's App has no consumer_generation_id"
    assert hasattr(app.monitor, "track_tp_end_offset")


def test_aiokafka_builds_its_fetcher_from_the_attribute_transport_sets() -> None:
    # _ConsumerThread sets consumer._fetch_max_wait_ms before start() builds the Fetcher.
    consumer = aiokafka.AIOKafkaConsumer
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in inspect.getsource(consumer.__init__)
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(consumer.start)
