"""Access control on ingest, on SQLite and PostgreSQL: 401, 403, 429, webhook secrets,
the token commands, auth_read and the dev token. Real app, real store, no mocks."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from services.api.main import create_app
from services.client import post_batches
from services.core.auth import token_hash
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.store import tokens
from services.store.outbox import OUTBOX
from services.store.tokens import TOKENS
from tests.builders import call_data, envelope, incident_data, ticket_data
from tests.e2e.stack import opstrack
from tests.integration.conftest import serving
from tests.integration.testclient import QUIET_TESTCLIENT, TestClient
from tests.unit.test_alertmanager_mapping import alert, payload
from tests.unit.test_ticket_webhooks_mapping import glpi_payload, zammad_payload

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

BATCH = "application/cloudevents-batch+json"


def event(n: int, kind: str = "call.queued") -> dict[str, Any]:
    family = kind.split(".", 1)[0]
    data: dict[str, Any]
    if family == "call":
        data = call_data(f"c{n}", "q", "Laxå")
    elif family == "ticket":
        data = ticket_data(f"t{n}", "it", 3, "Laxå")
    else:
        data = incident_data(f"i{n}", "network", severity=2)
    return envelope(kind, data, id=f"{kind}-{n}")


def settings_for(db_url: str, broker: EmbeddedBroker, **overrides: Any) -> Settings:
    # dev_token=None: only the tokens a test creates exist.
    fields: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap": broker.bootstrap,
        "topic_prefix": f"t{uuid.uuid4().hex[:12]}-",
        "dev_token": None,
    }
    return Settings(**(fields | overrides))


@contextmanager
def running(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def new_token(
    engine: Engine,
    source: str,
    scopes: str,
    rate: float | None = None,
    event_sources: tuple[str, ...] | None = ("*",),
) -> str:
    """A token; by default it may send any event source (the tests of scopes and rates
    post events of source `test`). event_sources=None: the default, its own name."""
    with engine.begin() as conn:
        return tokens.create(conn, source, tuple(scopes.split(",")), rate, None, event_sources)[1]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def post_events(client: TestClient, events: list[Any], token: str | None) -> Any:
    headers = {"content-type": BATCH} | (bearer(token) if token else {})
    return client.post("/v1/events", content=orjson.dumps(events), headers=headers)


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        # The event ids, from the payloads: rows are keyed by (source, id).
        return {orjson.loads(p)["id"] for p in conn.execute(select(OUTBOX.c.payload)).scalars()}


@pytest.fixture
def settings(db_url: str, broker: EmbeddedBroker) -> Settings:
    return settings_for(db_url, broker)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with running(settings) as c:
        yield c


# --- 401 / 403 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer "},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer ops_not-a-token-anyone-created"},
    ],
    ids=["none", "empty", "basic", "unknown"],
)
def test_events_without_a_valid_token_are_401_and_not_stored(
    client: TestClient, engine: Engine, headers: dict[str, str]
) -> None:
    r = client.post(
        "/v1/events", content=orjson.dumps([event(1)]), headers={"content-type": BATCH} | headers
    )
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "bearer token" in r.json()["detail"]
    assert stored_ids(engine) == set()


def test_events_outside_the_scopes_are_403_naming_each_type_and_nothing_is_stored(
    client: TestClient, engine: Engine
) -> None:
    token = new_token(engine, "asterisk", "call.*,ticket.created")
    batch = [
        event(1, "call.queued"),
        event(2, "ticket.created"),
        event(3, "incident.opened"),
        event(4, "ticket.closed"),
        event(5, "incident.opened"),
    ]
    r = post_events(client, batch, token)
    assert r.status_code == 403, r.text
    assert r.json()["forbidden_types"] == ["incident.opened", "ticket.closed"]
    assert "'asterisk'" in r.json()["detail"]
    assert stored_ids(engine) == set()

    r = post_events(client, batch[:2], token)
    assert r.status_code == 202, r.text
    assert stored_ids(engine) == {"call.queued-1", "ticket.created-2"}


def test_the_store_keeps_only_the_hash_and_the_logs_never_show_the_token(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    token = new_token(engine, "asterisk", "call.*")
    with caplog.at_level(logging.DEBUG):
        assert post_events(client, [event(1)], token).status_code == 202
        assert post_events(client, [event(2, "ticket.created")], token).status_code == 403
        assert post_events(client, [event(3)], token + "x").status_code == 401
    with engine.connect() as conn:
        [row] = conn.execute(select(TOKENS)).all()
    values = [str(v) for v in row._mapping.values()]
    assert not any(token in v for v in values)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.last_used_at_us is not None  # the request marked it used
    assert token not in caplog.text


# --- 429 / 413 -----------------------------------------------------------------------------


def test_over_the_source_rate_is_429_with_retry_after(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    # 0.01 events/s and a burst of 1000 s' worth: 10 events at once, then one per 100 s,
    # so the few seconds this test takes refill nothing that matters.
    settings = settings_for(db_url, broker, rate_burst_seconds=1000)
    a = new_token(engine, "asterisk", "call.*", rate=0.01)
    b = new_token(engine, "asterisk", "call.*", rate=0.01)  # the same source: the same bucket
    other = new_token(engine, "zammad", "call.*", rate=0.01)
    with running(settings) as client:
        assert post_events(client, [event(n) for n in range(10)], a).status_code == 202
        r = post_events(client, [event(n) for n in range(10, 15)], b)
        assert r.status_code == 429, r.text
        # 5 events missing at 0.01/s: 500 s, less what refilled while the test ran.
        assert 490 <= int(r.headers["retry-after"]) <= 500
        assert "'asterisk'" in r.json()["detail"]
        # A batch over the burst could never pass: 413, not a Retry-After to wait for.
        r = post_events(client, [event(n) for n in range(20, 31)], other)
        assert r.status_code == 413, r.text
        assert "burst of 10" in r.json()["detail"]
        assert post_events(client, [event(n) for n in range(20, 30)], other).status_code == 202
    assert stored_ids(engine) == {f"call.queued-{n}" for n in [*range(10), *range(20, 30)]}


def test_without_a_token_rate_the_settings_rate_applies(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    settings = settings_for(db_url, broker, rate_limit=0.01, rate_burst_seconds=300)
    token = new_token(engine, "asterisk", "call.*")
    with running(settings) as client:
        assert post_events(client, [event(1), event(2), event(3)], token).status_code == 202
        r = post_events(client, [event(4)], token)
        assert r.status_code == 429, r.text
        assert 90 <= int(r.headers["retry-after"]) <= 100  # 1 event at 0.01/s


def test_the_cli_waits_out_a_429_and_every_batch_gets_in(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    # 20 events/s with a burst of 1 s: each batch of 20 after the first waits for a
    # refill; the client waits the Retry-After and sends the batch again.
    settings = settings_for(db_url, broker, rate_burst_seconds=1)
    token = new_token(engine, "asterisk", "call.*", rate=20)
    with serving(settings) as url:
        sent = post_batches(url, [event(n) for n in range(60)], 20, token=token)
    assert (sent.accepted, sent.duplicates) == (60, 0)
    assert stored_ids(engine) == {f"call.queued-{n}" for n in range(60)}


def test_the_default_rate_limit_is_below_one_api_process_and_fits_the_largest_batch() -> None:
    s = Settings()
    # README's benchmark: one API process took 7,149 events/s from one sender.
    assert s.rate_limit <= 7_149 / 3
    assert s.rate_limit * s.rate_burst_seconds >= s.max_batch_events


# --- webhooks -------------------------------------------------------------------------------


def post_webhook(client: TestClient, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        f"/v1/webhooks/{path}", content=body, headers={"content-type": "application/json"} | headers
    )


def test_ticket_webhooks_take_a_bearer_token_within_scope(
    client: TestClient, engine: Engine
) -> None:
    body = orjson.dumps(glpi_payload())
    assert post_webhook(client, "tickets/glpi", body, {}).status_code == 401
    calls_only = new_token(engine, "glpi", "call.*")
    r = post_webhook(client, "tickets/glpi", body, bearer(calls_only))
    assert r.status_code == 403, r.text
    assert all(t.startswith("ticket.") for t in r.json()["forbidden_types"])
    assert stored_ids(engine) == set()
    r = post_webhook(client, "tickets/glpi", body, bearer(new_token(engine, "glpi", "ticket.*")))
    assert r.status_code == 202, r.text
    assert stored_ids(engine)


def sign(secret: bytes, body: bytes) -> str:
    return "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()


def test_zammad_may_sign_with_its_shared_secret_instead(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    settings = settings_for(db_url, broker, webhook_secrets={"zammad": "s3cret"})
    body = orjson.dumps(zammad_payload())
    with running(settings) as client:
        r = post_webhook(client, "tickets/zammad", body, {})
        assert r.status_code == 401, r.text
        assert "X-Hub-Signature" in r.json()["detail"]
        wrong = sign(b"guess", body)
        r = post_webhook(client, "tickets/zammad", body, {"x-hub-signature": wrong})
        assert r.status_code == 401, r.text
        tampered = sign(b"s3cret", body + b" ")
        r = post_webhook(client, "tickets/zammad", body, {"x-hub-signature": tampered})
        assert r.status_code == 401, r.text
        assert stored_ids(engine) == set()
        # GLPI has no secret configured: a signature is no way in for it.
        glpi = orjson.dumps(glpi_payload())
        r = post_webhook(client, "tickets/glpi", glpi, {"x-hub-signature": sign(b"s3cret", glpi)})
        assert r.status_code == 401, r.text

        r = post_webhook(client, "tickets/zammad", body, {"x-hub-signature": sign(b"s3cret", body)})
        assert r.status_code == 202, r.text
        assert stored_ids(engine)


def test_webhook_body_over_the_limit_is_413(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    settings = settings_for(db_url, broker, max_body_bytes=1024)
    token = new_token(engine, "glpi", "ticket.*")
    body = orjson.dumps(glpi_payload() | {"padding": "x" * 2000})
    with running(settings) as client:
        r = post_webhook(client, "tickets/glpi", body, bearer(token))
        assert r.status_code == 413, r.text
        assert "1024" in r.json()["detail"]
    assert stored_ids(engine) == set()


def test_alertmanager_needs_a_token_for_incidents(client: TestClient, engine: Engine) -> None:
    body = orjson.dumps(payload(alert()))
    assert post_webhook(client, "alertmanager", body, {}).status_code == 401
    tickets_only = new_token(engine, "alertmanager", "ticket.*")
    r = post_webhook(client, "alertmanager", body, bearer(tickets_only))
    assert r.status_code == 403, r.text
    assert r.json()["forbidden_types"] == ["incident.opened"]
    incidents = new_token(engine, "alertmanager", "incident.*")
    r = post_webhook(client, "alertmanager", body, bearer(incidents))
    assert r.status_code == 202, r.text
    assert len(stored_ids(engine)) == 1


# --- a source speaks only for itself ----------------------------------------------------------


def from_source(e: dict[str, Any], source: str, **changes: Any) -> dict[str, Any]:
    return e | {"source": source} | changes


def test_a_token_sends_only_events_of_its_own_source_or_those_it_was_given(
    client: TestClient, engine: Engine
) -> None:
    slow = new_token(engine, "slowsrc", "call.*", event_sources=None)
    forged = from_source(event(1), "pbx/askersund")
    r = post_events(client, [event(2) | {"source": "slowsrc/x"}, forged], slow)
    assert r.status_code == 403, r.text
    assert r.json()["forbidden_sources"] == ["pbx/askersund"]
    assert "source" in r.json()["detail"]
    assert stored_ids(engine) == set()  # the whole batch, as for scopes
    # Its own name, and what lies below it, it may send.
    r = post_events(
        client, [from_source(event(3), "slowsrc"), from_source(event(4), "slowsrc/a")], slow
    )
    assert (r.status_code, r.json()["accepted"]) == (202, 2), r.text
    # A token given pbx/* speaks for every queue of the PBX, and only for them.
    pbx = new_token(engine, "asterisk", "call.*", event_sources=("pbx/*",))
    assert post_events(client, [forged], pbx).status_code == 202
    assert post_events(client, [from_source(event(5), "slowsrc")], pbx).status_code == 403


def test_a_forged_event_cannot_block_the_real_one(client: TestClient, engine: Engine) -> None:
    # The attack of the issue: post the id the real importer will use, first. The
    # attacker's token may send only its own source, so it is refused; and were it
    # sent under its own source, the real event's (source, id) is still another one.
    attacker = new_token(engine, "slowsrc", "call.*", event_sources=None)
    real = from_source(event(1), "pbx/askersund")
    assert post_events(client, [real], attacker).status_code == 403
    assert post_events(client, [from_source(real, "slowsrc")], attacker).status_code == 202
    pbx = new_token(engine, "asterisk", "call.*", event_sources=("pbx/*",))
    r = post_events(client, [real], pbx)
    assert (r.status_code, r.json()["accepted"], r.json()["duplicates"]) == (202, 1, 0), r.text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == 2


def test_same_id_same_content_is_a_duplicate_other_content_a_conflict(
    client: TestClient, engine: Engine
) -> None:
    token = new_token(engine, "pbx", "call.*,ticket.*", event_sources=("pbx/*",))
    first = from_source(event(1), "pbx/a")
    assert post_events(client, [first], token).json()["accepted"] == 1
    changed = first | {"data": first["data"] | {"queue": "other"}}
    other_source = from_source(event(1), "pbx/b")  # the same id, another source: new
    r = post_events(client, [first, changed, other_source], token)
    assert r.status_code == 202, r.text
    assert r.json() == {
        "accepted": 1,
        "duplicates": 1,
        "conflicts": [{"source": "pbx/a", "id": first["id"]}],
    }
    # Within one batch too: the first of a (source, id) is stored, a changed repeat conflicts.
    t = from_source(event(9, "ticket.created"), "pbx/a")
    t2 = t | {"data": t["data"] | {"priority": 1}}
    assert post_events(client, [t, t2], token).json() == {
        "accepted": 1,
        "duplicates": 0,
        "conflicts": [{"source": "pbx/a", "id": t["id"]}],
    }
    with engine.connect() as conn:
        payloads = [orjson.loads(p) for p in conn.execute(select(OUTBOX.c.payload)).scalars()]
    stored = {(p["source"], p["id"]): p for p in payloads}
    assert len(stored) == 3
    assert stored[("pbx/a", first["id"])]["data"]["queue"] == "q"  # the first one stays
    assert stored[("pbx/a", t["id"])]["data"]["priority"] == 3


def test_opstrack_s_own_sla_events_need_a_scope_that_names_them(
    client: TestClient, engine: Engine
) -> None:
    breach = envelope(
        "sla.breached",
        ticket_data("T1", "it", 3, "Laxå")
        | {"target_hours": 24, "elapsed_hours": 30, "clock": "calendar"},
        id="sla.breached:T1",
        source="opstrack/processor",
    )
    everything = new_token(engine, "admin", "*")
    r = post_events(client, [breach], everything)
    assert r.status_code == 403, r.text
    assert r.json()["forbidden_types"] == ["sla.breached"]
    granted = new_token(engine, "sla-import", "sla.*")
    assert post_events(client, [breach], granted).status_code == 202


def test_a_webhook_takes_only_its_own_source_s_token(client: TestClient, engine: Engine) -> None:
    zammad = orjson.dumps(zammad_payload())
    glpi_token = new_token(engine, "glpi", "ticket.*", event_sources=None)
    r = post_webhook(client, "tickets/zammad", zammad, bearer(glpi_token))
    assert r.status_code == 403, r.text
    assert "zammad" in r.json()["detail"]
    assert stored_ids(engine) == set()
    assert (
        post_webhook(
            client, "tickets/glpi", orjson.dumps(glpi_payload()), bearer(glpi_token)
        ).status_code
        == 202
    )
    # A token may be given other webhooks by name.
    both = new_token(engine, "tickets", "ticket.*", event_sources=("glpi", "zammad"))
    assert post_webhook(client, "tickets/zammad", zammad, bearer(both)).status_code == 202
    am = orjson.dumps(payload(alert()))
    r = post_webhook(
        client,
        "alertmanager",
        am,
        bearer(new_token(engine, "grafana", "incident.*", event_sources=None)),
    )
    assert r.status_code == 403, r.text


# --- reads, the dev token ---------------------------------------------------------------------


@pytest.mark.parametrize("auth_read", [False, True])
def test_reads_are_open_unless_auth_read(
    db_url: str, broker: EmbeddedBroker, engine: Engine, auth_read: bool
) -> None:
    settings = settings_for(db_url, broker, auth_read=auth_read)
    token = new_token(engine, "grafana", "call.*")
    paths = ["/v1/sli/calls?period=2022", "/v1/sli/tickets?period=2022", "/v1/goals"]
    with running(settings) as client:
        for path in paths:
            anonymous = client.get(path)
            assert anonymous.status_code == (401 if auth_read else 200), (path, anonymous.text)
            assert client.get(path, headers=bearer(token)).status_code == 200, path
            assert client.get(path, headers=bearer("nope")).status_code == (
                401 if auth_read else 200
            )
        assert client.get("/healthz").status_code == 200  # health stays open


def test_the_dev_token_is_made_sure_of_once(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    settings = settings_for(db_url, broker, dev_token="my-dev-token")  # noqa: S106 - a test value
    for _ in range(2):  # a restart adds no second row
        with running(settings) as client:
            assert post_events(client, [event(1)], "my-dev-token").status_code == 202
    with engine.connect() as conn:
        rows = conn.execute(select(TOKENS.c.source, TOKENS.c.scopes, TOKENS.c.token_hash)).all()
    assert [tuple(r) for r in rows] == [("dev", "*", token_hash("my-dev-token"))]


# --- the token commands, and the CLI's client ---------------------------------------------------


def test_token_create_use_list_revoke(client: TestClient, engine: Engine, db_url: str) -> None:
    made = opstrack(
        "token", "create", "--source", "asterisk", "--scope", "call.*",
        "--event-source", "test,pbx/*", "--db", db_url,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("ops_") and "\n" not in token
    assert post_events(client, [event(1)], token).status_code == 202
    assert post_events(client, [event(3) | {"source": "asterisk"}], token).status_code == 403

    listed = opstrack("token", "list", "--db", db_url)
    assert listed.returncode == 0, listed.stderr
    assert "asterisk" in listed.stdout and "call.*" in listed.stdout
    assert token not in listed.stdout + listed.stderr + made.stderr
    with engine.connect() as conn:
        (token_id, sources) = conn.execute(select(TOKENS.c.id, TOKENS.c.event_sources)).one()
    assert sources == "test,pbx/*"
    assert token_id in listed.stdout

    gone = opstrack("token", "revoke", token_id, "--db", db_url)
    assert gone.returncode == 0, gone.stderr
    assert post_events(client, [event(2)], token).status_code == 401
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TOKENS)).scalar_one() == 0

    again = opstrack("token", "revoke", token_id, "--db", db_url)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"error: no token {token_id} (see `opstrack token list`)"
    ]


def test_token_create_names_a_bad_scope(db_url: str) -> None:
    r = opstrack("token", "create", "--source", "x", "--scope", "cal.*", "--db", db_url)
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert "scope 'cal.*' matches no event type" in line


def test_the_cli_sends_opstrack_api_token_and_says_401_and_403_in_one_line(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    token = new_token(engine, "cli", "ticket.*")
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_bytes(b"\n".join(orjson.dumps(event(n)) for n in range(3)) + b"\n")
    with serving(settings) as url:
        base = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
        refused = opstrack(
            "emit", str(ndjson), "--url", url, env=base | {"OPSTRACK_API_TOKEN": "nope"}
        )
        assert refused.returncode == 1
        [line] = refused.stderr.strip().splitlines()
        assert (
            line.startswith("error: POST /v1/events answered 401") and "OPSTRACK_API_TOKEN" in line
        )

        outside = opstrack(
            "emit", str(ndjson), "--url", url, env=base | {"OPSTRACK_API_TOKEN": token}
        )
        assert outside.returncode == 1
        [line] = outside.stderr.strip().splitlines()
        assert "answered 403" in line and "call.queued" in line

        good = new_token(engine, "cli", "call.*")
        sent = opstrack("emit", str(ndjson), "--url", url, env=base | {"OPSTRACK_API_TOKEN": good})
        assert sent.returncode == 0, sent.stderr
        assert "3 accepted" in sent.stdout


def test_the_openapi_document_marks_ingest_as_needing_a_bearer_token(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    writes = [
        ("/v1/events", "post"),
        ("/v1/webhooks/tickets/{source}", "post"),
        ("/v1/webhooks/alertmanager", "post"),
    ]
    for path, method in writes:
        operation = doc["paths"][path][method]
        assert operation["security"] == [{"HTTPBearer": []}], path
        assert {"401", "403", "429"} <= set(operation["responses"]), path
    assert "security" not in doc["paths"]["/v1/sli/calls"]["get"]  # open unless auth_read
