"""The history panels' SQL, as Grafana sends it, on real PostgreSQL with known answers.

Every target on the `opstrack-postgres` data source is taken from the committed
dashboard JSON, expanded by tests/grafana_sql.py the way Grafana expands it,
and run as the read-only role that deploy/postgres/initdb/10-grafana-reader.sh creates,
on a store filled through the worker's own apply functions. The expected figures are
worked out by hand below, from the times and waits written in each event.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from services.core.calendar import BusinessCalendar
from services.core.calls import CallRules
from services.observability.dashboard_history import POSTGRES_UID
from services.observability.dashboards import DASHBOARDS_DIR
from services.processor.calls import apply_batch
from services.processor.entities import apply_entity_batch
from services.processor.reducers import reducers
from services.store.db import make_engine
from services.store.migrate import init_db
from tests import builders
from tests.grafana_sql import ALL, Variable, grafana_sql

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
READER_SCRIPT = ROOT / "deploy/postgres/initdb/10-grafana-reader.sh"
TZ = ZoneInfo("Europe/Stockholm")
# The servicedesk's variables as the dashboard defines them: multi-value, All = `.*`.
EVERYTHING = {
    "queue": Variable(ALL, all_value=".*"),
    "municipality": Variable(ALL, all_value=".*"),
}


def local(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=TZ)


def epoch(t: datetime) -> float:
    return t.timestamp()


# --- the panels' SQL -------------------------------------------------------------------


def history_sql() -> dict[str, str]:
    """Panel title → rawSql of every target on the PostgreSQL data source."""
    found: dict[str, str] = {}

    def collect(panel: dict[str, Any]) -> None:
        for target in panel.get("targets") or []:
            if (target.get("datasource") or {}).get("uid") == POSTGRES_UID:
                assert panel["title"] not in found, panel["title"]
                found[panel["title"]] = target["rawSql"]
        for inner in panel.get("panels") or []:
            collect(inner)

    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            collect(panel)
    return found


SQL = history_sql()


def test_the_history_panels_are_all_found() -> None:
    assert set(SQL) == {
        "Calls offered per hour by queue, by event time",
        "Service level per day, by event time",
        "Abandon rate per day, by event time",
        "Average speed of answer per day, by event time",
        "Tickets resolved per day, by event time",
        "Handling time per day, by event time",
        "Incidents opened per day by service, by event time",
        "Downtime per day by service, by event time",
    }
    # Newer Grafana strips SQL comments before expanding macros (stripSQLComments in
    # macros.go); with none, every version sends the same text.
    assert not any("--" in sql or "/*" in sql for sql in SQL.values())


# --- the store, and Grafana's read-only role on it -------------------------------------


@pytest.fixture
def store(pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    """(owner, reader): the reader made by the initdb script before the tables exist."""
    schema = re.search(r"search_path%3D(\w+)", pg_url)
    assert schema is not None
    url = make_url(pg_url)
    reader = f"grafana_{uuid.uuid4().hex[:10]}"
    password = secrets.token_urlsafe(12) + "'\"$"  # quotes too: psql variables carry them
    env = {
        **os.environ,
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_DB": url.database or "test",
        "GRAFANA_DB_USER": reader,
        "GRAFANA_DB_PASSWORD": password,
        "GRAFANA_DB_SCHEMA": schema.group(1),
    }
    made = subprocess.run(
        ["sh", str(READER_SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    owner = make_engine(pg_url)
    admin = create_engine(url.set(query={}))
    try:
        init_db(owner)  # after the role: the default privileges cover tables made later
        as_reader = url.set(username=reader, password=password)
        reading = make_engine(as_reader.render_as_string(hide_password=False))
        try:
            yield owner, reading
        finally:
            reading.dispose()
    finally:
        owner.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{reader}"'))
            conn.execute(text(f'DROP ROLE "{reader}"'))
        admin.dispose()


def run(
    reader: Engine,
    title: str,
    start: datetime,
    end: datetime,
    variables: dict[str, Variable] | None = None,
) -> list[dict[str, Any]]:
    sql = grafana_sql(SQL[title], variables or EVERYTHING, start, end)
    assert not re.search(r"\$[\w{]", sql), f"left unexpanded: {sql}"
    with reader.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql))]


def at(value: Any) -> float:
    """A row's time as epoch seconds, whether a timestamptz or epoch seconds."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


