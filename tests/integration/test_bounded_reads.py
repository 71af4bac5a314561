"""Bounded reads (issue 12): periods within 1900..2999 and the span limit on every read
endpoint, RFC 3339 times in answers, and the goal report's cache.

The app runs with its real store (SQLite and PostgreSQL) and the real embedded broker.
Whether a generated period is valid is worked out from how it was generated (its
years and its span), not by the parser under test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from services.processor.entities import apply_entity_batch
from services.processor.reducers import reducers
from services.settings import Settings
from tests.integration.test_api import running, settings_for
from tests.integration.testclient import TestClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

REPO = Path(__file__).resolve().parents[2]
FLOOR, CEILING, SPAN_YEARS = 1900, 2999, 10  # the limits, the default span
# Any date-time in an answer; its offset must be Z or whole minutes (RFC 3339).
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?([^\"]*)")
RFC3339_OFFSET = re.compile(r"Z|[+-]\d{2}:\d{2}")


@pytest.fixture
def client(db_url: str, broker: Any) -> Iterator[TestClient]:
    with running(settings_for(db_url, broker.bootstrap, report_cache_seconds=3600)) as c:
        yield c


def period_endpoints(client: TestClient) -> list[str]:
    """Every GET operation of the API that takes a `period`, from its own OpenAPI."""
    paths = client.get("/openapi.json").json()["paths"]
    return sorted(
        path
        for path, ops in paths.items()
        if any(p["name"] == "period" for p in ops.get("get", {}).get("parameters", []))
    )


def read(client: TestClient, path: str, period: str) -> Any:
    params = {"period": period}
    if path == "/v1/goals/report":
        params["format"] = "json"
    return client.get(path, params=params)


def assert_rfc3339_times(body: bytes) -> None:
    for m in DATETIME.finditer(body.decode()):
        assert RFC3339_OFFSET.match(m[1]), m[0]


# --- the period forms, each with whether it is valid ------------------------------------

years = st.integers(min_value=0, max_value=9999)


@st.composite
def periods(draw: st.DrawFn) -> tuple[str, bool]:
    form = draw(st.sampled_from(["year", "part", "month", "week", "day", "range"]))
    y = draw(years)
    in_range = FLOOR <= y <= CEILING
    if form == "year":
        return f"{y:04}", in_range
    if form == "part":
        letter, n = draw(st.sampled_from([("T", 3), ("Q", 4)]))
        return f"{y:04}-{letter}{draw(st.integers(1, n))}", in_range
    if form == "month":
        return f"{y:04}-{draw(st.integers(1, 12)):02}", in_range
    if form == "week":
        # Weeks 01..52 exist in every ISO year.
        return f"{y:04}-W{draw(st.integers(1, 52)):02}", in_range
    day = date(max(y, 1), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    if form == "day":
        return day.isoformat(), in_range and y >= 1
    # A range from `day`, either short or around the span limit.
    days = draw(st.integers(0, 400) | st.integers(3640, 3660) | st.integers(0, 400_000))
    if day.toordinal() + days > date.max.toordinal():
        days = date.max.toordinal() - day.toordinal()
    last = day + timedelta(days=days)
    # day <= 28: no 29 Feb. Past year 9999 `date` cannot say it, and every date is within.
    limit_year = day.year + SPAN_YEARS
    within = limit_year > date.max.year or last < date(limit_year, day.month, day.day)
    valid = in_range and y >= 1 and FLOOR <= last.year <= CEILING and within
    return f"{day.isoformat()}..{last.isoformat()}", valid


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=periods())
def test_every_read_endpoint_bounds_its_period(client: TestClient, case: tuple[str, bool]) -> None:
    period, valid = case
    endpoints = period_endpoints(client)
    for path in endpoints:
        r = read(client, path, period)
        assert r.status_code < 500, (path, period, r.text[:300])
        if valid:
            assert r.status_code == 200, (path, period, r.text[:300])
            assert_rfc3339_times(r.content)
        else:
            assert r.status_code == 422, (path, period, r.text[:300])
            assert r.json()["detail"].startswith("period: "), r.text


def test_the_read_endpoints_that_take_a_period(client: TestClient) -> None:
    assert period_endpoints(client) == [
        "/v1/changes/violations",
        "/v1/goals/report",
        "/v1/sli/calls",
        "/v1/sli/changes",
        "/v1/sli/incidents",
        "/v1/sli/tickets",
    ]


@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("0001", "year must be 1900..2999, got 0001"),
        ("1899", "year must be 1900..2999, got 1899"),
        ("3000", "year must be 1900..2999, got 3000"),
        ("0001-01-01..9998-12-31", "year must be 1900..2999, got 0001"),
        ("1990-01-01..2010-12-31", "spans more than 10 years"),
    ],
)
def test_out_of_range_is_422_naming_period_everywhere(
    client: TestClient, period: str, says: str
) -> None:
    for path in period_endpoints(client):
        r = read(client, path, period)
        assert r.status_code == 422, (path, r.text)
        detail = r.json()["detail"]
        assert detail.startswith("period: ") and says in detail, (path, detail)


def test_1900_answers_with_whole_minute_offsets(client: TestClient) -> None:
    r = client.get("/v1/sli/incidents", params={"period": "1900"})
    assert r.status_code == 200, r.text
    assert r.json()["period"] == {
        "label": "1900",
        "from": "1900-01-01T00:00:00+01:00",
        "to": "1901-01-01T00:00:00+01:00",
    }


def test_the_span_limit_is_a_setting(db_url: str, broker: Any) -> None:
    config = settings_for(db_url, broker.bootstrap, max_period_years=20)
    with running(config) as c:
        assert (
            c.get("/v1/sli/calls", params={"period": "1990-01-01..2009-12-31"}).status_code == 200
        )
        r = c.get("/v1/sli/calls", params={"period": "1990-01-01..2010-01-01"})
        assert r.status_code == 422 and "more than 20 years" in r.json()["detail"]
    with pytest.raises(ValueError, match="max_period_years"):
        Settings(max_period_years=0)


# --- the goal report's cache -------------------------------------------------------------


def incident_opened() -> bytes:
    return (REPO / "schemas/examples/incident.opened.json").read_bytes()


def test_the_report_is_cached_and_a_new_event_renews_it(client: TestClient, engine: Engine) -> None:
    params = {"period": "2022-06", "format": "json", "lang": "en"}
    first = client.get("/v1/goals/report", params=params)
    assert first.status_code == 200, first.text
    again = client.get("/v1/goals/report", params=params)
    # The same bytes: generated_at (to the microsecond) shows it was not rendered again.
    assert again.content == first.content
    assert client.get("/v1/goals/report", params=params | {"lang": "sv"}).content != first.content
    assert orjson.loads(first.content)["summary"]["major_incidents"] == []

    # The worker applies an event, by the same code path the worker runs.
    result = apply_entity_batch(engine, reducers(None), [incident_opened()])
    assert len(result.applied) == 1

    renewed = client.get("/v1/goals/report", params=params)
    assert renewed.status_code == 200
    majors = orjson.loads(renewed.content)["summary"]["major_incidents"]
    assert [i["incident_id"] for i in majors] == ["INC-2022-0147"]
    # XLSX is cached by the same key, to the byte.
    xlsx = params | {"format": "xlsx"}
    assert client.get("/v1/goals/report", params=xlsx).content == (
        client.get("/v1/goals/report", params=xlsx).content
    )
