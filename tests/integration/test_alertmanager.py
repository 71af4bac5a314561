"""Alertmanager → opstrack: the shipped config, checked by amtool and run by a real Alertmanager.

opstrack's app (services.api.main.create_app with the Alertmanager router) runs in uvicorn
on a free port with a SQLite store under a temporary directory. No broker is started:
the outbox keeps the events, and the outbox is what is checked. A real
`prometheus-alertmanager` runs deploy/alertmanager/alertmanager.yml with its opstrack
webhook pointed at that app, shorter waits, and the e-mail receivers emptied (no SMTP
server here). Alerts are posted to Alertmanager's API as Prometheus would post them.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import yaml
from sqlalchemy import Engine, select

from services.settings import Settings
from services.stack.procs import free_port, spawn, stop, wait_port
from services.store.db import make_engine
from services.store.outbox import OUTBOX
from tests.conftest import AUTH, TEST_TOKEN
from tests.integration.conftest import serving
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
AMTOOL = shutil.which("amtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
T = TypeVar("T")

needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")


# --- amtool: the shipped config --------------------------------------------------------


def amtool(*args: str) -> str:
    assert AMTOOL is not None
    done = subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_amtool
def test_shipped_config_is_valid() -> None:
    out = amtool("check-config", str(SHIPPED))
    assert "SUCCESS" in out and "1 inhibit rules" in out
    # No secret is written in the file: the SMTP password comes from a file.
    text = SHIPPED.read_text(encoding="utf-8")
    assert "smtp_auth_password_file:" in text and "smtp_auth_password:" not in text


@needs_amtool
@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=page", "municipality=Laxå"], "opstrack,page-laxa"),
        (["severity=page", "municipality=Askersund"], "opstrack,page-askersund"),
        (["severity=page"], "opstrack,page"),
        (["severity=page", "municipality=Laxå,Hallsberg"], "opstrack,page"),  # several: all
        (["severity=ticket", "municipality=Hallsberg"], "opstrack,ticket-hallsberg"),
        (["severity=ticket", "municipality=Lekeberg"], "opstrack,ticket-lekeberg"),
        (["severity=ticket"], "opstrack,ticket"),
        (["severity=ticket", "incident=false"], "ticket"),  # not an incident
        (["severity=warning", "municipality=Laxå"], "drift"),
        (["alertname=Watchdog"], "drift"),
        # opstrack's own alerts reach people, not opstrack: no incident feeds back.
        (["alertname=Severity1IncidentUnacknowledged", "severity=page"], "page"),
        (["alertname=CallsNotAbandonedErrorBudgetBurn", "severity=ticket"], "ticket"),
    ],
)
def test_routes(labels: list[str], receivers: str) -> None:
    assert route(*labels) == receivers


def route(*labels: str) -> str:
    return amtool("config", "routes", "test", f"--config.file={SHIPPED}", *labels).strip()


RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))


@needs_amtool
def test_opstrack_own_alerts_do_not_become_incidents() -> None:
    """Each alert rule shipped with opstrack is about a service level it measures itself.

    A new rule there needs `incident: "false"` among its labels (or its name in the
    opstrack route's alertname matcher), or this fails.
    """
    assert RULES, "no Prometheus rules in deploy/prometheus/rules (`opstrack rules` writes them)"
    for path in RULES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in (r for r in group["rules"] if "alert" in r):
                labels = {"alertname": rule["alert"]} | rule.get("labels", {})
                receivers = route(*(f"{k}={v}" for k, v in labels.items()))
                assert "opstrack" not in receivers.split(","), (path.name, rule["alert"])


@needs_amtool
def test_mail_template_renders(tmp_path: Path) -> None:
    data = {
        "receiver": "page-laxa",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "CoreSwitchDown", "service": "network"}
                | {"municipality": "Laxå", "severity": "page", "impact": "outage"},
                "annotations": {
                    "summary": "Core switch <B> does not answer",
                    "runbook_url": "https://wiki.example.org/runbooks/coreswitch",
                },
                "startsAt": "2022-06-14T17:05:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": "3f2a9c1d0b4e5f67",
            }
        ],
        "groupLabels": {"alertname": "CoreSwitchDown", "service": "network"}
        | {"municipality": "Laxå"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
    }
    (tmp_path / "data.json").write_bytes(orjson.dumps(data))

    def render(name: str, kind: str = "text") -> str:
        return amtool(
            "template",
            "render",
            f"--template.glob={SHIPPED.parent / 'templates' / '*.tmpl'}",
            f"--template.data={tmp_path / 'data.json'}",
            f"--template.type={kind}",
            f'--template.text={{{{ template "{name}" . }}}}',
        )

    assert render("opstrack.subject").strip() == "[FIRING:1] CoreSwitchDown · network · Laxå"
    text = render("opstrack.text")
    for part in ("Core switch <B>", "service:      network", "municipality: Laxå"):
        assert part in text
    assert "since 2022-06-14 17:05 UTC" in text and "runbooks/coreswitch" in text
    html = render("opstrack.html", "html")
    assert "Core switch &lt;B&gt; does not answer" in html  # escaped
    assert '<a href="https://wiki.example.org/runbooks/coreswitch">runbook</a>' in html


# --- opstrack's API with the router ----------------------------------------------------


@dataclass(frozen=True)
class Api:
    url: str
    engine: Engine  # a second engine on the app's database, to read the outbox
    config_dir: Path

    def incident_events(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(OUTBOX.c.payload).where(OUTBOX.c.type.like("incident.%")))
            events = (orjson.loads(payload) for payload in rows.scalars())
            return {e["id"]: e for e in events if e["id"].startswith("alert-")}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("opstrack")
    config_dir = tmp / "config"
    shutil.copytree(REPO / "config", config_dir)  # a copy: one test breaks alerts.yaml
    db = f"sqlite:///{tmp / 'opstrack.db'}"
    settings = Settings(
        database_url=db,
        # Nothing listens there: the relay keeps retrying and the outbox keeps the events.
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        topic_prefix=f"t{uuid.uuid4().hex[:8]}-",
        config_dir=config_dir,
    )
    engine = make_engine(db)
    try:
        with serving(settings) as url:
            yield Api(url, engine, config_dir)
    finally:
        engine.dispose()


def webhook(api: Api, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"content-type": "application/json", **AUTH}
    return httpx.post(f"{api.url}/v1/webhooks/alertmanager", content=content, headers=headers)


def am_alert(fingerprint: str, status: str, **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DirectPost", "service": "network", "severity": "ticket"} | labels,
        "annotations": {"summary": "posted by the test"},
        "startsAt": "2022-06-14T17:05:00Z",
        "endsAt": "2022-06-14T17:35:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def v4(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "opstrack", "alerts": list(alerts)}


def test_webhook_stores_events_and_counts_repeats_as_duplicates(api: Api) -> None:
    body = v4(am_alert("00000000000000a1", "resolved"), am_alert("00000000000000a2", "firing"))
    first = webhook(api, body)
    assert first.status_code == 202, first.text
    assert first.json() == {
        "accepted": 3,
        "duplicates": 0,
        "conflicts": [],
    }  # opened+resolved, opened
    assert webhook(api, body).json() == {"accepted": 0, "duplicates": 3, "conflicts": []}
    stored = api.incident_events()
    resolved = stored["alert-00000000000000a1-20220614T170500.000Z-resolved"]
    assert resolved["type"] == "incident.resolved"
    assert datetime.fromisoformat(resolved["time"]) == datetime(2022, 6, 14, 17, 35, tzinfo=UTC)


def test_webhook_refuses_bad_alerts_whole(api: Api) -> None:
    before = api.incident_events()
    good, bad = am_alert("00000000000000b1", "firing"), am_alert("00000000000000b2", "firing")
    bad["labels"]["service"] = "netwrok"
    answer = webhook(api, v4(good, bad))
    assert answer.status_code == 422
    assert "nothing was stored" in answer.json()["detail"]
    [error] = answer.json()["errors"]
    assert (error["index"], error["field"]) == (1, "labels.service")
    assert "'netwrok' is not in the service catalog" in error["message"]
    assert webhook(api, {"version": "4", "alerts": []}).status_code == 422
    assert api.incident_events() == before


def test_webhook_refuses_what_is_not_a_json_object(api: Api) -> None:
    assert webhook(api, b'{"version": "4",').status_code == 400
    assert webhook(api, [v4(am_alert("00000000000000c1", "firing"))]).status_code == 400


def test_a_broken_alerts_yaml_is_a_server_error(api: Api) -> None:
    path = api.config_dir / "alerts.yaml"
    good = path.read_text(encoding="utf-8")
    try:
        path.write_text("severity: {map: {page: 7}}\n", encoding="utf-8")
        answer = webhook(api, v4(am_alert("00000000000000d1", "firing")))
        assert answer.status_code == 500  # Alertmanager retries a 5xx; the file is at fault
        assert "severity.map.page" in answer.json()["detail"]
    finally:
        path.write_text(good, encoding="utf-8")


# --- a real Alertmanager ---------------------------------------------------------------


@dataclass(frozen=True)
class Alertmanager:
    url: str
    log: Path

    def post(self, *alerts: dict[str, Any]) -> None:
        answer = httpx.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=10)
        assert answer.status_code == 200, answer.text

    def delivered(self) -> float:
        """Webhook notifications Alertmanager has delivered, by its own counters."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text

        def total(name: str) -> float:
            return sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(name + "{") and 'integration="webhook"' in line
            )

        return total("alertmanager_notifications_total") - total(
            "alertmanager_notifications_failed_total"
        )

    def alert(self, **labels: str) -> dict[str, Any]:
        """The one alert Alertmanager holds with these labels (among others)."""
        filters = httpx.QueryParams([("filter", f'{k}="{v}"') for k, v in labels.items()])
        [alert] = httpx.get(f"{self.url}/api/v2/alerts", params=filters).json()
        return dict(alert)