def points(rows: list[dict[str, Any]], column: str) -> dict[Any, float]:
    """(time[, metric]) → value, for the rows' `column`."""
    out = {}
    for r in rows:
        key = (at(r["time"]), r["metric"]) if "metric" in r else at(r["time"])
        out[key] = float(r[column])
    return out


# --- events --------------------------------------------------------------------------------


def call(kind: str, cid: str, queue: str, muni: str, entered: str, wait: float) -> bytes:
    """A call that entered the queue at `entered` (Stockholm) and ended `wait` s later."""
    when = local(entered) + timedelta(seconds=wait)
    data: dict[str, Any] = {
        "call_id": cid,
        "queue": queue,
        "municipality": muni,
        "wait_seconds": wait,
    }
    if kind == "exited":
        data["reason"] = "timeout"
    return envelope(f"call.{kind}", f"{cid}:{kind}", when, data)


def envelope(kind: str, eid: str, when: datetime, data: dict[str, Any]) -> bytes:
    return builders.encoded(builders.envelope(kind, data, id=eid, source="/test", time=when))


DESK, SWITCH = "Servicedesk", "Växel (IT)"  # parentheses: escaped by the regex format
ASK, LAX = "Askersund", "Laxå"

# Mon 2022-03-14 is CET (UTC+1); Mon 2022-03-28 is CEST (UTC+2), the day after the change.
CALLS = [
    call("answered", "c1", DESK, ASK, "2022-03-14 09:05:00", 10),  # within 20 and 60
    call("answered", "c2", DESK, ASK, "2022-03-14 09:10:00", 30),  # within 60
    call("answered", "c3", DESK, ASK, "2022-03-14 09:20:00", 90),  # neither
    call("abandoned", "c4", DESK, ASK, "2022-03-14 09:30:00", 3),  # short abandon (< 5 s)
    call("abandoned", "c5", DESK, ASK, "2022-03-14 09:40:00", 40),  # abandoned
    call("answered", "c6", DESK, ASK, "2022-03-14 10:00:30", 15),
    call("answered", "c7", DESK, LAX, "2022-03-14 09:50:00", 20),  # 20 s is within 20
    call("answered", "c8", SWITCH, ASK, "2022-03-14 09:15:00", 5),
    call("exited", "c9", SWITCH, ASK, "2022-03-14 11:00:00", 120),
    # Entered 09:59:50, answered 10:00:10: counted in the hour it entered the queue.
    call("answered", "c10", DESK, ASK, "2022-03-14 09:59:50", 20),
    call("answered", "d1", DESK, ASK, "2022-03-28 08:30:00", 70),
    call("abandoned", "d2", DESK, ASK, "2022-03-28 08:40:00", 10),
    # 00:30 in Stockholm is 22:30 UTC on the 27th: a Stockholm day, not a UTC day.
    call("answered", "d3", DESK, ASK, "2022-03-28 00:30:00", 5),
]
MARCH = (local("2022-03-01 00:00"), local("2022-04-01 00:00") - timedelta(milliseconds=1))
DAY_14, DAY_28 = epoch(local("2022-03-14 00:00")), epoch(local("2022-03-28 00:00"))


def ticket(kind: str, tid: str, when: str) -> bytes:
    data = {"ticket_id": tid, "category": "Behörighet", "priority": 3, "municipality": ASK}
    return envelope(f"ticket.{kind}", f"{tid}:{kind}", local(when), data)


TICKETS = [
    *(ticket("created", "T1", "2022-03-14 08:00"), ticket("resolved", "T1", "2022-03-14 12:00")),
    *(ticket("created", "T2", "2022-03-11 10:00"), ticket("resolved", "T2", "2022-03-14 16:00")),
    *(ticket("created", "T3", "2022-03-14 09:00"), ticket("resolved", "T3", "2022-03-14 11:00")),
    # Resolved 00:30 on the 28th in Stockholm (22:30 UTC on the 27th), after 1.5 h.
    *(ticket("created", "T4", "2022-03-27 23:00"), ticket("resolved", "T4", "2022-03-28 00:30")),
    ticket("created", "T5", "2022-03-28 08:00"),  # open: not resolved, not counted
]


