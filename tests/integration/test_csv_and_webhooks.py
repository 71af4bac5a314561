"""`opstrack import csv` and POST /v1/webhooks/tickets/{source} against the real app.

The app (services.api.main.create_app, with the webhooks router mounted as main.py
mounts its routers) runs in uvicorn on a free port with a real store (SQLite and
PostgreSQL) and the real embedded broker; the CSV command talks to it over HTTP like
a user's would, and the outbox is read through a second engine.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from services.client import ClientError
from services.commands.csv_import import import_csv
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.store.outbox import OUTBOX
from tests.conftest import AUTH
from tests.integration.conftest import serving
from tests.unit.test_webhook_mapping import glpi_payload, zammad_payload

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TICKETS_CSV = REPO / "examples" / "csv" / "tickets.csv"
TICKETS_MAPPING = REPO / "config" / "mappings" / "tickets-generic.yaml"


@pytest.fixture
def settings(db_url: str, broker: EmbeddedBroker) -> Settings:
    return Settings(
        database_url=db_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}-",
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[str]:
    with serving(settings) as url:
        yield url


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        # By event id, from the payload: rows are keyed by (source, id).
        rows = conn.execute(select(OUTBOX))
        return {orjson.loads(row.payload)["id"]: dict(row._mapping) for row in rows}


def opstrack_import(*args: str) -> Any:
    """The command as `opstrack import csv …` runs it once services/cli.py wires it in."""
    root = typer.Typer()
    group = typer.Typer()
    root.add_typer(group, name="import")
    group.command("csv")(import_csv)
    return CliRunner().invoke(root, ["import", "csv", *args])


# --- CSV -------------------------------------------------------------------------------------


def test_csv_import_then_reimport_counts_nothing_twice(
    api: str, engine: Engine, settings: Settings
) -> None:
    args = ("--kind", "tickets", str(TICKETS_CSV), "--mapping", str(TICKETS_MAPPING), "--url", api)
    first = opstrack_import(*args)
    assert first.exit_code == 0, first.output
    assert "imported 4 rows as 11 events: 11 accepted, 0 duplicates" in first.stdout

    again = opstrack_import(*args, "--batch", "3")
    assert again.exit_code == 0, again.output
    assert "imported 4 rows as 11 events: 0 accepted, 11 duplicates" in again.stdout

    rows = stored(engine)
    assert len(rows) == 11
    row = rows["servicedesk-SD-2022-004714-resolved"]
    assert (row["type"], row["topic"], row["key"]) == (
        "ticket.resolved",
        f"{settings.topic_prefix}tickets",
        "SD-2022-004714",
    )
    assert orjson.loads(row["payload"])["time"] == "2022-10-30T04:15:00+01:00"


def test_csv_with_one_bad_row_sends_nothing(api: str, engine: Engine, tmp_path: Path) -> None:
    lines = TICKETS_CSV.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(";Hög;", ";Brådskande;")  # line 4: a priority the map lacks
    bad = tmp_path / "tickets.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = opstrack_import(
        "--kind", "tickets", str(bad), "--mapping", str(TICKETS_MAPPING), "--url", api
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, ClientError)  # services.cli.main prints it, exits 1
    assert str(result.exception).splitlines() == [
        "1 problem(s) on 1 line(s); nothing was sent:",
        "line 4: Prioritet: priority: 'Brådskande' is not in the map "
        "(known: 'Kritisk', 'Hög', 'Normal', 'Låg')",
    ]
    assert stored(engine) == {}


def test_csv_kind_must_match_the_mapping(api: str) -> None:
    result = opstrack_import(
        "--kind", "calls", str(TICKETS_CSV), "--mapping", str(TICKETS_MAPPING), "--url", api
    )
    assert result.exit_code == 1
    assert "maps tickets, not calls" in str(result.exception)


# --- webhooks --------------------------------------------------------------------------------


def post_webhook(api: str, source: str, body: object) -> httpx.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        f"{api}/v1/webhooks/tickets/{source}",
        content=raw,
        headers={"content-type": "application/json", **AUTH},
        timeout=30,
    )


def test_zammad_webhook_stores_the_mapped_events_once(
    api: str, engine: Engine, settings: Settings
) -> None:
    r = post_webhook(api, "zammad", zammad_payload("pending reminder"))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "conflicts": []}
    rows = stored(engine)
    assert sorted(rows) == [
        "zammad-10081-20201113T143435.282000Z-created",
        "zammad-10081-20201113T143435.333000Z-paused",
    ]
    assert {(row["topic"], row["key"]) for row in rows.values()} == {
        (f"{settings.topic_prefix}tickets", "zammad-10081")
    }

    # Zammad retries a delivery it thinks failed: acknowledged, not counted again.
    assert post_webhook(api, "zammad", zammad_payload("pending reminder")).json() == {
        "accepted": 0,
        "duplicates": 2,
        "conflicts": [],
    }
    # The ticket is closed later: only the close is new.
    closed = post_webhook(api, "zammad", zammad_payload("closed", "2020-11-16T10:00:00Z"))
    assert closed.json() == {"accepted": 1, "duplicates": 1, "conflicts": []}
    assert len(stored(engine)) == 3


def test_glpi_webhook_stores_the_mapped_events(api: str, engine: Engine) -> None:
    r = post_webhook(api, "glpi", glpi_payload(5))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "conflicts": []}
    payloads = [orjson.loads(row["payload"]) for row in stored(engine).values()]
    assert sorted(p["type"] for p in payloads) == ["ticket.created", "ticket.resolved"]
    assert {p["data"]["municipality"] for p in payloads} == {"Askersund"}


def test_webhook_problems_are_422_and_nothing_is_stored(api: str, engine: Engine) -> None:
    payload = zammad_payload("escalated")
    r = post_webhook(api, "zammad", payload)
    assert r.status_code == 422, r.text
    body = r.json()
    assert "nothing was stored" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["ticket.state"]

    # Mapped, but refused by the event contract: a category longer than 200 characters.
    payload = zammad_payload("new")
    payload["ticket"]["category"] = "x" * 201
    r = post_webhook(api, "zammad", payload)
    assert r.status_code == 422, r.text
    assert {(e["index"], e["field"]) for e in r.json()["errors"]} == {(0, "data.category")}

    # A NUL in a payload field that becomes an event field: named, never stored (issue 12).
    payload = zammad_payload("new")
    payload["ticket"]["category"] = "konto\u0000"
    r = post_webhook(api, "zammad", payload)
    assert r.status_code == 422, r.text
    assert {(e["index"], e["field"]) for e in r.json()["errors"]} == {(0, "data.category")}
    assert stored(engine) == {}


@pytest.mark.parametrize(
    ("source", "body", "status", "says"),
    [
        (
            "servicenow",
            {"ticket": {}},
            404,
            "unknown webhook source 'servicenow'; known: glpi, zammad",
        ),
        ("sla", {"ticket": {}}, 404, "known: glpi, zammad"),  # config/sla.yaml is no source
        ("Zammad", {"ticket": {}}, 404, "known: glpi, zammad"),
        ("zammad", b"{not json", 400, "malformed JSON"),
        ("zammad", [zammad_payload()], 400, "must be a JSON object"),
    ],
)
def test_webhook_refusals(
    api: str, engine: Engine, source: str, body: object, status: int, says: str
) -> None:
    r = post_webhook(api, source, body)
    assert r.status_code == status, r.text
    assert says in r.json()["detail"]
    assert stored(engine) == {}


def test_a_broken_mapping_file_is_500_naming_it(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "webhooks" / "broken.yaml").write_text("source: /x\nstate: s\n", encoding="utf-8")
    with serving(settings.model_copy(update={"config_dir": config})) as url:
        r = post_webhook(url, "broken", {"s": "new"})
    assert r.status_code == 500, r.text
    assert r.json()["detail"].endswith("broken.yaml: time: Field required")
    assert stored(engine) == {}