def am_config(api_url: str, token_file: Path) -> dict[str, Any]:
    """The shipped config with its opstrack webhook pointed at `api_url`, its bearer
    token read from `token_file`, and quick timings."""
    config = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    config["templates"] = [str(SHIPPED.parent / "templates" / "*.tmpl")]
    for receiver in config["receivers"]:
        if receiver["name"] == "opstrack":
            [hook] = receiver["webhook_configs"]
            hook["url"] = f"{api_url}/v1/webhooks/alertmanager"
            hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
        else:
            receiver.pop("email_configs")  # no SMTP server here: a receiver that does nothing
    [route] = [r for r in config["route"]["routes"] if r["receiver"] == "opstrack"]
    # repeat_interval too: Alertmanager then sends every group again about each second,
    # so that "repeats add nothing" is tested on repeats that did arrive.
    route |= {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1s"}
    return dict(config)


@pytest.fixture(scope="module")
def am(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed (Debian: prometheus-alertmanager)")
    tmp = tmp_path_factory.mktemp("alertmanager")
    config, token_file = tmp / "alertmanager.yml", tmp / "opstrack_token"
    token_file.write_text(TEST_TOKEN, encoding="utf-8")
    config.write_text(
        yaml.safe_dump(am_config(api.url, token_file), allow_unicode=True), encoding="utf-8"
    )
    port, log = free_port(), tmp / "alertmanager.log"
    proc = spawn(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no HA peers: no gossip port, no settling wait
        ],
        log=log,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_port("127.0.0.1", port, 30), log.read_text()
        wait_until(
            lambda: httpx.get(f"{url}/-/ready").status_code == 200,
            "Alertmanager ready",
            detail=tail(log),
        )
        yield Alertmanager(url, log)
    finally:
        stop([proc])


def tail(log: Path) -> Callable[[], str]:
    """The end of the Alertmanager's log, for a wait's failure message."""
    return lambda: "Alertmanager:\n" + log.read_text()[-3000:]


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_alerts_become_incidents_through_a_real_alertmanager(api: Api, am: Alertmanager) -> None:
    starts = datetime.now(UTC).replace(microsecond=123_000) - timedelta(minutes=10)
    stamp = f"{starts:%Y%m%dT%H%M%S}.123Z"
    switch: dict[str, Any] = {
        "labels": {"alertname": "CoreSwitchDown", "service": "network", "severity": "page"}
        | {"impact": "outage", "municipality": "Laxå"},
        "annotations": {
            "summary": "Core switch in Laxå does not answer",
            "public_notice_sv": "E-tjänsterna går inte att nå i Laxå.",
        },
        "startsAt": rfc3339(starts),
        "generatorURL": "http://prometheus:9090/graph",
    }
    engine: dict[str, Any] = {
        "labels": {"alertname": "ProcessEngineSlow", "job": "processmotor", "severity": "page"}
        | {"municipality": "Hallsberg"},
        "annotations": {"summary": "The process engine answers slowly"},
        "startsAt": rfc3339(starts),
    }
    # Same rule and service as the page: inhibited, so it never becomes an incident.
    inhibited = switch | {"labels": switch["labels"] | {"severity": "ticket"}}
    am.post(switch, engine)
    fp = am.alert(alertname="CoreSwitchDown", severity="page")["fingerprint"]
    incident = f"alert-{fp}-{stamp}"

    def stored(event_id: str) -> dict[str, Any] | None:
        return api.incident_events().get(event_id)

    opened = wait_until(
        lambda: stored(f"{incident}-opened"), "incident.opened", detail=tail(am.log)
    )
    assert opened["type"] == "incident.opened"
    assert datetime.fromisoformat(opened["time"]) == starts
    assert opened["data"] == {
        "incident_id": incident,
        "service": "network",
        "severity": 1,  # page + outage
        "impact": "outage",
        "municipalities": ["Laxå"],
        "planned_work": None,
        "title": "Core switch in Laxå does not answer",
        # The public notice from its annotation, through Alertmanager's webhook.
        "notice": {
            "sv": {
                "what": "E-tjänsterna går inte att nå i Laxå.",
                "affected": None,
                "action": None,
            },
            "en": None,
            "expected_end": None,
        },
    }
    engine_fp = am.alert(alertname="ProcessEngineSlow")["fingerprint"]
    slow = wait_until(
        lambda: stored(f"alert-{engine_fp}-{stamp}-opened"),
        "the engine's incident",
        detail=tail(am.log),
    )
    # No service label: the job names it. Page without an impact: degraded, severity 2.
    assert (slow["data"]["service"], slow["data"]["severity"]) == ("processmotor", 2)
    assert slow["data"]["municipalities"] == ["Hallsberg"]
    assert slow["data"]["notice"] is None  # no public annotation: the page's default text

    # While the page fires, the ticket alert of the same rule and service is inhibited.
    # Posted only now: a group whose alert started more than group_wait ago is sent at
    # once, which can beat the inhibitor to an inhibiting alert posted alongside.
    am.post(inhibited)

    def ticket_inhibited() -> dict[str, Any] | None:
        alert = am.alert(alertname="CoreSwitchDown", severity="ticket")
        return alert if alert["status"]["inhibitedBy"] else None

    ticket = wait_until(ticket_inhibited, "inhibition of the ticket alert", detail=tail(am.log))
    ticket_incident = f"alert-{ticket['fingerprint']}-"
    assert not [i for i in api.incident_events() if i.startswith(ticket_incident)]

    # Resolved as Prometheus resolves it: the same alert, same startsAt, endsAt passed.
    # The ticket alert ends too: one never notified as firing is not notified as resolved.
    ends = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    am.post(switch | {"endsAt": rfc3339(ends)}, inhibited | {"endsAt": rfc3339(ends)})
    resolved = wait_until(
        lambda: stored(f"{incident}-resolved"), "incident.resolved", detail=tail(am.log)
    )
    assert resolved["type"] == "incident.resolved"
    assert datetime.fromisoformat(resolved["time"]) == ends
    assert resolved["data"] == {"incident_id": incident, "service": "network"}

    # Repeats add nothing: Alertmanager is told again and, by its own counter, delivers
    # more notifications (repeat_interval is 1 s here) without a new incident event.
    before, sent = api.incident_events(), am.delivered()
    am.post(switch | {"endsAt": rfc3339(ends)}, engine)
    wait_until(
        lambda: am.delivered() >= sent + 3, "three more webhook deliveries", detail=tail(am.log)
    )
    assert api.incident_events() == before
    # The inhibited ticket alert never became an incident, not even once it ended.
    assert not [i for i in before if i.startswith(ticket_incident)]
