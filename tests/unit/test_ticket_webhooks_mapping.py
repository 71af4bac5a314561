"""Tests for services.sources.ticket_webhooks.mapping with the shipped specs in config/webhooks/.

The payloads follow the documented formats: Zammad's default webhook payload (admin
documentation, "Webhook Payload": {"ticket": {...}, "article": {...}}, timestamps in
UTC) and GLPI's ({"event": …, "item": <the ticket as the high-level API gives it>},
src/Webhook.php), plus GLPI's flat database fields (status 1-6, solvedate, closedate)
as payload templates give them. The expected events are worked out by hand.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.events import parse_event
from services.core.tickets import ticket_state
from services.sources.mapping import MappingError
from services.sources.ticket_webhooks.mapping import (
    WebhookSpec,
    load_webhook_spec,
    lookup,
    map_payload,
)
from tests.parsed import parse_ticket

REPO = Path(__file__).resolve().parents[2]


def shipped(source: str) -> WebhookSpec:
    path = REPO / "config" / "webhooks" / f"{source}.yaml"
    return load_webhook_spec(yaml.safe_load(path.read_text(encoding="utf-8")))


ZAMMAD = shipped("zammad")
GLPI = shipped("glpi")


def zammad_payload(
    state: str = "open", updated_at: str = "2020-11-13T14:34:35.333Z"
) -> dict[str, Any]:
    """The documented sample, shortened: the user objects keep their shape, not their data."""
    user = {"id": 3, "active": True, "roles": ["Agent"], "organization_id": 2}
    return {
        "ticket": {
            "article_count": 1,
            "article_ids": [104],
            "create_article_sender": "Customer",
            "create_article_type": "phone",
            "created_at": "2020-11-13T14:34:35.282Z",
            "created_by": user,
            "created_by_id": 3,
            "customer": user | {"id": 8, "roles": ["Customer"]},
            "customer_id": 8,
            "group": {"active": True, "id": 3, "name": "Service Desk", "user_ids": [3, 4, 5]},
            "group_id": 3,
            "id": 81,
            "last_contact_at": "2020-11-13T14:34:35.318Z",
            "number": "10081",
            "organization": {"id": 3, "name": "Awesome Customer Inc.", "shared": True},
            "organization_id": 3,
            "owner": user | {"id": 5},
            "owner_id": 5,
            "priority": {"active": True, "default_create": True, "id": 2, "name": "2 normal"},
            "priority_id": 2,
            "state": state,
            "state_id": 2,
            "title": "Webhook-Test",
            "updated_at": updated_at,
            "updated_by": user,
            "updated_by_id": 3,
        },
        "article": {"id": 104, "ticket_id": 81, "type": "phone", "internal": False},
    }


def glpi_payload(status: int = 5, **item: Any) -> dict[str, Any]:
    """GLPI 11's default payload: the event and the ticket from the high-level API."""
    return {
        "event": "update",
        "item": {
            "id": 42,
            "name": "Skrivaren på plan 2 skriver inte ut",
            "content": "&lt;p&gt;…&lt;/p&gt;",
            "is_deleted": False,
            "category": {"id": 7, "name": "Skrivare"},
            "location": {"id": 0, "name": None},
            "urgency": 3,
            "impact": 3,
            "priority": 4,
            "actiontime": 0,
            "date_creation": "2022-09-13T08:14:00+02:00",
            "date_mod": "2022-09-13T10:44:00+02:00",
            "date": "2022-09-13T08:14:00+02:00",
            "type": 1,
            "external_id": "",
            "request_type": {"id": 1, "name": "Helpdesk"},
            "status": {"id": status, "name": "Solved"},
            "entity": {"id": 2, "name": "Askersund", "completename": "Root entity > Askersund"},
            "team": [],
        }
        | item,
    }


def brief(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["id"], e["type"], e["time"]) for e in events]


# --- Zammad ----------------------------------------------------------------------------------

ZAMMAD_DATA = {
    "ticket_id": "zammad-10081",
    "category": "Service Desk",  # no category custom object: the group
    "priority": 3,  # "2 normal"
    "municipality": "shared",  # the group "Service Desk"
}


def test_zammad_open_ticket_is_created_and_resumed_or_reopened() -> None:
    events, problems = map_payload(zammad_payload("open"), ZAMMAD)
    assert problems == []
    assert brief(events) == [
        ("zammad-10081-20201113T143435.282000Z-created", "ticket.created", "2020-11-13T14:34:35.282000+00:00"),
        ("zammad-10081-20201113T143435.333000Z-resumed", "ticket.resumed", "2020-11-13T14:34:35.333000+00:00"),
        ("zammad-10081-20201113T143435.333000Z-reopened", "ticket.reopened", "2020-11-13T14:34:35.333000+00:00"),
    ]  # fmt: skip
    assert all(e["data"] == ZAMMAD_DATA for e in events)
    assert all(e["source"] == "/webhooks/zammad" for e in events)
    for e in events:
        parse_event(e)


