"""`opstrack grafana push` against a stand-in Grafana that checks Grafana's documented HTTP API.

No Grafana server can run on these machines, so a stdlib HTTP server plays it: it checks
each request's method, path, Bearer token and JSON body against Grafana's HTTP API docs
(dashboards: POST /api/dashboards/db; annotations: POST, GET and PATCH /api/annotations),
records it and answers as Grafana does. The push itself is the real grafana-client over
real HTTP, and the incidents come from opstrack's real API (uvicorn, SQLite, the embedded
broker for its outbox relay).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from services.client import ClientError
from services.commands.grafana import grafana_app
from services.core.incidents import IncidentState
from services.observability.dashboards import build_all
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import free_port
from services.store import incidents
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration

TOKEN = "glsa_test-token-0123456789"  # noqa: S105  (a made-up token for the stand-in)
DASHBOARD_KEYS = {"dashboard", "folderId", "folderUid", "message", "overwrite"}
ANNOTATION_KEYS = {"dashboardId", "dashboardUID", "panelId", "time", "timeEnd", "tags", "text"}
PATCH_KEYS = {"time", "timeEnd", "tags", "text", "data"}


@dataclass
class FakeGrafana:
    """What the stand-in received, what it refused, and the annotations it holds."""

    token: str = TOKEN
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    url: str = ""

    def posted(self, path: str) -> list[Any]:
        return [body for method, p, body in self.requests if method == "POST" and p == path]


def _is_ms(value: object) -> bool:
    # Epoch milliseconds, not seconds: anything after 2001 in ms is above 1e12.
    return isinstance(value, int) and not isinstance(value, bool) and value > 1_000_000_000_000


def check_dashboard(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
        return ["body must be an object with a `dashboard` object"]
    problems = [f"unknown field {k}" for k in body if k not in DASHBOARD_KEYS]
    dash = body["dashboard"]
    if body.get("overwrite") is not True:
        problems.append("overwrite must be true to update a dashboard by uid")
    if not isinstance(dash.get("uid"), str) or not isinstance(dash.get("title"), str):
        problems.append("dashboard needs a string uid and title")
    if dash.get("id") is not None:
        problems.append("dashboard.id must be null or absent (a new id is another dashboard)")
    panels = dash.get("panels")
    if not isinstance(panels, list) or not panels:
        problems.append("dashboard.panels must be a non-empty list")
        return problems
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids) or not all(isinstance(i, int) for i in ids):
        problems.append("panel ids must be unique integers")
    if not all(isinstance(p.get("gridPos"), dict) and p.get("type") for p in panels):
        problems.append("every panel needs a type and a gridPos")
    return problems


def check_annotation(body: Any, keys: set[str], *, new: bool) -> list[str]:
    if not isinstance(body, dict):
        return ["body must be an object"]
    problems = [f"unknown field {k}" for k in body if k not in keys]
    if new and not _is_ms(body.get("time")):
        problems.append("time must be epoch milliseconds")
    if body.get("timeEnd") is not None and not _is_ms(body["timeEnd"]):
        problems.append("timeEnd must be epoch milliseconds")
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        problems.append("tags must be a list of strings")
    if new and not (isinstance(body.get("text"), str) and body["text"]):
        problems.append("text is required")
    return problems


def handler_for(grafana: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            grafana.requests.append((method, url.path, body))
            if self.headers.get("Authorization") != f"Bearer {grafana.token}":
                self._answer(401, {"message": "Invalid API key", "messageId": "api-key.invalid"})
                return
            if raw and not self.headers.get("Content-Type", "").startswith("application/json"):
                grafana.problems.append(f"{method} {url.path}: Content-Type is not JSON")
            self._route(method, url.path, parse_qs(url.query), body)

        def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
            if (method, path) == ("POST", "/api/dashboards/db"):
                self._refuse_or(check_dashboard(body), lambda: self._saved(body["dashboard"]))
            elif (method, path) == ("POST", "/api/annotations"):
                problems = check_annotation(body, ANNOTATION_KEYS, new=True)
                self._refuse_or(problems, lambda: self._added(body))
            elif (method, path) == ("GET", "/api/annotations"):
                self._answer(200, self._found(query))
            elif method == "PATCH" and path.startswith("/api/annotations/"):
                problems = check_annotation(body, PATCH_KEYS, new=False)
                self._refuse_or(problems, lambda: self._patched(int(path.rsplit("/", 1)[1]), body))
            else:
                grafana.problems.append(f"no such endpoint: {method} {path}")
                self._answer(404, {"message": "Not found"})

        def _refuse_or(self, problems: list[str], then: Any) -> None:
            if problems:
                grafana.problems.extend(problems)
                self._answer(400, {"message": "; ".join(problems)})
            else:
                then()

        def _saved(self, dash: dict[str, Any]) -> None:
            slug = dash["title"].lower().replace(" ", "-")
            self._answer(
                200,
                {
                    "id": 1,
                    "uid": dash["uid"],
                    "url": f"/d/{dash['uid']}/{slug}",
                    "status": "success",
                    "version": 1,
                    "slug": slug,
                },
            )

        def _added(self, body: dict[str, Any]) -> None:
            new_id = len(grafana.annotations) + 1
            time_ms = body["time"]
            grafana.annotations[new_id] = {
                "id": new_id,
                "time": time_ms,
                # Grafana stores a point annotation with its end at its start.
                "timeEnd": body.get("timeEnd") or time_ms,
                "tags": body.get("tags") or [],
                "text": body["text"],
                "dashboardUID": body.get("dashboardUID") or "",
                "panelId": body.get("panelId") or 0,
            }
            self._answer(200, {"message": "Annotation added", "id": new_id})

        def _found(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
            start = int(query.get("from", ["0"])[0])
            end = int(query.get("to", [str(2**62)])[0])
            tags = set(query.get("tags", []))
            return [
                a
                for a in grafana.annotations.values()
                if tags <= set(a["tags"]) and a["time"] <= end and a["timeEnd"] >= start
            ]

        def _patched(self, ann_id: int, body: dict[str, Any]) -> None:
            found = grafana.annotations.get(ann_id)
            if found is None:
                self._answer(404, {"message": "Annotation not found"})
                return
            # Grafana's PATCH keeps what is absent or empty and replaces what is sent.
            for key in ("time", "timeEnd", "text"):
                if body.get(key):
                    found[key] = body[key]
            if body.get("tags") is not None:
                found["tags"] = body["tags"]
            self._answer(200, {"message": "Annotation patched"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def incident(n: int, service: str, opened: str, resolved: str | None, title: str) -> IncidentState:
    return IncidentState(
        incident_id=f"INC-2022-{n:04d}",
        service=service,
        severity=2,
        impact="outage",
        municipalities=("Askersund",),
        planned_work=None,
        title=title,
        opened_at=at(opened),
        acknowledged_at=None,
        resolved_at=at(resolved) if resolved else None,
        outages=(),
    )


NETWORK = incident(147, "network", "2022-06-14T19:05:00+02:00", "2022-06-14T21:35:00+02:00",
                   "Avbrott i nätet vid byte av coreswitch")  # fmt: skip
ENGINE = incident(160, "process-engine", "2022-06-20T08:00:00+02:00", None,
                  "Processmotorn svarar inte")  # fmt: skip
EARLIER = incident(12, "e-services", "2022-02-01T10:00:00+01:00", "2022-02-01T11:00:00+01:00",
                   "Utanför perioden")  # fmt: skip


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'opstrack.db'}")
    init_db(engine)
    with engine.begin() as conn:
        incidents.save(conn, [NETWORK, ENGINE, EARLIER])
    yield engine
    engine.dispose()


@pytest.fixture
def opstrack(store: Engine, broker: EmbeddedBroker) -> Iterator[str]:
    """opstrack's real API on a free port, reading the incidents saved in `store`."""
    settings = Settings(
        database_url=str(store.url),
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}-",
    )
    with serving(settings) as url:
        yield url