def incident(kind: str, iid: str, service: str, when: str) -> bytes:
    data: dict[str, Any] = {"incident_id": iid, "service": service}
    if kind == "opened":
        data |= {"severity": 2, "impact": "outage"}
    return envelope(f"incident.{kind}", f"{iid}:{kind}", local(when), data)


INCIDENTS = [
    incident("opened", "I1", "E-post", "2022-03-14 09:00"),
    incident("resolved", "I1", "E-post", "2022-03-14 11:00"),
    # Overlaps I1: the service was down 09:00-12:00, 3 h, not 2 h + 2 h.
    incident("opened", "I2", "E-post", "2022-03-14 10:00"),
    incident("resolved", "I2", "E-post", "2022-03-14 12:00"),
    # Across midnight: one hour on each day.
    incident("opened", "I3", "Nät", "2022-03-27 23:00"),
    incident("resolved", "I3", "Nät", "2022-03-28 01:00"),
    # Never resolved: down until now, so for all of the 31st.
    incident("opened", "I4", "Telefoni", "2022-03-30 22:00"),
]


@pytest.fixture
def loaded(store: tuple[Engine, Engine]) -> Engine:
    owner, reader = store
    assert apply_batch(owner, CallRules(), CALLS).invalid == []
    ents = reducers(BusinessCalendar())
    assert apply_entity_batch(owner, ents, TICKETS).invalid == []
    assert apply_entity_batch(owner, ents, INCIDENTS).invalid == []
    return reader


# --- the servicedesk --------------------------------------------------------------------


def hour(text_: str) -> float:
    return epoch(local(text_))


def test_calls_offered_per_hour_by_queue(loaded: Engine) -> None:
    rows = run(loaded, "Calls offered per hour by queue, by event time", *MARCH)
    assert points(rows, "offered") == {
        # c1-c5, c7, c10 entered 09:00-10:00; c6 at 10:00:30.
        (hour("2022-03-14 09:00"), DESK): 7,
        (hour("2022-03-14 10:00"), DESK): 1,
        (hour("2022-03-28 00:00"), DESK): 1,
        (hour("2022-03-28 08:00"), DESK): 2,
        (hour("2022-03-14 09:00"), SWITCH): 1,
        (hour("2022-03-14 11:00"), SWITCH): 1,
    }
    assert [at(r["time"]) for r in rows] == sorted(at(r["time"]) for r in rows)


def test_service_level_abandon_rate_and_asa_per_day(loaded: Engine) -> None:
    sl = run(loaded, "Service level per day, by event time", *MARCH)
    # 14th: offered 10 (c1-c10), 1 short abandon (c4): 9 counted. Within 20 s: c1, c6,
    # c7, c8, c10 = 5; within 60 s: those and c2 = 6. 28th: 3 counted, d3 only within both.
    assert points(sl, "within 20 s") == pytest.approx({DAY_14: 5 / 9, DAY_28: 1 / 3})
    assert points(sl, "within 60 s") == pytest.approx({DAY_14: 6 / 9, DAY_28: 1 / 3})
    abandon = run(loaded, "Abandon rate per day, by event time", *MARCH)
    # 14th: c4 and c5 abandoned, c4 short: 1 / 9. 28th: d2 (10 s, not short): 1 / 3.
    column = "abandoned (short abandons left out)"
    assert points(abandon, column) == pytest.approx({DAY_14: 1 / 9, DAY_28: 1 / 3})
    asa = run(loaded, "Average speed of answer per day, by event time", *MARCH)
    # 14th: answered c1 10, c2 30, c3 90, c6 15, c7 20, c8 5, c10 20 = 190 s / 7.
    assert points(asa, "ASA") == pytest.approx({DAY_14: 190 / 7, DAY_28: (70 + 5) / 2})


