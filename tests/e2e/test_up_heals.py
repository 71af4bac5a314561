"""`opstrack up` heals: kill -9 of any child, or of `opstrack up` itself, and it serves on.

Events arrive over HTTP all along. After each kill the supervisor restarts the
child (and says so, and counts it), ingest answers again, and in the end the
SLIs equal a reference computed from every event sent, each counted once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from tests.conftest import AUTH
from tests.e2e.stack import BATCH, Up, wait_equal
from tests.integration.test_faults_broker import published_unapplied
from tests.reference import generate_calls, utc
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

T = TypeVar("T")
CHUNK, INTERVAL_S = 10, 0.2  # a steady 50 events/s


class Sender(threading.Thread):
    """Posts the events in small batches at a steady pace, each batch until it is
    answered 202 (a batch the API stored just before it died comes back as
    duplicates); notes every failed attempt with the phase it happened in."""

    def __init__(self, url: str, events: list[dict[str, Any]]) -> None:
        super().__init__(name="event-sender", daemon=True)
        self.url, self.events = url, events
        self.sent: list[dict[str, Any]] = []
        self.phase = "before"
        self.failures: list[tuple[str, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        headers = {"content-type": BATCH, **AUTH}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10) as client:
            tick = time.monotonic()
            for start in range(0, len(self.events), CHUNK):
                chunk = self.events[start : start + CHUNK]
                while not self.halt.is_set():
                    try:
                        r = client.post("/v1/events", content=orjson.dumps(chunk))
                        if r.status_code == 202:
                            break
                        self.failures.append((self.phase, f"{r.status_code}: {r.text[:200]}"))
                    except httpx.HTTPError as exc:
                        self.failures.append((self.phase, repr(exc)))
                    time.sleep(0.1)  # a client's pause before it retries, not a wait
                else:
                    return
                self.sent += chunk
                tick += INTERVAL_S
                time.sleep(max(0.0, tick - time.monotonic()))  # the pace: 50 events/s

    def stop(self) -> None:
        self.halt.set()
        self.join(30)
        assert not self.is_alive(), "the sender did not stop"


def role_of(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"--listener-url" in argv:
        return "broker"
    if b"services.cli" in argv:
        return next((r for r in ("api", "worker") if r.encode() in argv), None)
    return None


def child_pid(up: Up, role: str) -> int:
    pids = [p for p in up.children() if role_of(p) == role]
    assert len(pids) == 1, f"{role}: {pids} among {up.children()}"
    return pids[0]


def sent_at_least(sender: Sender, n: int) -> Callable[[], None]:
    def check() -> None:
        assert len(sender.sent) >= n, f"{len(sender.sent)} events sent"

    return check


def ready(url: str) -> Callable[[], None]:
    def check() -> None:
        r = httpx.get(f"{url}/readyz", timeout=5)
        assert r.status_code == 200, r.text

    return check


def restarts(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.findall(r'^opstrack_stack_restarts_total\{child="(\w+)"\} (\S+)$', text, re.M)
    return {child: float(n) for child, n in found}


def kill_broker_holding_unapplied_events(up: Up, broker: int) -> None:
    """kill -9 the broker while it holds published events no worker applied (the worker
    is paused meanwhile): those are lost with it and must be sent again."""
    worker = child_pid(up, "worker")
    os.kill(worker, signal.SIGSTOP)
    try:

        def lagging() -> None:
            n = published_unapplied(f"sqlite:///{up.tmp / 'opstrack.db'}")
            assert n >= 50, f"{n} published events not applied"

        wait_for(lagging, "50 published events the paused worker has not applied", 60)
        os.kill(broker, signal.SIGKILL)
    finally:
        os.kill(worker, signal.SIGCONT)


def test_kill_9_of_each_child_is_healed_and_every_event_counts_once(up: Up) -> None:
    events = generate_calls(6000, seed=612, start=utc(2022, 5, 2, 4), hours=36)
    up.start()
    assert restarts(up.url) == {"api": 0.0, "worker": 0.0, "broker": 0.0}
    sender = Sender(up.url, events)
    sender.start()
    try:
        wait_for(sent_at_least(sender, 300), "300 events sent before the kills", 60)
        for role in ("worker", "api", "broker"):
            old = child_pid(up, role)
            sender.phase = role
            if role == "broker":
                kill_broker_holding_unapplied_events(up, old)
            else:
                os.kill(old, signal.SIGKILL)

            def restarted(role: str = role) -> None:
                assert restarts(up.url).get(role) == 1.0, restarts(up.url)

            wait_for(restarted, f"the {role} restarted and counted", 90)
            new = wait_for(partial(child_pid, up, role), f"a new {role} process", 30)
            assert new != old
            # Ingest answers again: more events are accepted after the restart.
            wait_for(
                sent_at_least(sender, len(sender.sent) + 100),
                f"events accepted after the {role} came back",
                60,
            )
            # The whole stack is ready again (the worker consumes) before the next kill.
            wait_for(ready(up.url), f"ready after the restart of the {role}", 90)
            said = (up.tmp / "up.out").read_text()
            assert f"the {role} stopped (exit code -9); restarting it in 0.5 s" in said
            assert f"the {role} is running again (restart 1)" in said
            sender.phase = f"after {role}"
        sender.stop()
        # The worker and broker down never stopped ingest: only the API's own death failed posts.
        assert [f for f in sender.failures if f[0] != "api"] == [], sender.failures[:5]
        wait_equal(up.url, sender.sent, timeout=120)
        assert restarts(up.url) == {"api": 1.0, "worker": 1.0, "broker": 1.0}
        # The new broker got what the old one held and no worker had applied.
        refilled = r"the broker is running again \(restart 1\); \d+ events no worker had applied"
        assert re.search(refilled, (up.tmp / "up.out").read_text())
        exposition = httpx.get(f"{up.url}/metrics", timeout=5).text
        checked = subprocess.run(
            ["promtool", "check", "metrics"],
            input=exposition,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        sender.halt.set()


# /proc/net/tcp states of a connection its server closed first and that still
# holds the server's port: FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSING, LAST_ACK.
LINGERING = {"04", "05", "06", "0B", "09"}


def lingering(port: int) -> list[str]:
    """The states of connections on local `port` that are not open and not listening."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state in LINGERING:
                found.append(state)
    return found


