"""The stack as a user runs it: `opstrack up` in a subprocess on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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

BATCH = "application/cloudevents-batch+json"


class Up:
    def __init__(
        self, tmp: Path, env: dict[str, str] | None = None, kafka: str | None = None
    ) -> None:
        """`kafka`: bootstrap of an Apache Kafka cluster (`opstrack up --kafka`); None:
        the embedded broker. `env` then carries the cluster's OPSTRACK_* settings."""
        self.tmp = tmp
        self.kafka = kafka
        self.extra_env = env or {}
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
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.tmp / "up.out").read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise AssertionError("opstrack up not ready within 90 s")

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