def test_the_queue_and_municipality_variables_filter(loaded: Engine) -> None:
    desk = {"queue": Variable([DESK], all_value=".*"), "municipality": EVERYTHING["municipality"]}
    sl = run(loaded, "Service level per day, by event time", *MARCH, desk)
    # Servicedesk on the 14th: c1-c7 and c10 = 8 offered, c4 short: 7 counted;
    # within 20 s c1, c6, c7, c10; within 60 s those and c2.
    assert points(sl, "within 20 s") == pytest.approx({DAY_14: 4 / 7, DAY_28: 1 / 3})
    assert points(sl, "within 60 s") == pytest.approx({DAY_14: 5 / 7, DAY_28: 1 / 3})

    switch = {"queue": Variable([SWITCH], all_value=".*"), "municipality": desk["municipality"]}
    offered = run(loaded, "Calls offered per hour by queue, by event time", *MARCH, switch)
    assert {m for _, m in points(offered, "offered")} == {SWITCH}
    # c8 answered within 20 s; c9 left after 120 s: 1 of 2.
    sl = run(loaded, "Service level per day, by event time", *MARCH, switch)
    assert points(sl, "within 20 s") == pytest.approx({DAY_14: 1 / 2})

    both = {"queue": Variable([DESK, SWITCH], all_value=".*")}
    laxa = both | {"municipality": Variable([LAX], all_value=".*")}
    asa = run(loaded, "Average speed of answer per day, by event time", *MARCH, laxa)
    assert points(asa, "ASA") == {DAY_14: 20.0}  # c7, the only call from Laxå
    everyone = both | {"municipality": Variable([ASK, LAX], all_value=".*")}
    assert run(loaded, "Service level per day, by event time", *MARCH, everyone) == run(
        loaded, "Service level per day, by event time", *MARCH
    )
    nobody = both | {"municipality": Variable(["Hallsberg"], all_value=".*")}
    # No calls: no point at all, not a service level of 0.
    assert run(loaded, "Service level per day, by event time", *MARCH, nobody) == []


def test_the_time_range_bounds_every_figure(loaded: Engine) -> None:
    first_half = (local("2022-03-01 00:00"), local("2022-03-20 00:00"))
    rows = run(loaded, "Service level per day, by event time", *first_half)
    assert [at(r["time"]) for r in rows] == [DAY_14]
    rows = run(loaded, "Tickets resolved per day, by event time", *first_half)
    assert points(rows, "resolved") == {DAY_14: 3}


# --- tickets and incidents -------------------------------------------------------------


def test_tickets_resolved_and_handling_time_per_day(loaded: Engine) -> None:
    resolved = run(loaded, "Tickets resolved per day, by event time", *MARCH)
    assert points(resolved, "resolved") == {DAY_14: 3, DAY_28: 1}
    handling = run(loaded, "Handling time per day, by event time", *MARCH)
    # 14th: T1 4 h, T2 Fri 10:00 → Mon 16:00 = 78 h, T3 2 h: mean 28 h; p90 of
    # [2, 4, 78] between ranks: 4 + 0.8 * (78 - 4) = 63.2 h. 28th: T4 alone, 1.5 h.
    assert points(handling, "mean") == pytest.approx({DAY_14: 28.0, DAY_28: 1.5})
    assert points(handling, "p90") == pytest.approx({DAY_14: 63.2, DAY_28: 1.5})


