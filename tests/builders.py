"""Builders for the CloudEvents the tests send: one home for the envelope's shape.

The envelope is the one services/core/contracts/envelope.py accepts (CloudEvents
1.0, structured JSON mode): specversion "1.0", id, source, type, an aware time,
an optional subject, datacontenttype (application/json, the default, so left
out) and data. The builders write it by hand as plain JSON-ready dicts, without
the contracts' models, so that the tests check the contracts rather than share
them; a test that needs a malformed event starts from `envelope` and breaks the
one thing it is about.

The data builders hold the fields an event family always has, with the values
most tests use; a test names what matters to it and passes the rest as keywords.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# When an event happened, if the test does not care: a Tuesday morning in 2022.
TIME = "2022-03-01T10:00:00+00:00"


def envelope(
    type: str,
    data: Mapping[str, Any],
    *,
    id: str | None = None,
    source: str = "test",
    time: datetime | str = TIME,
    subject: str | None = None,
) -> dict[str, Any]:
    """A CloudEvent of `type` carrying `data`. Without `id`, an id of its own: no two
    such events are duplicates of each other. `time` must be aware (ISO text or a
    datetime); `subject`, when given, must be the entity id the data names."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": id if id is not None else f"{type}:{uuid.uuid4().hex}",
        "source": source,
        "type": type,
        "time": time if isinstance(time, str) else time.isoformat(),
        "data": dict(data),
    }
    if subject is not None:
        event["subject"] = subject
    return event


def encoded(event: Any) -> bytes:
    """An event (or a batch: a list of them) as the bytes a producer or a POST sends."""
    return json.dumps(event).encode()


def call_data(
    call_id: str,
    queue: str = "askersund",
    municipality: str = "Askersund",
    *,
    wait: float | None = None,
    talk: float | None = None,
    reason: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A call.* event's data: call.queued has neither wait nor talk; answered and
    abandoned have a wait, completed a wait and a talk, exited a wait and a reason."""
    data: dict[str, Any] = {"call_id": call_id, "queue": queue, "municipality": municipality}
    if wait is not None:
        data["wait_seconds"] = wait
    if talk is not None:
        data["talk_seconds"] = talk
    if reason is not None:
        data["reason"] = reason
    return data | more


def call(
    kind: str,
    call_id: str,
    queue: str = "askersund",
    municipality: str = "Askersund",
    *,
    wait: float | None = None,
    talk: float | None = None,
    reason: str = "timeout",
    **fields: Any,
) -> dict[str, Any]:
    """A call event of type `kind` with the data fields that type has: call.queued
    no wait, call.exited a `reason`; `fields` are the envelope's (id, source, time)."""
    data = call_data(
        call_id,
        queue,
        municipality,
        wait=None if kind == "call.queued" else wait,
        talk=talk,
        reason=reason if kind == "call.exited" else None,
    )
    return envelope(kind, data, **fields)


def ticket_data(
    ticket_id: str,
    category: str = "Behörighet",
    priority: int = 3,
    municipality: str = "Askersund",
) -> dict[str, Any]:
    """A ticket.* event's data (every step carries the same fields)."""
    return {
        "ticket_id": ticket_id,
        "category": category,
        "priority": priority,
        "municipality": municipality,
    }


def incident_data(incident_id: str, service: str, **more: Any) -> dict[str, Any]:
    """An incident.* event's data; incident.opened needs `severity` and `impact` too."""
    return {"incident_id": incident_id, "service": service} | more


def change_data(change_id: str, service: str, **more: Any) -> dict[str, Any]:
    """A change.* event's data; change.scheduled needs `planned_start` and `planned_end`
    too (ISO text)."""
    return {"change_id": change_id, "service": service} | more
