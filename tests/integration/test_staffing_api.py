"""GET /v1/staffing on the simulated seed year, and its 80-column table.

The expected calls per day are computed here from the simulated events themselves
(entry time, local weekday and hour), not from the buckets the API reads.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from services.cli_tables_staffing import staffing_table
from services.core.calendar import BusinessCalendar
from services.core.calls import CallRules, fold_calls
from services.core.roster import apply_roster, parse_roster
from services.simulate.syd_it_2022 import generate
from services.stack.broker import EmbeddedBroker
from services.store import calls
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.integration.conftest import serving
from tests.integration.test_api import running, settings_for
from tests.integration.test_cli import opstrack
from tests.integration.testclient import QUIET_TESTCLIENT
from tests.parsed import parse_call

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

CAL = BusinessCalendar()
BASIS = [date(2022, 7, 25) + timedelta(weeks=i) for i in range(6)]  # 2022-W30..W35
WEEK = [date(2022, 9, 5) + timedelta(days=i) for i in range(5)]  # 2022-W36, Mon-Fri


def expected_calls_per_day(events: list[dict[str, Any]]) -> list[float]:
    """Mean calls of the basis days of each weekday (open days only), as README defines."""
    days = [m + timedelta(days=i) for m in BASIS for i in range(7)]
    open_days = [d for d in days if CAL.is_open_day(d)]
    per_day: Counter[date] = Counter()
    for e in events:
        if e["type"] not in ("call.answered", "call.abandoned", "call.exited"):
            continue
        entered = datetime.fromisoformat(e["time"]) - timedelta(seconds=e["data"]["wait_seconds"])
        per_day[entered.astimezone(CAL.tz).date()] += 1
    out = []
    for day in WEEK:
        same = [d for d in open_days if d.weekday() == day.weekday()]
        out.append(sum(per_day[d] for d in same) / len(same))
    return out


def test_a_week_of_the_simulated_year(sqlite_url: str, broker: EmbeddedBroker) -> None:
    events = [
        e
        for e in generate(BASIS[0], BASIS[-1] + timedelta(days=6), seed=2022)
        if e["type"].startswith("call.")
    ]
    engine = make_engine(sqlite_url)
    init_db(engine)
    with engine.begin() as conn:
        calls.add_buckets(conn, fold_calls([parse_call(e) for e in events], CallRules()))
    engine.dispose()

    with running(settings_for(sqlite_url, broker.bootstrap)) as client:
        r = client.get("/v1/staffing", params={"week": "2022-W36"})
        assert r.status_code == 200, r.text
        body = r.json()
        bad = client.get("/v1/staffing", params={"week": "2022-36"})
        assert bad.status_code == 422 and "week" in bad.json()["detail"]
        tight = client.get("/v1/staffing", params={"week": "2022-W36", "target": 0.9})
        assert tight.status_code == 200

    assert body["basis"] == {
        "kind": "trailing_weeks",
        "weeks": ["2022-W30", "2022-W31", "2022-W32", "2022-W33", "2022-W34", "2022-W35"],
    }
    # The seed's talk times: their mean over the basis (every basis day is open).
    talks = [e["data"]["talk_seconds"] for e in events if e["type"] == "call.completed"]
    assert (body["aht_seconds"], body["aht_source"]) == (
        pytest.approx(sum(talks) / len(talks)),
        "talk times",
    )
    assert body["patience_seconds"] is not None and body["patience_seconds"] > 0
    days = body["days"][:5]
    assert [d["calls"] for d in days] == pytest.approx(expected_calls_per_day(events))
    for d in days:
        for iv in d["intervals"]:
            if iv["calls"]:
                assert iv["erlang_c"]["service_level"] >= 0.70
                assert iv["erlang_a"]["service_level"] >= 0.70
                assert iv["scheduled"] >= iv["erlang_c"]["agents"]
    # A stricter target needs at least as many agent-hours.
    more = tight.json()["agent_hours"]["erlang_c"]
    assert more > body["agent_hours"]["erlang_c"]

    console = Console(width=80, record=True)  # prints the week too (pytest -s shows it)
    console.print(staffing_table(body | {"queue": None}))
    text = console.export_text()
    assert "Staffing 2022-W36, all queues: 70 % within 20 s" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "16:30" in text and "Fri 09/09" in text

    # A roster of 5 agents every half hour of the week, against the plan.
    lines = ["date,start,agents"] + [
        f"{d.isoformat()},{h:02d}:{m:02d},5" for d in WEEK for h in range(8, 17) for m in (0, 30)
    ]
    rostered = apply_roster(body, parse_roster("\n".join(lines)))
    assert rostered["rostered_hours"] == 5 * 9 * 5  # 5 agents, 9 hours, 5 days
    for d in rostered["days"][:5]:
        for iv in d["intervals"]:
            # 5 heads at 30 % shrinkage: 3 on the phones.
            assert iv["rostered_on_phones"] == 3
            if iv["erlang_c"] and iv["erlang_c"]["agents"] <= 3:
                assert iv["rostered_erlang_c"]["service_level"] >= 0.70
    console = Console(width=80, record=True)
    console.print(staffing_table(rostered | {"queue": None}))
    text = console.export_text()
    assert "SL roster" in text and "6/5!" in text  # Monday 08:00 needs 6 scheduled
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_command_prints_the_week(
    sqlite_url: str, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    init_db(engine)
    events = generate(BASIS[-1], BASIS[-1] + timedelta(days=6), seed=2022)  # 2022-W35 only
    with engine.begin() as conn:
        parsed = [parse_call(e) for e in events if e["type"].startswith("call.")]
        calls.add_buckets(conn, fold_calls(parsed, CallRules()))
    engine.dispose()
    bad_roster = tmp_path / "roster.csv"
    bad_roster.write_text("date,start,agents\n2022-09-05,08:15,3\n")
    with serving(settings_for(sqlite_url, broker.bootstrap)) as url:
        ok = opstrack("staffing", "--week", "2022-W36", "--url", url)
        bad = opstrack("staffing", "--week", "2022-W36", "--roster", str(bad_roster), "--url", url)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert any("Staffing 2022-W36, all queues: 70 % within 20 s" in line for line in lines)
    assert any(line.startswith("│ 16:30") for line in lines)
    assert max(len(line) for line in lines) <= 80
    assert bad.returncode == 1
    assert "line 2: start '08:15' is not a half hour" in bad.stderr