def test_incidents_opened_and_downtime_per_day(loaded: Engine) -> None:
    opened = run(loaded, "Incidents opened per day by service, by event time", *MARCH)
    day_27 = epoch(local("2022-03-27 00:00"))
    day_30, day_31 = epoch(local("2022-03-30 00:00")), epoch(local("2022-03-31 00:00"))
    assert points(opened, "opened") == {
        (DAY_14, "E-post"): 2,
        (day_27, "Nät"): 1,
        (day_30, "Telefoni"): 1,
    }
    rows = run(loaded, "Downtime per day by service, by event time", *MARCH)
    down = points(rows, "downtime")
    # Every March day for each service down some time in the range; 0 on the other days.
    days = [epoch(local(f"2022-03-{d:02d} 00:00")) for d in range(1, 32)]
    assert set(down) == {(d, s) for d in days for s in ("E-post", "Nät", "Telefoni")}
    assert {k: v for k, v in down.items() if v} == pytest.approx(
        {
            (DAY_14, "E-post"): 3 * 3600,
            (day_27, "Nät"): 3600,  # 23:00-24:00 on the 27th (a 23-hour day: clocks went forward)
            (DAY_28, "Nät"): 3600,
            (day_30, "Telefoni"): 2 * 3600,
            # To the end of the range, 1 ms before midnight.
            (day_31, "Telefoni"): 24 * 3600 - 0.001,
        }
    )
    # Only the part inside the range counts, however long ago the outage began; a
    # range ending at midnight has no bar for the day that starts there.
    april = (local("2022-04-02 06:00"), local("2022-04-04 00:00"))
    rows = run(loaded, "Downtime per day by service, by event time", *april)
    assert points(rows, "downtime") == {
        (epoch(local("2022-04-02 00:00")), "Telefoni"): 18 * 3600,
        (epoch(local("2022-04-03 00:00")), "Telefoni"): 24 * 3600,
    }


# --- by event time, and every panel runs ------------------------------------------------


def test_a_call_from_last_month_draws_at_last_months_time(store: tuple[Engine, Engine]) -> None:
    owner, reader = store
    now = datetime.now(TZ)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    tenth = (month_start - timedelta(days=1)).replace(day=10, hour=10, minute=15)
    # Applied now, dated the 10th of last month.
    entered = tenth.strftime("%Y-%m-%d %H:%M:%S")
    applied = apply_batch(owner, CallRules(), [call("answered", "late", DESK, ASK, entered, 8)])
    assert len(applied.applied) == 1
    last_90_days = (now - timedelta(days=90), now)
    rows = run(reader, "Calls offered per hour by queue, by event time", *last_90_days)
    assert points(rows, "offered") == {(epoch(tenth.replace(minute=0)), DESK): 1}
    (day,) = run(reader, "Service level per day, by event time", *last_90_days)
    assert at(day["time"]) == epoch(tenth.replace(hour=0, minute=0))
    assert day["within 20 s"] == 1.0
    # Nothing at the time it was applied.
    this_hour = (now - timedelta(hours=1), now)
    assert run(reader, "Calls offered per hour by queue, by event time", *this_hour) == []


@pytest.mark.parametrize("title", sorted(SQL))
def test_every_history_panel_runs_on_the_store(loaded: Engine, title: str) -> None:
    variables = {
        "queue": Variable([SWITCH, DESK], all_value=".*"),
        "municipality": Variable(ALL, all_value=".*"),
    }
    rows = run(loaded, title, *MARCH, variables)
    assert rows, title
    assert all(r["time"] is not None for r in rows)
    # Grafana's time series format wants the rows in time order.
    assert [at(r["time"]) for r in rows] == sorted(at(r["time"]) for r in rows)


def test_the_reader_cannot_write(loaded: Engine) -> None:
    with pytest.raises(DBAPIError, match="read-only transaction"), loaded.begin() as conn:
        conn.execute(text("DELETE FROM call_buckets"))
    with loaded.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "30s"


def test_the_range_is_passed_as_grafana_formats_it() -> None:
    """The expanded text itself, for one query: what the store receives."""
    start = datetime(2022, 3, 1, tzinfo=UTC)
    end = datetime(2022, 3, 31, 21, 59, 59, 999_000, tzinfo=UTC)
    variables = {
        "queue": Variable([DESK, SWITCH], all_value=".*"),
        "municipality": Variable(ALL, all_value=".*"),
    }
    sql = grafana_sql(SQL["Calls offered per hour by queue, by event time"], variables, start, end)
    assert 'floor((hour)/3600)*3600 AS "time"' in sql
    assert "hour >= 1646092800 AND hour <= 1648763999" in sql
    assert r"queue ~ '^(Servicedesk|Växel \(IT\))$'" in sql
    assert "municipality ~ '^.*$'" in sql
    downtime = grafana_sql(SQL["Downtime per day by service, by event time"], {}, start, end)
    assert "'2022-03-01T00:00:00Z'::timestamptz" in downtime
    assert "'2022-03-31T21:59:59.999Z'::timestamptz" in downtime
