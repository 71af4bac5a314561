"""The status page and its feeds from opstrack's real app and store (SQLite and
PostgreSQL): no token even where reads need one, per municipality, feeds valid per
their standards (parsed by feedparser and icalendar, checked structurally against
RFC 4287 and Statuspage's summary shape), conditional GETs, and the delay notice
when the pipeline is behind.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import feedparser
import icalendar
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, inspect, text, update
from sqlmodel import SQLModel

from services import config
from services.api.main import create_app
from services.core.calendar import BusinessCalendar
from services.core.goals import Indicator
from services.core.periods import STOCKHOLM, parse_period
from services.core.sla import SlaTargets
from services.ingest.kafka import ensure_topics
from services.ingest.pipeline_watch import PipelineWatch
from services.processor.clock import tick
from services.readmodel.goals import _sli_series, days_of, summary
from services.settings import CONFIG_DIR, Settings
from services.stack.broker import EmbeddedBroker
from services.store import changes, incidents, outbox
from services.store.db import make_engine
from services.store.migrate import init_db
from services.store.outbox import OUTBOX
from tests.conftest import AUTH
from tests.integration.testclient import QUIET_TESTCLIENT, TestClient
from tests.status.seed import INTERNAL_VALUES, seed
from tests.unit.test_status import incident

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

ATOM = "{http://www.w3.org/2005/Atom}"
H = timedelta(hours=1)
D = timedelta(days=1)
SLUGS = ["askersund", "hallsberg", "laxa", "lekeberg"]


@pytest.fixture
def client(db_url: str, broker: EmbeddedBroker, engine: Engine) -> Iterator[TestClient]:
    seed(engine, datetime.now(UTC))
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    # Reads need a token here: the status page must not.
    settings = Settings(
        database_url=db_url, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix, auth_read=True
    )
    ensure_topics(broker.bootstrap, settings.topic_partitions())
    with TestClient(create_app(settings)) as c:
        yield c


def test_page_needs_no_token_and_shows_no_internal_field(client: TestClient) -> None:
    assert client.get("/v1/incidents").status_code == 401  # reads are closed ...
    for path in ["/status", "/status?lang=en", *(f"/status/{s}" for s in SLUGS)]:
        r = client.get(path)  # ... the status page is not
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("text/html")
        for value in INTERNAL_VALUES:
            assert value not in r.text, (path, value)
    by_name = client.get("/status/Laxå")  # the name works as well as the slug
    assert (
        by_name.status_code == 200
        and "<title>Driftinformation för e-tjänster \u2013 Laxå" in by_name.text
    )
    assert client.get("/status/nowhere").status_code == 404
    assert client.get("/status?lang=de").status_code == 422


def test_per_municipality_states(client: TestClient) -> None:
    # Seed: the process engine is down in Laxå (both e-services depend on it), the
    # application e-service is slow everywhere, planned server work has a notice.
    everywhere = client.get("/status/summary.json").json()
    laxa = client.get("/status/laxa/summary.json").json()
    askersund = client.get("/status/askersund/summary.json").json()
    status = {c["id"]: c["status"] for c in laxa["components"]}
    assert status == {"e-tjanst-ansokan": "major_outage", "ekonomiskt-bistand": "major_outage"}
    status = {c["id"]: c["status"] for c in askersund["components"]}
    assert status == {
        "e-tjanst-ansokan": "degraded_performance",
        "ekonomiskt-bistand": "operational",
    }
    # Everywhere: an outage in one of four municipalities is Statuspage's partial outage.
    assert {c["status"] for c in everywhere["components"]} == {"partial_outage"}
    assert laxa["status"]["indicator"] == "major"
    assert askersund["status"]["indicator"] == "minor"
    assert len(laxa["incidents"]) == 2 and len(askersund["incidents"]) == 1
    assert [m["status"] for m in askersund["scheduled_maintenances"]] == ["scheduled"]
    names = {c["name"] for c in everywhere["components"]}
    assert names == {"Ansökningar via e-tjänst", "Ansök om ekonomiskt bistånd"}
    english = client.get("/status/summary.json?lang=en").json()
    assert {c["name"] for c in english["components"]} == {
        "Online applications",
        "Apply for financial assistance",
    }


def test_summary_has_statuspage_shape(client: TestClient) -> None:
    body = client.get("/status/laxa/summary.json").json()
    # The keys of Statuspage's /api/v2/summary.json, as its documentation lists them.
    assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert {"id", "name", "url", "time_zone", "updated_at"} <= set(body["page"])
    for c in body["components"]:
        assert {"id", "name", "status", "created_at", "updated_at", "position", "group_id"} <= set(
            c
        )
        assert c["status"] in {
            "operational",
            "degraded_performance",
            "partial_outage",
            "major_outage",
            "under_maintenance",
        }
    for i in body["incidents"] + body["scheduled_maintenances"]:
        assert {"id", "name", "status", "impact", "shortlink", "incident_updates"} <= set(i)
        assert i["impact"] in {"none", "minor", "major", "critical", "maintenance"}
        for u in i["incident_updates"]:
            assert {"id", "status", "body", "created_at", "display_at"} <= set(u)
    for m in body["scheduled_maintenances"]:
        assert m["status"] in {"scheduled", "in_progress", "verifying", "completed"}
        assert m["scheduled_for"] < m["scheduled_until"]
    assert body["status"]["indicator"] in {"none", "minor", "major", "critical"}
    bodies = [u["body"] for i in body["incidents"] for u in i["incident_updates"]]
    assert any("Det går inte att skicka in ansökningar" in b for b in bodies)
    # The slow-down has no notice: the configured default text.
    assert any("Vi har en störning som påverkar e-tjänsten" in b for b in bodies)


@pytest.mark.parametrize("where", ["", *(f"/{s}" for s in SLUGS)])
def test_atom_feed_is_valid(client: TestClient, where: str) -> None:
    r = client.get(f"/status{where}/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    root = ET.fromstring(r.content)  # noqa: S314 (our own feed, parsed in a test)
    assert root.tag == f"{ATOM}feed"
    # RFC 4287 4.1.1: a feed has exactly one id, title and updated, an author (or every
    # entry has one), and a rel="self" link is recommended; 4.1.2: every entry has
    # exactly one id, title and updated; ids are IRIs; dates are RFC 3339.
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{tag}")) == 1, tag
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert any(link.get("rel") == "self" for link in root.findall(f"{ATOM}link"))
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{tag}")) == 1, tag
        ids.append(entry.findtext(f"{ATOM}id", ""))
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated", "").replace("Z", "+00:00"))
    assert len(ids) == len(set(ids)) and all(i.startswith("urn:uuid:") for i in ids)
    # Laxå: its engine outage, the slow-down and the planned work; Hallsberg also the
    # network outage of five days ago; Askersund and Lekeberg neither.
    expected = {"": 4, "/laxa": 3, "/hallsberg": 3, "/askersund": 2, "/lekeberg": 2}
    assert len(parsed.entries) == expected[where]
    assert all(v not in r.text for v in INTERNAL_VALUES)


@pytest.mark.parametrize("where", ["", *(f"/{s}" for s in SLUGS)])
def test_ical_feed_is_valid(client: TestClient, where: str) -> None:
    r = client.get(f"/status{where}/planned.ics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    assert cal["VERSION"] == "2.0" and "PRODID" in cal
    events = cal.walk("VEVENT")
    # Only the server work has a notice; the quiet change to the engine is not public.
    assert len(events) == 1
    ev = events[0]
    for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
        assert prop in ev, prop
    assert ev.decoded("DTEND") - ev.decoded("DTSTART") == timedelta(hours=4)
    assert "underhåll av servrarna" in str(ev["DESCRIPTION"])
    # RFC 5545 3.1: CRLF line ends, no line over 75 octets.
    lines = r.content.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in r.content.replace(b"\r\n", b"")
    assert all(v not in r.text for v in INTERNAL_VALUES)


def test_feeds_are_advertised_on_the_page(client: TestClient) -> None:
    html = client.get("/status/laxa?lang=en").text
    for kind, href in [
        ("application/atom+xml", "/status/laxa/feed.atom?lang=en"),
        ("text/calendar", "/status/laxa/planned.ics?lang=en"),
        ("application/json", "/status/laxa/summary.json?lang=en"),
    ]:
        assert f'<link rel="alternate" type="{kind}"' in html
        assert f'href="{href}"' in html
        assert client.get(href).status_code == 200


@pytest.mark.parametrize("feed", ["summary.json", "feed.atom", "planned.ics"])
def test_conditional_get(client: TestClient, engine: Engine, feed: str) -> None:
    first = client.get(f"/status/laxa/{feed}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get(f"/status/laxa/{feed}", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    since = client.get(f"/status/laxa/{feed}", headers={"if-modified-since": modified})
    assert since.status_code == 304
    older = parsedate_to_datetime(modified) - timedelta(seconds=1)
    stale = client.get(
        f"/status/laxa/{feed}",
        headers={"if-modified-since": older.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )
    assert stale.status_code == 200
    other = client.get(f"/status/laxa/{feed}", headers={"if-none-match": '"nope"'})
    assert other.status_code == 200 and other.content == first.content
    # A new incident in Laxå changes the summary and the Atom feed (not the calendar).
    with engine.begin() as conn:
        new = incident(
            "INC-NEW-1", "ekonomiskt-bistand", datetime.now(UTC), municipalities=["Laxå"]
        )
        incidents.save(conn, [new])
    after = client.get(f"/status/laxa/{feed}", headers={"if-none-match": etag})
    assert after.status_code == (304 if feed == "planned.ics" else 200)


def test_delayed_when_an_incident_event_waits(client: TestClient, engine: Engine) -> None:
    app = client.app
    watch = app.state.pipeline_watch  # type: ignore[attr-defined]
    settings: Settings = app.state.settings  # type: ignore[attr-defined]
    # The slow-down everywhere is over: nothing is wrong in Lekeberg.
    now = datetime.now(UTC)
    with engine.begin() as conn:
        over = incident("INC-SEED-ANSOKAN-0815", "e-tjanst-ansokan", now - H / 2, now, "degraded")
        incidents.save(conn, [over])
    watch.refresh()
    page = client.get("/status/lekeberg?lang=en").text
    assert "Information may be delayed" not in page
    assert "All e-services are operational" in page
    # An incident event accepted ten minutes ago that no worker has applied.
    with engine.begin() as conn:
        outbox.add(
            conn,
            [
                outbox.NewEvent(
                    id="waiting-1",
                    type="incident.updated",
                    topic=settings.topic("incidents"),
                    key="INC-X",
                    event_time_ms=0,
                    payload="{}",
                )
            ],
        )
        ten_min_ago = int((datetime.now(UTC) - timedelta(minutes=10)).timestamp() * 1e6)
        waiting = update(OUTBOX).where(OUTBOX.c.id == "waiting-1")
        conn.execute(waiting.values(received_at_us=ten_min_ago, published=True))
    # The running watch scans only what arrived since its last look (less a settling
    # margin), so an event back-dated here is seen by a watch starting afresh, as after
    # a restart of the API; the page reads whichever watch the app holds.
    fresh = PipelineWatch(engine, settings)
    fresh.refresh()
    app.state.pipeline_watch = fresh  # type: ignore[attr-defined]
    page = client.get("/status/lekeberg?lang=en").text
    assert "Information may be delayed" in page
    # Lekeberg has nothing wrong in the store, but the page must not say so.
    assert "All e-services are operational" not in page
    assert "cannot tell for certain" in page
    summary = client.get("/status/lekeberg/summary.json?lang=en").json()
    assert "Information may be delayed" in summary["status"]["description"]


def test_an_old_store_gains_the_notice_columns(db_url: str) -> None:
    """A store from before public notices: its incidents and changes read back with none."""
    old = make_engine(db_url)
    SQLModel.metadata.create_all(old)
    now = datetime.now(UTC)
    with old.begin() as conn:
        for table in ("incidents", "changes"):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN notice"))
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN notice_at_us"))
        conn.execute(
            text(
                "INSERT INTO incidents (incident_id, service, municipalities, outages, opened_at_us)"
                " VALUES ('INC-OLD', 'processmotor', '[]', '[]', :t)"
            ),
            {"t": int(now.timestamp() * 1e6)},
        )
    init_db(old)
    init_db(old)  # a second start changes nothing
    with old.connect() as conn:
        for table in ("incidents", "changes"):
            columns = {c["name"] for c in inspect(conn).get_columns(table)}
            assert {"notice", "notice_at_us"} <= columns
        (state,) = incidents.unresolved(conn)
        assert (state.incident_id, state.notice, state.notice_at) == ("INC-OLD", None, None)
        assert changes.with_notice(conn, 0) == []
    old.dispose()


def test_goal_report_summary_uses_public_names(engine: Engine) -> None:
    """The report's major incidents carry the catalog's public names of what they hit."""
    now = datetime.now(UTC)
    seed(engine, now)
    day = parse_period((now - H).astimezone(STOCKHOLM).date().isoformat(), 10)
    with engine.connect() as conn:
        found = summary(conn, config.catalog(CONFIG_DIR), day)
    (engine_down,) = [i for i in found.major_incidents if i.service == "processmotor"]
    assert engine_down.affected == ["e-tjanst-ansokan", "ekonomiskt-bistand"]
    assert engine_down.shown("e-tjanst-ansokan", "en") == "Online applications"
    assert engine_down.shown("ekonomiskt-bistand", "sv") == "Ansök om ekonomiskt bistånd"
    # No public name: the catalog's own name (an id the catalog does not know stays an id).
    assert engine_down.shown("processmotor", "sv") == "Processmotor för e-tjänster"


def test_sli_downtime_per_municipality(client: TestClient) -> None:
    now = datetime.now(UTC).astimezone(STOCKHOLM)
    period = f"{(now - 7 * D).date().isoformat()}..{now.date().isoformat()}"

    def downtime(municipality: str) -> float:
        r = client.get(
            "/v1/sli/incidents",
            params={"period": period, "service": "e-tjanst-ansokan", "municipality": municipality},
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        (row,) = r.json()["rows"]
        return float(row["downtime_minutes"])

    # Seed: the engine has been down in Laxå for an hour (still); the network was down
    # in Hallsberg for two hours five days ago; nothing touched Askersund.
    assert 60 <= downtime("Laxå") < 61
    assert downtime("Hallsberg") == 120
    assert downtime("Askersund") == 0


def test_the_worker_exports_the_public_state_per_municipality(engine: Engine) -> None:
    """opstrack_eservice_status, for the incidents dashboard's status history: the
    level as each municipality's page shows it (0 operational ... 3 outage)."""
    now = datetime.now(UTC)
    seed(engine, now)
    catalog = config.catalog(CONFIG_DIR)

    def level(service: str, municipality: str) -> float | None:
        labels = {"service": service, "municipality": municipality}
        return REGISTRY.get_sample_value("opstrack_eservice_status", labels)

    settings = Settings(topic_prefix=f"t{uuid.uuid4().hex[:8]}-")

    def tick_at(t: datetime) -> None:
        labels = config.labels(settings.config_dir)
        tick(engine, settings, BusinessCalendar(), SlaTargets(hours={}), catalog, labels, t)

    tick_at(now)
    # The engine is down in Laxå (outage), the application e-service is slow everywhere.
    assert level("e-tjanst-ansokan", "Laxå") == 3
    assert level("ekonomiskt-bistand", "Laxå") == 3
    assert level("e-tjanst-ansokan", "Askersund") == 2
    assert level("ekonomiskt-bistand", "Askersund") == 0
    # During the planned server work (in three days), the rest is maintenance.
    tick_at(now + 3 * D + H)
    assert level("ekonomiskt-bistand", "Askersund") == 1
    assert level("ekonomiskt-bistand", "Laxå") == 3


