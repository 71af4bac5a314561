"""Parsing a batch of Kafka messages into events of the families a topic carries."""

from __future__ import annotations

from collections.abc import Iterable

from services.core.events import Event, EventError, parse_event_json


def family(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def parse_batch(
    values: Iterable[bytes], families: frozenset[str]
) -> tuple[list[Event], list[tuple[bytes, str]]]:
    """Valid events (first of each id) and the invalid messages with their reasons.

    An event of a family that does not belong on the topic is invalid too: it
    was written by a producer that got its routing wrong.
    """
    events: dict[str, Event] = {}
    invalid: list[tuple[bytes, str]] = []
    for value in values:
        try:
            event = parse_event_json(value)
        except EventError as exc:
            invalid.append((value, str(exc)))
            continue
        if family(event.type) not in families:
            invalid.append((value, f"type: {event.type} does not belong on this topic"))
            continue
        events.setdefault(event.dedup_key, event)
    return list(events.values()), invalid