def test_up_starts_at_once_after_a_kill_9_of_the_previous_one_on_the_same_ports(up: Up) -> None:
    up.start()
    assert up.proc is not None
    old_children = up.children()
    # Connections kept open, so that the servers close them first when they stop:
    # those then hold the ports (FIN_WAIT/TIME_WAIT) for up to a minute.
    with httpx.Client() as client:
        assert client.get(f"{up.url}/healthz").status_code == 200
        assert client.get(f"http://127.0.0.1:{up.worker_port}/metrics").status_code == 200
        up.proc.kill()
        up.proc.wait()
        up.out.close()
        up.proc = None
        up.start()  # the same ports, at once; fails if `opstrack up` gives up or exits
        # start() returns on the first ready answer, which the old API may still give
        # while it stops: wait for the old children to go and the new ones to serve.

        def old_gone() -> None:
            left = [p for p in old_children if Path(f"/proc/{p}").exists()]
            assert not left, f"old children still running: {left}"

        def new_ready() -> None:
            new = up.children()
            assert len(new) == 3 and not set(new) & set(old_children), new
            ready(up.url)()

        wait_for(old_gone, "the old children gone", 30)
        wait_for(new_ready, "the new stack ready", 90)
        assert lingering(up.port), "no connection of the old API lingered on its port"
        assert lingering(up.worker_port), "no connection of the old worker lingered on its port"
    r = httpx.post(
        f"{up.url}/v1/events",
        content=orjson.dumps(generate_calls(3, seed=1, start=utc(2022, 5, 2, 8), hours=1)),
        headers={"content-type": BATCH, **AUTH},
    )
    assert r.status_code == 202, r.text
    assert up.stop() == 0