@pytest.mark.parametrize(
    ("state", "types"),
    [
        ("new", ["ticket.created"]),
        ("pending reminder", ["ticket.created", "ticket.paused"]),
        ("pending close", ["ticket.created", "ticket.resolved"]),
        ("closed", ["ticket.created", "ticket.closed"]),
        ("merged", ["ticket.created", "ticket.closed"]),
    ],
)
def test_zammad_states(state: str, types: list[str]) -> None:
    events, problems = map_payload(zammad_payload(state, "2020-11-20T08:00:00Z"), ZAMMAD)
    assert problems == []
    assert [e["type"] for e in events] == types
    # Every state event is stamped with the change's time, the updated_at.
    assert {e["time"] for e in events[1:]} <= {"2020-11-20T08:00:00+00:00"}


def test_zammad_repeats_are_idempotent_and_a_new_change_is_new() -> None:
    first, _ = map_payload(zammad_payload("pending reminder"), ZAMMAD)
    again, _ = map_payload(copy.deepcopy(zammad_payload("pending reminder")), ZAMMAD)
    assert [e["id"] for e in first] == [e["id"] for e in again]
    later, _ = map_payload(zammad_payload("pending reminder", "2020-11-14T09:00:00Z"), ZAMMAD)
    assert later[0]["id"] == first[0]["id"]  # the same creation
    assert later[1]["id"] != first[1]["id"]  # another pause


def test_a_zammad_ticket_history_gives_the_expected_ticket() -> None:
    # created 14:34:35.282, pending 15:00-16:00, pending close (solved) at 17:34:35.282:
    # 3 h from creation to resolution, 1 h of it paused. Each webhook comes twice.
    history = [
        ("new", "2020-11-13T14:34:35.282Z"),
        ("pending reminder", "2020-11-13T15:00:00Z"),
        ("open", "2020-11-13T16:00:00Z"),
        ("pending close", "2020-11-13T17:34:35.282Z"),
        ("closed", "2020-11-20T00:00:00Z"),
    ]
    events = [
        parse_ticket(e)
        for state, at in history * 2
        for e in map_payload(zammad_payload(state, at), ZAMMAD)[0]
    ]
    state = ticket_state(events)
    assert (state.status, state.reopened) == ("closed", 0)
    assert state.handling_hours == pytest.approx(2.0)

    # The customer answers after the close: Zammad sets the ticket open again.
    reopened = events + [
        parse_ticket(e)
        for e in map_payload(zammad_payload("open", "2020-11-21T09:00:00Z"), ZAMMAD)[0]
    ]
    state = ticket_state(reopened)
    assert (state.status, state.reopened, state.handling_hours) == ("open", 1, None)


def test_zammad_unknown_group_is_an_unknown_municipality() -> None:
    payload = zammad_payload()
    payload["ticket"]["group"]["name"] = "Växeln"
    events, problems = map_payload(payload, ZAMMAD)
    assert problems == []
    assert {e["data"]["municipality"] for e in events} == {"unknown"}


def test_zammad_category_custom_object_wins_over_the_group() -> None:
    payload = zammad_payload()
    payload["ticket"]["category"] = "Behörighet"
    events, _ = map_payload(payload, ZAMMAD)
    assert {e["data"]["category"] for e in events} == {"Behörighet"}


def test_zammad_problems_are_listed_and_nothing_is_mapped() -> None:
    payload = zammad_payload("escalated")
    payload["ticket"]["priority"]["name"] = "4 urgent"
    del payload["ticket"]["created_at"]
    events, problems = map_payload(payload, ZAMMAD)
    assert events == []
    assert [where for where, _ in problems] == [
        "data.priority (ticket.priority.name | ticket.priority)",
        "ticket.state",
        "ticket.created time (ticket.created_at)",
    ]
    assert "'4 urgent' is not in the map (known: '1 low', '2 normal', '3 high')" in problems[0][1]
    assert problems[1][1].startswith("state 'escalated' is not mapped (known: 'new', 'open'")
    assert problems[2][1] == "is missing"


# --- GLPI ------------------------------------------------------------------------------------


