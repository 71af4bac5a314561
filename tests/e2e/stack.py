"""The stack as a user runs it: `opstrack up` in a subprocess on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.stack.procs import free_port
from tests.conftest import AUTH, TEST_TOKEN
from tests.kafka.cluster import KafkaCluster
from tests.reference import assert_rows_equal, expected_calls, utc
from tests.waiting import ended, wait_for, wait_until

BATCH = "application/cloudevents-batch+json"
# generate_calls(…, start=utc(2022, 5, 2, 4), hours=36) falls in these two local days.
PERIOD = "2022-05-02..2022-05-03"
PERIOD_BOUNDS = (utc(2022, 5, 1, 22), utc(2022, 5, 3, 22))  # local midnights, CEST
GROUPINGS = [None, "queue", "municipality", "hour", "day", "queue,day"]


class Up:
    """`opstrack up`; its output (stdout and stderr) in tmp/up.out. With `tty`, its
    stdout is a terminal (a pseudo-terminal copied into up.out), as for a user.
    `kafka`: bootstrap of an Apache Kafka cluster (`opstrack up --kafka`); None:
    the embedded broker. `env` then carries the cluster's OPSTRACK_* settings."""

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str] | None = None,
        tty: bool = False,
        kafka: str | None = None,
    ) -> None:
        self.tmp = tmp
        self.kafka = kafka
        self.extra_env = env or {}
        self.tty = tty
        self._copier: threading.Thread | None = None
        self.port = free_port()
        self.worker_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            sys.executable, "-m", "services.cli", "up",
            "--port", str(self.port),
            "--worker-port", str(self.worker_port),
            "--db", f"sqlite:///{self.tmp / 'opstrack.db'}",
            "--state-dir", str(self.tmp / "state"),
            *(["--kafka", self.kafka] if self.kafka else []),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
        env |= {"OPSTRACK_DEV_TOKEN": TEST_TOKEN} | self.extra_env
        self.out = (self.tmp / "up.out").open("ab")
        if self.tty:
            terminal, stdout = pty.openpty()
            self.proc = subprocess.Popen(argv, stdout=stdout, stderr=self.out, env=env)
            os.close(stdout)
            self._copier = threading.Thread(target=self._copy, args=(terminal,), daemon=True)
            self._copier.start()
        else:
            self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        wait_until(
            lambda: httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200,
            "opstrack up ready",
            90,
            interval=0.25,
            give_up=ended((self.proc, self.tmp / "up.out")),
        )

    def printed(self) -> str:
        """What `opstrack up` printed so far, without the colours rich adds on a terminal."""
        return re.sub(r"\x1b\[[0-9;]*m", "", (self.tmp / "up.out").read_text(errors="replace"))

    def shown(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The match of `pattern` in what `opstrack up` printed, once it is there (it
        prints once ready)."""

        def match() -> re.Match[str] | None:
            return re.search(pattern, self.printed())

        return wait_until(
            match, f"`opstrack up` to print {pattern!r}", timeout, detail=self.printed
        )

    def _copy(self, terminal: int) -> None:
        out = self.out
        with contextlib.suppress(OSError):  # EIO: `opstrack up` closed its terminal
            while data := os.read(terminal, 4096):
                out.write(data)
                out.flush()
        os.close(terminal)

    def children(self) -> list[int]:
        assert self.proc is not None
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(stat.parent.name))
        return out

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        if self._copier is not None:
            self._copier.join(10)  # it ends when the terminal closes
        self.out.close()
        self.proc = None
        return code


@dataclass(frozen=True)
class OnBroker:
    """Where a parametrised end-to-end test's stack sends its events."""

    kind: str  # "embedded" (Tansu, started by `opstrack up`) or "kafka"
    kafka: str | None = None  # `opstrack up --kafka` bootstrap
    env: dict[str, str] = field(default_factory=dict)  # OPSTRACK_* for that cluster


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def on_broker(request: pytest.FixtureRequest) -> OnBroker:
    """Each test that takes this runs once on the embedded broker and once on the
    session's Apache Kafka cluster (tests/kafka/cluster.py), in topics of its own."""
    if request.param == "embedded":
        return OnBroker("embedded")
    cluster: KafkaCluster = request.getfixturevalue("kafka_cluster")
    prefix = f"e2e{uuid.uuid4().hex[:8]}-"
    return OnBroker("kafka", cluster.bootstrap, cluster.opstrack_env(prefix))


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    stack = Up(tmp_path)
    yield stack
    if stack.proc is not None:
        stack.stop()


def opstrack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def post(url: str, events: list[dict[str, Any]]) -> httpx.Response:
    headers = {"content-type": BATCH, **AUTH}
    return httpx.post(f"{url}/v1/events", content=json.dumps(events), headers=headers, timeout=30)


def sli(url: str, group_by: str | None) -> list[dict[str, Any]]:
    params = {"period": PERIOD} | ({"group_by": group_by} if group_by else {})
    r = httpx.get(f"{url}/v1/sli/calls", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def wait_equal(url: str, events: list[dict[str, Any]], timeout: float = 60) -> None:
    """Until /v1/sli/calls, in every grouping, equals the reference computed from `events`."""

    def equal() -> None:
        for g in GROUPINGS:
            groups = tuple(g.split(",")) if g else ()
            assert_rows_equal(sli(url, g), expected_calls(events, PERIOD_BOUNDS, groups))

    wait_for(equal, f"/v1/sli/calls equal to the reference for {len(events)} events", timeout)
