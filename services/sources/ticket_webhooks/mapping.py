"""Ticket-system webhooks → ticket events, by a per-source spec (config/webhooks/<source>.yaml).

Pure. A webhook tells what a ticket looks like now (its state), not what happened,
so the spec maps each state to the events that state implies, and `always` lists
events every webhook repeats (the creation), so a missed first webhook is healed by
the next one. Event ids are `<ticket_id>-<UTC time>-<step>`, the time being the one
the event carries: the creation's `created_at` (the same for every webhook of the
ticket), a state event's `updated_at` (the change the webhook reports). A redelivered
webhook therefore repeats ids, and the outbox acknowledges it without counting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.core.contracts.tickets import TicketData
from services.core.events import EVENT_MODELS
from services.core.timeparse import parse_time
from services.sources.mapping import Scalar, ValueMap, event_id, load_spec

Paths = str | list[str]  # a dotted path (`ticket.priority.name`, `items.0.id`), or alternatives
Problem = tuple[str, str]  # (where, message)


class PayloadField(ValueMap):
    """An event data field from a payload path (with value map) or a constant."""

    path: Paths | None = None
    value: Scalar | None = None
    # Put before the value: ticket ids from two systems stay apart, and become text.
    prefix: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"path": v} if isinstance(v, str | list) else v

    @model_validator(mode="after")
    def _one_source(self) -> PayloadField:
        if (self.path is None) == (self.value is None):
            raise ValueError("give either `path` or `value` (a constant)")
        return self


class Emit(BaseModel):
    """One event to emit: its type and where its time is (default: the spec's `time`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    time: Paths | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"type": v} if isinstance(v, str) else v

    @field_validator("type")
    @classmethod
    def _ticket_type(cls, v: str) -> str:
        known = sorted(t for t in EVENT_MODELS if t.startswith("ticket."))
        if v not in known:
            raise ValueError(f"{v!r} is not a ticket event type (known: {', '.join(known)})")
        return v


class WebhookSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # the CloudEvents source of the events, e.g. /webhooks/zammad
    state: Paths  # where the ticket's state is
    time: Paths  # when the reported change happened (the updated_at)
    always: list[Emit] = Field(default_factory=list)
    states: dict[str, list[Emit]]  # state value → the events it implies ([] for none)
    data: dict[str, PayloadField]
    timezone: str = "Europe/Stockholm"  # of timestamps that carry no UTC offset

    @field_validator("states", mode="before")
    @classmethod
    def _string_keys(cls, v: Any) -> Any:
        # GLPI's states are numbers (`5:` in YAML); payload values are compared as text.
        return {str(k).casefold(): val for k, val in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _check(self) -> WebhookSpec:
        fields = TicketData.model_fields
        if unknown := sorted(set(self.data) - set(fields)):
            raise ValueError(f"unknown data fields: {', '.join(unknown)}")
        if missing := [
            f for f, info in fields.items() if info.is_required() and f not in self.data
        ]:
            raise ValueError(f"data needs: {', '.join(missing)}")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        return self


def load_webhook_spec(data: Mapping[str, Any]) -> WebhookSpec:
    return load_spec(WebhookSpec, data)


def lookup(payload: object, path: str) -> object | None:
    """The value at a dotted path; list items by index (`a.0.b` or `a[0].b`); None if absent."""
    node = payload
    for part in path.replace("[", ".").replace("]", "").split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            index = int(part)
            node = node[index] if -len(node) <= index < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


def first(payload: object, paths: Paths) -> object | None:
    """The first of the alternative paths that holds a value (not null, not empty text)."""
    for path in [paths] if isinstance(paths, str) else paths:
        value = lookup(payload, path)
        if value is not None and value != "":
            return value
    return None


def _where(paths: Paths) -> str:
    return paths if isinstance(paths, str) else " | ".join(paths)


def _data(payload: Mapping[str, Any], spec: WebhookSpec) -> tuple[dict[str, Any], list[Problem]]:
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, f in spec.data.items():
        where = f"data.{name}" + (f" ({_where(f.path)})" if f.path is not None else "")
        try:
            value = f.resolve(f.value if f.path is None else first(payload, f.path))
            if value is None:
                raise ValueError("is missing")
            data[name] = f"{f.prefix}{value}" if f.prefix else value
        except ValueError as exc:
            problems.append((where, str(exc)))
    return data, problems


def map_payload(
    payload: Mapping[str, Any], spec: WebhookSpec
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The events one webhook implies (not yet validated), or what is wrong with it."""
    data, problems = _data(payload, spec)
    state = first(payload, spec.state)
    emits = spec.states.get(str(state).strip().casefold()) if state is not None else None
    if emits is None:
        known = ", ".join(repr(s) for s in spec.states)
        problems.append((_where(spec.state), f"state {state!r} is not mapped (known: {known})"))
        emits = []
    tz = ZoneInfo(spec.timezone)
    events = []
    for emit in [*spec.always, *emits]:
        paths = emit.time or spec.time
        raw = first(payload, paths)
        try:
            if raw is None:
                raise ValueError("is missing")
            # A webhook cannot be corrected and resent, so a local time in the hour
            # the clocks go back is taken as the first of its two instants.
            t = parse_time(str(raw), "iso", tz, "earlier")
        except ValueError as exc:
            problems.append((f"{emit.type} time ({_where(paths)})", str(exc)))
            continue
        stamp = t.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        step = emit.type.removeprefix("ticket.")
        events.append(
            {
                "specversion": "1.0",
                "id": event_id(str(data.get("ticket_id", "")), stamp, step),
                "source": spec.source,
                "type": emit.type,
                "time": t.isoformat(),
                "data": data,
            }
        )
    return ([], problems) if problems else (events, [])
