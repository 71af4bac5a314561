"""docker-compose.yml, deploy/Dockerfile and Prometheus' config: validated, not run.

No Docker engine runs on the development machines, so the production stack is
checked the way Compose and Prometheus themselves read it: `docker-compose
config` (interpolation, schema, anchors) and `promtool check config`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from faust.types.settings.settings import Settings as FaustSettings

from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RULES = ROOT / "deploy" / "prometheus" / "rules"
DOCKER_COMPOSE = shutil.which("docker-compose")
PROMTOOL = shutil.which("promtool")

# Values no one would choose: found in the rendered config, never in the file.
SECRETS = {
    "POSTGRES_PASSWORD": "pg-Sentinel-31415",
    "GRAFANA_ADMIN_PASSWORD": "gf-Sentinel-27182",
    "GRAFANA_DB_PASSWORD": "gfdb-Sentinel-16180",
}
KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
LONG_RUNNING = {
    *KAFKA_NODES,
    "postgres",
    "api",
    "worker-1",
    "worker-2",
    "prometheus",
    "alertmanager",
    "grafana",
}
ONE_SHOT = {"migrate"}
OPSTRACK_SERVICES = {"api", "worker-1", "worker-2", "migrate"}

pytestmark = pytest.mark.integration
# Each test skips only for the tool it runs: the Dockerfile check needs neither.
needs_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None,
    reason="docker-compose is not installed (scripts/test-prereqs.sh installs Debian's)",
)
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian's prometheus; scripts/test-prereqs.sh)",
)


def compose_config(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with exactly these of the file's variables set."""
    assert DOCKER_COMPOSE is not None
    referenced = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    # Neither the developer's shell nor an .env beside the file may fill in a variable.
    env = {
        k: v for k, v in os.environ.items() if k not in referenced and not k.startswith("COMPOSE_")
    }
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return subprocess.run(
        [DOCKER_COMPOSE, "--env-file", str(empty), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env=env | variables,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = compose_config(tmp_path_factory.mktemp("compose"), **SECRETS)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = yaml.safe_load(result.stdout)
    return parsed


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = config["services"]
    return found


def workers(services: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in services.items() if s.get("command", [None])[0] == "worker"}


# --- docker-compose config ---------------------------------------------------------------


@needs_compose
def test_renders_with_the_required_variables_and_has_every_service(
    services: dict[str, Any],
) -> None:
    assert set(services) == LONG_RUNNING | ONE_SHOT


@needs_compose
@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_refuses_to_render_without_a_password_and_names_it(tmp_path: Path, missing: str) -> None:
    others = {k: v for k, v in SECRETS.items() if k != missing}
    result = compose_config(tmp_path, **others)
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr + result.stdout


@needs_compose
def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck", {})
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert not check.get("disable"), name
    for name in ONE_SHOT:
        # It exits; the image's own HTTP check would only report it unhealthy meanwhile.
        assert services[name]["healthcheck"]["test"] == ["NONE"]
        assert services[name]["restart"] == "no"


@needs_compose
def test_healthchecks_ask_what_each_service_serves(services: dict[str, Any]) -> None:
    def check(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "pg_isready" in check("postgres")
    for node in KAFKA_NODES:
        assert "kafka-broker-api-versions" in check(node)
    assert "127.0.0.1:8000/readyz" in check("api")
    for name in workers(services):
        assert "127.0.0.1:6066/metrics" in check(name)
    assert "/-/ready" in check("prometheus")
    assert "/-/ready" in check("alertmanager")
    assert "/api/health" in check("grafana")


@needs_compose
def test_opstrack_waits_for_healthy_dependencies(services: dict[str, Any]) -> None:
    healthy = {"condition": "service_healthy"}
    # Topics with 3 replicas can be created only once all three Kafka nodes are up.
    kafka = dict.fromkeys(KAFKA_NODES, healthy)
    for name in {"api", *workers(services)}:
        needs = services[name]["depends_on"]
        assert needs["postgres"] == healthy, name
        assert {k: needs[k] for k in KAFKA_NODES} == kafka, name
        assert needs["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["depends_on"] == {"postgres": healthy} | kafka
    assert services["grafana"]["depends_on"] == {"prometheus": healthy, "postgres": healthy}
    assert services["prometheus"]["depends_on"] == {"alertmanager": healthy}


@needs_compose
def test_two_workers_share_one_consumer_group(services: dict[str, Any]) -> None:
    found = workers(services)
    assert set(found) == {"worker-1", "worker-2"}
    envs = [s["environment"] for s in found.values()]
    # The group id is `<OPSTRACK_TOPIC_PREFIX>opstrack-processor` (services/processor/app.py).
    shared = ("OPSTRACK_TOPIC_PREFIX", "OPSTRACK_KAFKA_BOOTSTRAP", "OPSTRACK_DATABASE_URL")
    for key in shared:
        assert len({env[key] for env in envs}) == 1, key
    assert (
        services["api"]["environment"]["OPSTRACK_TOPIC_PREFIX"] == envs[0]["OPSTRACK_TOPIC_PREFIX"]
    )
    assert len({s["hostname"] for s in found.values()}) == len(found)


@needs_compose
def test_workers_use_faust_defaults_and_serve_metrics_to_other_containers(
    services: dict[str, Any],
) -> None:
    for name, service in workers(services).items():
        env = service["environment"]
        for setting in (
            "broker_session_timeout",
            "broker_heartbeat_interval",
            "broker_rebalance_timeout",
        ):
            default = FaustSettings.__dict__[setting].default
            assert float(env[f"OPSTRACK_{setting.upper()}"]) == default, (name, setting)
        assert env["OPSTRACK_WORKER_WEB_HOST"] == "0.0.0.0"  # noqa: S104 - Prometheus scrapes it
        assert env["OPSTRACK_WORKER_WEB_PORT"] == "6066"


@needs_compose
def test_api_listens_on_all_interfaces_on_port_8000(services: dict[str, Any]) -> None:
    api = services["api"]
    assert api["command"] == ["api", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    assert {"published": 8000, "target": 8000} in api["ports"]
    # deploy/alertmanager/alertmanager.yml posts alerts to this name.
    assert "opstrack-api" in api["networks"]["default"]["aliases"]


@needs_compose
def test_every_opstrack_variable_is_a_setting(services: dict[str, Any]) -> None:
    known = {f"OPSTRACK_{name.upper()}" for name in Settings.model_fields}
    for name in OPSTRACK_SERVICES:
        env = services[name]["environment"]
        unknown = {k for k in env if k.startswith("OPSTRACK_")} - known
        assert not unknown, (name, unknown)
        Settings(**{k.removeprefix("OPSTRACK_").lower(): v for k, v in env.items() if k in known})


@needs_compose
def test_migrate_runs_python_that_compiles(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["entrypoint"] == ["python", "-c"]
    (source,) = migrate["command"]
    compile(source, "migrate", "exec")
    assert "init_db" in source and "ensure_settings_topics(settings)" in source


@needs_compose
def test_no_secret_is_written_in_the_file(services: dict[str, Any]) -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    text = COMPOSE.read_text()
    reference = re.compile(r"^\$\{(\w+):\?[^}]+\}$")
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    isinstance(key, str)
                    and secretish.search(key)
                    and not isinstance(value, dict | list)
                ):
                    assert isinstance(value, str) and reference.match(value), f"{path}.{key}"
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(raw, "")
    for value in SECRETS.values():
        assert value not in text
    # The database URL carries no password; libpq takes it from PGPASSWORD.
    for name in OPSTRACK_SERVICES:
        env = services[name]["environment"]
        assert re.match(r"^postgresql://[^:@/]+@", env["OPSTRACK_DATABASE_URL"]), name
        assert env["PGPASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == SECRETS["GRAFANA_ADMIN_PASSWORD"]
    # Grafana reads the store as the read-only role, with the password the role got.
    assert grafana["STORE_DB_PASSWORD"] == SECRETS["GRAFANA_DB_PASSWORD"]
    assert (
        services["postgres"]["environment"]["GRAFANA_DB_PASSWORD"]
        == (SECRETS["GRAFANA_DB_PASSWORD"])
    )


@needs_compose
def test_mounted_files_exist_where_the_containers_expect_them(services: dict[str, Any]) -> None:
    def binds(name: str) -> dict[str, str]:
        found = {}
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            if source.startswith("/"):
                found[target] = source
        return found

    assert binds("prometheus") == {"/etc/prometheus": str(ROOT / "deploy/prometheus")}
    assert binds("alertmanager") == {"/etc/alertmanager": str(ROOT / "deploy/alertmanager")}
    assert binds("postgres") == {
        "/docker-entrypoint-initdb.d": str(ROOT / "deploy/postgres/initdb")
    }
    assert binds("grafana") == {
        "/etc/grafana/provisioning": str(ROOT / "deploy/grafana/provisioning"),
        "/var/lib/grafana/dashboards": str(ROOT / "deploy/grafana/dashboards"),
    }
    for name in OPSTRACK_SERVICES:
        assert binds(name) == {"/app/config": str(ROOT / "config")}
    for name in ("prometheus", "alertmanager", "grafana", "api", "postgres"):
        for source in binds(name).values():
            assert Path(source).is_dir(), source
    assert (ROOT / "deploy/alertmanager/alertmanager.yml").is_file()
    # The Grafana provider reads the directory mounted above.
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/opstrack.yml").read_text()
    )
    assert [p["options"]["path"] for p in provider["providers"]] == ["/var/lib/grafana/dashboards"]


@needs_compose
def test_grafana_reads_the_store_as_the_read_only_role(services: dict[str, Any]) -> None:
    """The data source's ${VARIABLES} are all set on Grafana, and name the role initdb makes."""
    source_file = ROOT / "deploy/grafana/provisioning/datasources/postgres.yml"
    (source,) = yaml.safe_load(source_file.read_text())["datasources"]
    grafana = services["grafana"]["environment"]
    wanted = set(re.findall(r"\$\{(\w+)\}", source_file.read_text()))
    assert wanted and wanted <= set(grafana), sorted(wanted - set(grafana))

    def value(text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: str(grafana[m.group(1)]), text)

    postgres = services["postgres"]["environment"]
    assert value(source["url"]) == "postgres:5432"
    assert value(source["jsonData"]["database"]) == postgres["POSTGRES_DB"]
    assert value(source["user"]) == postgres["GRAFANA_DB_USER"] != postgres["POSTGRES_USER"]
    assert value(source["secureJsonData"]["password"]) == postgres["GRAFANA_DB_PASSWORD"]
    script = ROOT / "deploy/postgres/initdb/10-grafana-reader.sh"
    assert os.access(script, os.X_OK)  # the image runs an executable *.sh in a shell of its own


# --- Prometheus --------------------------------------------------------------------------


@needs_compose
def test_prometheus_scrapes_the_api_and_every_worker(services: dict[str, Any]) -> None:
    prom = yaml.safe_load(PROMETHEUS.read_text())
    targets = {
        job["job_name"]: {t for sc in job["static_configs"] for t in sc["targets"]}
        for job in prom["scrape_configs"]
    }
    assert targets["opstrack-api"] == {"api:8000"}
    assert targets["opstrack-worker"] == {f"{name}:6066" for name in workers(services)}
    assert prom["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    alertmanagers = {
        t
        for am in prom["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    }
    assert alertmanagers == {"alertmanager:9093"}


@needs_promtool
def test_promtool_accepts_the_prometheus_config_syntax() -> None:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "check", "config", "--syntax-only", str(PROMETHEUS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_config_with_its_rule_files(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    rule_files = sorted(RULES.glob("*.yml"))
    # `opstrack rules` writes them and a drift test keeps them current: none is a fault.
    assert rule_files, "deploy/prometheus/rules/ has no *.yml rule files"
    # The container reads /etc/prometheus/rules/*.yml; here the same files sit in
    # rules/ beside a copy of the config, where a relative glob finds them.
    prom = yaml.safe_load(PROMETHEUS.read_text())
    prom["rule_files"] = ["rules/*.yml"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom))
    shutil.copytree(RULES, tmp_path / "rules")
    result = subprocess.run(
        [PROMTOOL, "check", "config", "prometheus.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{len(rule_files)} rule files found" in output
    for path in rule_files:
        assert f"rules/{path.name}" in output


# --- the image ---------------------------------------------------------------------------


def test_the_image_runs_opstrack_as_an_unprivileged_user() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "deploy/Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert all(line.split()[1] == "python:3.11-slim" for line in stages)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert lines[-2:] == [
        'ENTRYPOINT ["opstrack"]',
        'CMD ["api", "--host", "0.0.0.0", "--port", "8000"]',
    ]
    text = "\n".join(lines)
    # The dependencies from the lock, hashes checked; then opstrack without resolving again.
    assert "COPY pyproject.toml uv.lock README.md ./" in text
    assert "pip install --require-hashes -r /tmp/requirements.txt" in text
    assert "pip install --no-deps ." in text
    assert "COPY config /app/config" in text
    assert "OPSTRACK_CONFIG_DIR=/app/config" in text
    assert "HEALTHCHECK" in text
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".opstrack", "*.db"} <= ignored
