"""The queues file (config/queues.yaml): each phone queue → the municipality it serves."""

from __future__ import annotations

from collections.abc import Mapping


def parse_queues(raw: object) -> dict[str, str]:
    """The mapping of a queues file, `{"queues": {asterisk queue: municipality}}`.

    YAML reads an unquoted numeric queue name (`500: Askersund`) as a number;
    it is taken as the queue's name all the same.
    """
    if not isinstance(raw, Mapping) or set(raw) != {"queues"}:
        raise ValueError(
            "expected one key, `queues:`, mapping each Asterisk queue to its municipality"
        )
    queues = raw["queues"]
    if not isinstance(queues, Mapping):
        raise ValueError("`queues:` must map each Asterisk queue to its municipality")
    out: dict[str, str] = {}
    for name, municipality in queues.items():
        if isinstance(name, bool) or not isinstance(name, str | int) or not str(name).strip():
            raise ValueError(f"queues: {name!r} is not a queue name")
        if not isinstance(municipality, str) or not 1 <= len(municipality.strip()) <= 200:
            raise ValueError(f"queues.{name}: the municipality must be a name (1-200 characters)")
        out[str(name).strip()] = municipality.strip()
    return out
