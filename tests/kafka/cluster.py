"""A real Apache Kafka cluster (KRaft, no ZooKeeper, no Docker) on loopback for the tests.

The broker's jars come from Maven Central through tests/kafka/pom.xml, resolved
once into ~/.cache/opstrack/kafka-<version>/ (OPSTRACK_KAFKA_CACHE overrides the
parent folder). Each node is one JVM that is broker and controller at once (as
docker-compose.yml's single node), on free ports, with its own data directory
formatted by Kafka's StorageTool, and runs in a process group of its own so that
a SIGKILL reaches the whole JVM and nothing outlives the test session.

    with KafkaCluster(nodes=3, workdir=tmp) as cluster:
        cluster.bootstrap          # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        cluster.kill(2)            # SIGKILL node 2 (its data stays)
        cluster.restart(2)         # start it again on the same ports and data

Run by hand: `python -m tests.kafka.cluster --nodes 3` prints the bootstrap and
waits for Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from services.stack.procs import free_port, spawn, wait_port

# The release the tests run unless OPSTRACK_KAFKA_VERSION says otherwise: the
# newest Kafka that both of opstrack's clients (kafka-python for the relay,
# aiokafka under faust for the workers) were tested against (README
# "Running on Apache Kafka").
KAFKA_VERSION = "4.4.0"
POM = Path(__file__).with_name("pom.xml")
# Small heaps: the test machines have 2 cores and run three brokers beside
# PostgreSQL, the API and three workers.
HEAP = os.environ.get("OPSTRACK_KAFKA_HEAP", "384m")
# Settings every node gets: the few threads a loopback test needs, and the
# cluster-wide replication settings docker-compose.yml would use with three nodes.
NODE_SETTINGS = {
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "auto.create.topics.enable": "false",
    # A worker that joins alone is assigned at once; the tests add workers on purpose.
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "6",
}


# Partitions of each opstrack topic on the cluster: the most workers that share the load.
PARTITIONS = 6
# The group timeouts and fetch wait docker-compose.yml gives the workers on Apache
# Kafka: faust's defaults (the built-in ones are tuned for Tansu). A SIGKILLed
# worker's partitions move after the session timeout, 60 s.
BROKER_TIMEOUTS = {
    "OPSTRACK_BROKER_SESSION_TIMEOUT": "60",
    "OPSTRACK_BROKER_HEARTBEAT_INTERVAL": "3",
    "OPSTRACK_BROKER_REBALANCE_TIMEOUT": "60",
    "OPSTRACK_CONSUMER_FETCH_MAX_WAIT_MS": "500",
}


class KafkaClusterError(RuntimeError):
    pass


def kafka_version() -> str:
    return os.environ.get("OPSTRACK_KAFKA_VERSION", KAFKA_VERSION)


def cache_dir(version: str) -> Path:
    base = Path(os.environ.get("OPSTRACK_KAFKA_CACHE", Path.home() / ".cache" / "opstrack"))
    return base / f"kafka-{version}"


def resolve_jars(version: str | None = None) -> Path:
    """The folder holding the broker's jars, resolved with Maven on first use."""
    version = version or kafka_version()
    target = cache_dir(version)
    done = target / ".resolved"
    if done.exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaClusterError("Maven (mvn) is not installed: run scripts/test-prereqs.sh")
    # Into a fresh folder, then renamed: an interrupted resolve leaves no half cache.
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"kafka-{version}.", dir=target.parent))
    argv = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-Dkafka.version={version}",
        f"-DoutputDirectory={partial}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(partial.glob(f"kafka_2.13-{version}.jar")):
        shutil.rmtree(partial, ignore_errors=True)
        raise KafkaClusterError(
            f"could not resolve Apache Kafka {version} with Maven:\n{result.stdout}{result.stderr}"
        )
    (partial / ".resolved").write_text(f"{version}\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not found:
        raise KafkaClusterError("no java on PATH (JDK >= 17): run scripts/test-prereqs.sh")
    return found


@dataclass
class Node:
    node_id: int
    port: int
    controller_port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.dir / "server.properties"

    @property
    def log(self) -> Path:
        return self.dir / "kafka.log"


class KafkaCluster:
    """`nodes` combined broker+controller nodes; see the module docstring."""

    def __init__(
        self,
        nodes: int = 1,
        workdir: Path | None = None,
        version: str | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError(f"a cluster needs at least one node, not {nodes}")
        self.version = version or kafka_version()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="opstrack-kafka-"))
        self.cluster_id = _cluster_id()
        self.nodes = [
            Node(i, free_port(), free_port(), self.workdir / f"node-{i}")
            for i in range(1, nodes + 1)
        ]
        self.settings = self.broker_settings(nodes) | (settings or {})
        self._classpath = ""

    @staticmethod
    def broker_settings(nodes: int) -> dict[str, str]:
        """Replication settings: what a production cluster of `nodes` nodes uses."""
        replicas = min(nodes, 3)
        isr = min(replicas, 2)
        return NODE_SETTINGS | {
            "default.replication.factor": str(replicas),
            "min.insync.replicas": str(isr),
            "offsets.topic.replication.factor": str(replicas),
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(isr),
        }

    @property
    def bootstrap(self) -> str:
        return ",".join(n.address for n in self.nodes)

    @property
    def replication_factor(self) -> int:
        return int(self.settings["default.replication.factor"])

    @property
    def min_insync_replicas(self) -> int:
        return int(self.settings["min.insync.replicas"])

    def opstrack_env(self, prefix: str) -> dict[str, str]:
        """The OPSTRACK_* settings of opstrack processes on this cluster, topics under
        `prefix`: the Kafka settings of docker-compose.yml (tests/kafka/test_settings.py
        holds the two together)."""
        return {
            "OPSTRACK_KAFKA_BOOTSTRAP": self.bootstrap,
            "OPSTRACK_TOPIC_PREFIX": prefix,
            "OPSTRACK_PARTITIONS": str(PARTITIONS),
            "OPSTRACK_REPLICATION_FACTOR": str(self.replication_factor),
            "OPSTRACK_MIN_INSYNC_REPLICAS": str(self.min_insync_replicas),
        } | BROKER_TIMEOUTS

    def node(self, node_id: int) -> Node:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"no node {node_id} in this cluster ({[n.node_id for n in self.nodes]})")

    # -- life cycle -------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> KafkaCluster:
        self._classpath = str(resolve_jars(self.version) / "*")
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        try:
            for n in self.nodes:
                n.dir.mkdir(parents=True, exist_ok=True)
                n.config.write_text(_properties(self._node_properties(n, voters)))
                self._format(n)
            for n in self.nodes:
                self._launch(n)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _node_properties(self, n: Node, voters: str) -> dict[str, str]:
        return self.settings | {
            "process.roles": "broker,controller",
            "node.id": str(n.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{n.port},CONTROLLER://127.0.0.1:{n.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{n.port}",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(n.dir / "data"),
        }

    def _jvm(self, main: str, *args: str) -> list[str]:
        return [
            java(),
            f"-Xmx{HEAP}",
            "-Xms64m",
            # One GC thread, no JIT tiers beyond C1: starts faster and leaves the
            # two cores to the code under test; a loopback test needs no peak speed.
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-cp",
            self._classpath,
            main,
            *args,
        ]

    def _format(self, n: Node) -> None:
        argv = self._jvm(
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            self.cluster_id,
            "-c",
            str(n.config),
        )
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KafkaClusterError(
                f"formatting node {n.node_id} failed:\n{result.stdout}{result.stderr}"
            )

    def _launch(self, n: Node) -> None:
        n.proc = spawn(self._jvm("kafka.Kafka", str(n.config)), log=n.log, own_group=True)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every running node listens and the cluster's metadata lists them all."""
        deadline = time.monotonic() + timeout
        running = [n for n in self.nodes if n.proc is not None]
        for n in running:
            if not wait_port("127.0.0.1", n.port, max(0.0, deadline - time.monotonic())):
                self._died_or_late(n, "did not listen")
        want = {n.node_id for n in running}
        # Imported here: tests.waiting needs httpx, and `--resolve-only` runs before
        # the virtualenv exists (.ci/run).
        from tests.waiting import wait_for

        def registered() -> None:
            missing = want - self.brokers()
            assert not missing, f"brokers {sorted(missing)} not registered"

        def exited() -> str | None:
            for n in running:
                if n.proc is not None and n.proc.poll() is not None:
                    self._died_or_late(n, f"exited with {n.proc.returncode}")
            return None

        try:
            wait_for(
                registered,
                "every Kafka broker in the cluster's metadata",
                max(0.0, deadline - time.monotonic()),
                give_up=exited,
            )
        except AssertionError as exc:
            raise KafkaClusterError(f"{exc} (logs in {self.workdir})") from None

    def _died_or_late(self, n: Node, what: str) -> None:
        tail = n.log.read_text(errors="replace")[-3000:] if n.log.exists() else ""
        raise KafkaClusterError(f"Kafka node {n.node_id} {what}; its log ends:\n{tail}")

    def brokers(self) -> set[int]:
        """The ids of the brokers the cluster's metadata lists now (empty if none answers)."""
        # Imported here: `--resolve-only` runs before the virtualenv exists (.ci/run).
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        live = ",".join(n.address for n in self.nodes if n.proc is not None)
        if not live:
            return set()
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=live, request_timeout_ms=5000, client_id="opstrack-test"
            )
        except KafkaError:
            return set()
        try:
            brokers = admin.describe_cluster()["brokers"]
            # A restarted broker is listed fenced until it has caught up with the metadata.
            return {b["broker_id"] for b in brokers if not b.get("is_fenced")}
        except KafkaError:
            return set()
        finally:
            admin.close()

    def kill(self, node_id: int) -> None:
        """SIGKILL the node's whole process group: a crash, no clean shutdown."""
        n = self.node(node_id)
        if n.proc is None:
            return
        _signal_group(n.proc, signal.SIGKILL)
        n.proc.wait()
        n.proc = None

    def restart(self, node_id: int, timeout: float = 120.0) -> None:
        n = self.node(node_id)
        if n.proc is not None:
            raise KafkaClusterError(f"node {node_id} is running")
        self._launch(n)
        self.wait_ready(timeout)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM every node's group (a clean shutdown), SIGKILL what is left after `grace`."""
        running = [n for n in self.nodes if n.proc is not None]
        for n in running:
            assert n.proc is not None
            _signal_group(n.proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for n in running:
            assert n.proc is not None
            try:
                n.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(n.proc, signal.SIGKILL)
                n.proc.wait()
            n.proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The node leads its own group (spawn(own_group=True)): the JVM and anything it forked.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _cluster_id() -> str:
    # What `kafka-storage random-uuid` prints: a UUID in URL-safe base64, 22 characters.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _properties(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in sorted(values.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--version", default=None)
    parser.add_argument("--resolve-only", action="store_true", help="fetch the jars and exit")
    args = parser.parse_args(argv)
    if args.resolve_only:
        print(resolve_jars(args.version))
        return 0
    with KafkaCluster(args.nodes, version=args.version) as cluster:
        print(f"Apache Kafka {cluster.version}: {cluster.bootstrap}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
