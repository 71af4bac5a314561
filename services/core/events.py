"""Event contracts: every event type, how to parse one, and which topic carries it.

The models (in `services.core.contracts`) are the single source of truth:
`schemas/*.json` are generated from them (`opstrack schemas`) and a test fails
when the two drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from pydantic import Field, TypeAdapter, ValidationError

from services.core.contracts.calls import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEvent,
    CallExited,
    CallQueued,
)
from services.core.contracts.changes import (
    ChangeEvent,
    ChangeImplemented,
    ChangeScheduled,
    FreezeDeclared,
    FreezeLifted,
)
from services.core.contracts.envelope import Envelope
from services.core.contracts.incidents import (
    IncidentAcknowledged,
    IncidentEvent,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)
from services.core.contracts.indicators import IndicatorMeasured
from services.core.contracts.sla import SlaBreached, SlaEvent, SlaWarning
from services.core.contracts.text import STORED
from services.core.contracts.tickets import (
    TicketClosed,
    TicketCreated,
    TicketEvent,
    TicketPaused,
    TicketReopened,
    TicketResolved,
    TicketResumed,
)

__all__ = [
    "EVENT_MODELS",
    "CallAbandoned",
    "CallAnswered",
    "CallCompleted",
    "CallEvent",
    "CallExited",
    "CallQueued",
    "ChangeEvent",
    "ChangeImplemented",
    "ChangeScheduled",
    "Event",
    "EventError",
    "FreezeDeclared",
    "FreezeLifted",
    "IncidentAcknowledged",
    "IncidentEvent",
    "IncidentOpened",
    "IncidentResolved",
    "IncidentUpdated",
    "IndicatorMeasured",
    "SlaBreached",
    "SlaEvent",
    "SlaWarning",
    "TicketClosed",
    "TicketCreated",
    "TicketEvent",
    "TicketPaused",
    "TicketReopened",
    "TicketResolved",
    "TicketResumed",
    "ValidationError",
    "parse_event",
    "topic_for",
]

AnyEvent = CallEvent | TicketEvent | IncidentEvent | ChangeEvent | IndicatorMeasured | SlaEvent
Event = Annotated[AnyEvent, Field(discriminator="type")]

EVENT_MODELS: dict[str, type[Envelope]] = {
    get_args(model.model_fields["type"].annotation)[0]: model for model in get_args(AnyEvent)
}

# Each event type travels on the topic of its family, keyed by its entity id.
_TOPICS = {
    "call": "calls",
    "ticket": "tickets",
    "incident": "incidents",
    "change": "changes",
    "freeze": "changes",
    "indicator": "indicators",
    "sla": "sla",
}
TOPICS = tuple(dict.fromkeys(_TOPICS.values()))

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class EventError(ValueError):
    """An event that breaks the contract; `problems` are (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def parse_event(raw: object) -> Event:
    """Validate one decoded JSON value as an event, or raise EventError naming each field."""
    if isinstance(raw, dict) and not (
        isinstance(raw.get("type"), str) and raw["type"] in EVENT_MODELS
    ):
        known = ", ".join(sorted(EVENT_MODELS))
        got = f"unknown event type {raw['type']!r}" if "type" in raw else "missing"
        raise EventError([("type", f"{got} (known: {known})")])
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise EventError(_problems(exc)) from None


def parse_event_json(raw: bytes | str) -> Event:
    """As parse_event, from JSON text (the form events have on topics and in the outbox)."""
    try:
        return _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise EventError(_problems(exc)) from None


def parse_stored_event_json(raw: bytes | str) -> Event:
    """As parse_event_json, for an event the store already holds (it was valid when
    accepted): the string rule of services.core.contracts.text, newer than some stored
    events, is not applied again."""
    try:
        return _ADAPTER.validate_json(raw, context={STORED: True})
    except ValidationError as exc:
        raise EventError(_problems(exc)) from None


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        # The discriminator adds the type tag as the first path element; drop it.
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in EVENT_MODELS:
            loc = loc[1:]
        if not loc and err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["type"]  # the discriminator: no such event type, or none given
        if err["type"] == "extension_unstorable":
            loc = [str(err.get("ctx", {}).get("attribute"))]  # an attribute the model drops
        if err["type"] == "subject_mismatch":
            loc = ["subject"]  # raised by the model validator, which has no field of its own
        out.append((".".join(loc) or "(event)", err["msg"]))
    return out


def topic_for(event_type: str) -> str:
    return _TOPICS[event_type.split(".", 1)[0]]


def json_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type, as written to `schemas/<type>.json`."""
    schema = EVENT_MODELS[event_type].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://opstrack.dev/schemas/{event_type}.json"
    schema["$comment"] = (
        "Generated from services/core/events.py by `opstrack schemas`; do not edit by hand."
    )
    return schema
