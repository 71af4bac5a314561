"""Event contracts: the CloudEvents 1.0 envelope and the data of each event type.

These models are the single source of truth: `schemas/*.json` are generated from
them (`opstrack schemas`) and a test fails when the two drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "EVENT_MODELS",
    "CallAbandoned",
    "CallAnswered",
    "CallExited",
    "CallQueued",
    "Event",
    "EventError",
    "ValidationError",
    "parse_event",
    "topic_for",
]

Name = Annotated[str, Field(min_length=1, max_length=200)]
# A queue stay longer than a day is a clock or export error, not a call.
WaitSeconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]


class _Data(BaseModel):
    # Unknown data fields are refused, so personal data (caller numbers, names)
    # cannot slip into the store by way of an extra field.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallData(_Data):
    call_id: Name
    queue: Name
    municipality: Name


class CallQueuedData(CallData):
    """A call entered a queue; it counts only once its stay has ended."""


class CallAnsweredData(CallData):
    wait_seconds: WaitSeconds


class CallAbandonedData(CallData):
    wait_seconds: WaitSeconds


class CallExitedData(CallData):
    reason: Literal["timeout", "key", "empty", "full", "closed"]
    wait_seconds: WaitSeconds


class _Envelope(BaseModel):
    """CloudEvents 1.0, structured JSON mode."""

    # Extension attributes are allowed by the spec; they are dropped, not stored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"]
    id: Name
    source: Name
    time: AwareDatetime
    subject: Name | None = None
    datacontenttype: Literal["application/json"] = "application/json"

    @model_validator(mode="after")
    def _subject_is_entity(self) -> Any:
        entity = _entity_id(getattr(self, "data", None))
        if self.subject is None and entity is not None:
            object.__setattr__(self, "subject", entity)
        elif entity is not None and self.subject != entity:
            raise PydanticCustomError(
                "subject_mismatch",
                "subject '{subject}' must equal the entity id '{entity}'",
                {"subject": self.subject, "entity": entity},
            )
        return self


def _entity_id(data: object) -> str | None:
    if isinstance(data, CallData):
        return data.call_id
    return None


class CallQueued(_Envelope):
    type: Literal["call.queued"]
    data: CallQueuedData


class CallAnswered(_Envelope):
    type: Literal["call.answered"]
    data: CallAnsweredData


class CallAbandoned(_Envelope):
    type: Literal["call.abandoned"]
    data: CallAbandonedData


class CallExited(_Envelope):
    type: Literal["call.exited"]
    data: CallExitedData


CallEvent = CallQueued | CallAnswered | CallAbandoned | CallExited
Event = Annotated[CallEvent, Field(discriminator="type")]

EVENT_MODELS: dict[str, type[_Envelope]] = {
    "call.queued": CallQueued,
    "call.answered": CallAnswered,
    "call.abandoned": CallAbandoned,
    "call.exited": CallExited,
}

# Each event type travels on the topic of its family: call.* on `calls`, ...
_TOPICS = {"call": "calls"}

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


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        # The discriminator adds the type tag as the first path element; drop it.
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in EVENT_MODELS:
            loc = loc[1:]
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