def test_goal_availability_per_municipality(engine: Engine) -> None:
    """An availability goal narrowed to a municipality counts only what touched it."""
    now = datetime.now(UTC)
    seed(engine, now)
    week = parse_period(
        f"{(now - 7 * D).astimezone(STOCKHOLM).date()}..{now.astimezone(STOCKHOLM).date()}"
    )

    def availability(municipality: str) -> float | None:
        ind = Indicator.model_validate(
            {
                "id": "tillganglighet",
                "title": {"sv": "Tillgänglighet"},
                "unit": "percent",
                "source": {
                    "sli": "incidents.availability",
                    "filters": {"service": "e-tjanst-ansokan", "municipality": municipality},
                },
                "target": {"rule": "at_least", "value": 0.99},
            }
        )
        with engine.connect() as conn:
            series = _sli_series(
                conn, ind, week, days_of(week, now), config.catalog(CONFIG_DIR), now, (20,)
            )
        return series[-1].value

    # The network was down two hours in Hallsberg five days ago; the engine has been down
    # in Laxå for the last hour; nothing touched Askersund (its slow-down is no downtime).
    # The report's availability so far is over the days up to today's end (the
    # period's end here): 1 - downtime / that length.
    elapsed = (week.end - week.start).total_seconds()
    assert availability("Askersund") == 1.0
    assert availability("Hallsberg") == pytest.approx(1 - 2 * 3600 / elapsed)
    assert availability("Laxå") == pytest.approx(1 - 3600 / elapsed)