def test_glpi_solved_ticket_from_the_default_payload() -> None:
    events, problems = map_payload(glpi_payload(5), GLPI)
    assert problems == []
    assert brief(events) == [
        ("glpi-42-20220913T061400.000000Z-created", "ticket.created", "2022-09-13T08:14:00+02:00"),
        # No solvedate in the high-level API's ticket: the change's time, date_mod.
        ("glpi-42-20220913T084400.000000Z-resolved", "ticket.resolved", "2022-09-13T10:44:00+02:00"),
    ]  # fmt: skip
    data = {
        "ticket_id": "glpi-42",
        "category": "Skrivare",
        "priority": 2,
        "municipality": "Askersund",
    }
    assert all(e["data"] == data for e in events)
    for e in events:
        parse_event(e)


@pytest.mark.parametrize(
    ("status", "types"),
    [
        (1, ["ticket.created"]),
        (2, ["ticket.created", "ticket.resumed", "ticket.reopened"]),
        (3, ["ticket.created", "ticket.resumed", "ticket.reopened"]),
        (4, ["ticket.created", "ticket.paused"]),
        (6, ["ticket.created", "ticket.closed"]),
    ],
)
def test_glpi_statuses(status: int, types: list[str]) -> None:
    events, problems = map_payload(glpi_payload(status), GLPI)
    assert problems == []
    assert [e["type"] for e in events] == types


def test_glpi_flat_fields_with_local_times() -> None:
    # Flat database fields, times in the server's local time (no offset): created in
    # summer time, solved in the hour that happened twice (taken as the first),
    # closed in winter time.
    payload: dict[str, Any] = {
        "event": "update",
        "item": {
            "id": 43,
            "name": "VPN",
            "status": 6,
            "priority": 6,  # major
            "entities_id": 3,  # an id, not in the map: unknown
            "date": "2022-10-29 16:00:00",
            "date_mod": "2022-10-31 09:05:00",
            "solvedate": "2022-10-30 02:30:00",
            "closedate": "2022-10-31 09:00:00",
        },
    }
    events, problems = map_payload(payload, GLPI)
    assert problems == []
    assert brief(events) == [
        ("glpi-43-20221029T140000.000000Z-created", "ticket.created", "2022-10-29T16:00:00+02:00"),
        ("glpi-43-20221031T080000.000000Z-closed", "ticket.closed", "2022-10-31T09:00:00+01:00"),
    ]  # fmt: skip
    assert events[0]["data"] == {
        "ticket_id": "glpi-43",
        "category": "okategoriserad",
        "priority": 1,
        "municipality": "unknown",
    }
    solved, _ = map_payload(payload | {"item": payload["item"] | {"status": 5}}, GLPI)
    assert brief(solved)[1] == (
        "glpi-43-20221030T003000.000000Z-resolved",
        "ticket.resolved",
        "2022-10-30T02:30:00+02:00",
    )


def test_glpi_repeats_are_idempotent() -> None:
    first, _ = map_payload(glpi_payload(4), GLPI)
    again, _ = map_payload(glpi_payload(4), GLPI)
    assert [e["id"] for e in first] == [e["id"] for e in again]
    later, _ = map_payload(glpi_payload(4, date_mod="2022-09-14T07:00:00+02:00"), GLPI)
    assert later[0]["id"] == first[0]["id"]
    assert later[1]["id"] != first[1]["id"]


def test_glpi_unknown_status_is_a_problem() -> None:
    events, problems = map_payload(glpi_payload(9), GLPI)
    assert events == []
    assert [where for where, _ in problems] == ["item.status.id | item.status"]


# --- paths and specs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("ticket.group.name", "Service Desk"),
        ("ticket.article_ids.0", 104),
        ("ticket.article_ids[0]", 104),
        ("ticket.article_ids.-1", 104),
        ("ticket.article_ids.5", None),
        ("ticket.nothing.here", None),
        ("ticket.number.length", None),  # into a string: nothing
    ],
)
def test_lookup(path: str, value: object) -> None:
    assert lookup(zammad_payload(), path) == value


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"states": {"new": ["ticket.vanished"]}}, "is not a ticket event type"),
        ({"states": {"new": ["incident.opened"]}}, "is not a ticket event type"),
        ({"data": {"ticket_id": "a.b"}}, "data needs: category, priority, municipality"),
        ({"data": {"colour": "a"}}, "unknown data fields: colour"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(change: dict[str, Any], says: str) -> None:
    raw = yaml.safe_load((REPO / "config" / "webhooks" / "zammad.yaml").read_text())
    with pytest.raises(MappingError, match=says):
        load_webhook_spec(raw | change)