def cli() -> typer.Typer:
    """The `opstrack` app as far as this command goes: `grafana` as a sub-app."""
    app = typer.Typer()
    app.add_typer(grafana_app, name="grafana")
    return app


def run(*args: str, token: str | None = TOKEN) -> Any:
    env = {"GRAFANA_TOKEN": token} if token else {"GRAFANA_TOKEN": ""}
    return CliRunner().invoke(cli(), ["grafana", "push", *args], env=env)


def test_push_upserts_every_dashboard_and_annotates_incidents(
    grafana: FakeGrafana, opstrack: str, store: Engine
) -> None:
    args = ["--url", grafana.url, "--annotate-incidents", "--api", opstrack, "--period", "2022-06"]
    result = run(*args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert grafana.problems == []
    assert TOKEN not in result.output

    # Every dashboard, by uid, as built (its links pointing at --api), with overwrite.
    expected = build_all(opstrack)
    posted = grafana.posted("/api/dashboards/db")
    assert [p["dashboard"] for p in posted] == list(expected.values())
    assert all(p["overwrite"] is True and "folderUid" not in p for p in posted)
    assert {p["dashboard"]["uid"] for p in posted} == {
        "opstrack-servicedesk",
        "opstrack-tickets",
        "opstrack-incidents",
        "opstrack-change-freeze",
        "opstrack-goals",
        "opstrack-pipeline",
    }
    assert f"{grafana.url}/d/opstrack-servicedesk/" in result.output

    # One annotation per incident in June 2022: opened → resolved, or a point while open.
    added = grafana.posted("/api/annotations")
    assert [(a["time"], a["timeEnd"], a["tags"], a["text"]) for a in added] == [
        (ms("2022-06-14T19:05:00+02:00"), ms("2022-06-14T21:35:00+02:00"),
         ["opstrack", "incident", "network"], "Avbrott i nätet vid byte av coreswitch"),
        (ms("2022-06-20T08:00:00+02:00"), None,
         ["opstrack", "incident", "process-engine"], "Processmotorn svarar inte"),
    ]  # fmt: skip
    assert "2 added, 0 updated, 0 already there" in result.output

    # Pushing again adds nothing; once the open incident is resolved, its mark gets an end.
    with store.begin() as conn:
        incidents.save(conn, [replace(ENGINE, resolved_at=at("2022-06-20T09:30:00+02:00"))])
    again = run(*args)
    assert again.exit_code == 0, again.output + repr(again.exception)
    assert len(grafana.posted("/api/annotations")) == 2
    assert "0 added, 1 updated, 1 already there" in again.output
    patched = [(p, b) for m, p, b in grafana.requests if m == "PATCH"]
    assert patched == [
        (
            "/api/annotations/2",
            {
                "time": ms("2022-06-20T08:00:00+02:00"),
                "timeEnd": ms("2022-06-20T09:30:00+02:00"),
                "tags": ["opstrack", "incident", "process-engine"],
                "text": "Processmotorn svarar inte",
            },
        )
    ]
    assert grafana.problems == []


def test_folder_uid_goes_with_each_dashboard(grafana: FakeGrafana) -> None:
    result = run("--url", grafana.url, "--folder-uid", "opstrack")
    assert result.exit_code == 0, result.output + repr(result.exception)
    posted = grafana.posted("/api/dashboards/db")
    assert len(posted) == 6  # servicedesk, tickets, incidents, change-freeze, goals, pipeline
    assert all(p["folderUid"] == "opstrack" for p in posted)
    assert grafana.posted("/api/annotations") == []  # not asked to annotate
    assert grafana.problems == []


def one_line_error(result: Any) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, ClientError), repr(result.exception)
    message = str(result.exception)
    assert "\n" not in message
    return message


def test_a_wrong_token_is_one_line_and_never_shown(grafana: FakeGrafana) -> None:
    grafana.token = "the-right-one"  # noqa: S105  (made up)
    message = one_line_error(run("--url", grafana.url, token="wrong-token-42"))  # noqa: S106
    assert message.startswith(f"Grafana at {grafana.url} answered 401 Unauthorized")
    assert "wrong-token-42" not in message
    # It stopped at the first refusal.
    assert [(m, p) for m, p, _ in grafana.requests] == [("POST", "/api/dashboards/db")]


def test_no_token_and_no_grafana_are_one_line() -> None:
    assert "no Grafana token" in one_line_error(run("--url", "http://127.0.0.1:9", token=None))
    port = free_port()  # nothing listens there
    message = one_line_error(run("--url", f"http://127.0.0.1:{port}"))
    assert message.startswith(f"cannot reach Grafana at http://127.0.0.1:{port}:")
    assert TOKEN not in message
