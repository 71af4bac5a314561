"""Production's Kafka settings are the tested ones (issue 13).

docker-compose.yml's Kafka nodes and opstrack's settings there must be what
tests/kafka/test_cluster.py and the e2e tests on Kafka ran with: the release,
the number of nodes, replication, partitions, the workers' group timeouts and
the relay's producer (acks=all, idempotent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.ingest.kafka import producer
from tests.integration.test_compose import DOCKER_COMPOSE, SECRETS, compose_config
from tests.kafka.cluster import KAFKA_VERSION, NODE_SETTINGS, KafkaCluster

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(
        DOCKER_COMPOSE is None,
        reason="docker-compose is not installed (scripts/test-prereqs.sh installs Debian's)",
    ),
]

# Broker settings of the test cluster that production does not share, and why:
# thread counts and the offsets topic's partitions size a loopback test on 2
# cores, and the tests add workers one at a time on purpose, where production
# waits 3 s for both workers before the first assignment.
TEST_ONLY = set(NODE_SETTINGS) - {"auto.create.topics.enable"}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = compose_config(tmp_path_factory.mktemp("compose"), **SECRETS)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return found


def kafka_nodes(services: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each Kafka service's environment, as strings."""
    return {
        name: {k: str(v) for k, v in s["environment"].items()}
        for name, s in services.items()
        if str(s.get("image", "")).startswith("apache/kafka:")
    }


def as_env(prop: str) -> str:
    # The apache/kafka image's convention: log.dirs is KAFKA_LOG_DIRS.
    return "KAFKA_" + prop.upper().replace(".", "_")


def test_compose_runs_the_tested_release_with_the_tested_broker_settings(
    services: dict[str, Any],
) -> None:
    nodes = kafka_nodes(services)
    assert len(nodes) == 3  # as the kafka_cluster fixture (tests/conftest.py)
    assert {services[n]["image"] for n in nodes} == {f"apache/kafka:{KAFKA_VERSION}"}
    tested = KafkaCluster.broker_settings(3)
    for name, env in nodes.items():
        for prop, value in tested.items():
            if prop not in TEST_ONLY:
                assert env[as_env(prop)] == value, (name, prop)
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3, name
    assert len({env["KAFKA_NODE_ID"] for env in nodes.values()}) == 3
    assert len({env["CLUSTER_ID"] for env in nodes.values()}) == 1


def test_opstrack_on_compose_has_the_settings_of_the_cluster_tests(
    services: dict[str, Any], tmp_path: Path
) -> None:
    tested = KafkaCluster(nodes=3, workdir=tmp_path).opstrack_env("")
    bootstrap = tested.pop("OPSTRACK_KAFKA_BOOTSTRAP")
    for name in ("api", "migrate", "worker-1", "worker-2"):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        for key, value in tested.items():
            assert env[key] == value, (name, key)
        # All three nodes, as the tests' bootstrap lists all three.
        servers = env["OPSTRACK_KAFKA_BOOTSTRAP"].split(",")
        assert len(servers) == len(bootstrap.split(",")), name
        assert {s.split(":")[0] for s in servers} == set(kafka_nodes(services)), name


def test_the_relay_sends_with_acks_all_and_idempotence(kafka_cluster: KafkaCluster) -> None:
    # On the real cluster: kafka-python drops idempotence silently where a broker
    # cannot do it, so only a producer that has seen the broker tells.
    p = producer(kafka_cluster.bootstrap)
    try:
        assert p.config["acks"] in ("all", -1)
        assert p.config["enable_idempotence"] is True
    finally:
        p.close()
